-- The plugin's corrections around Neovim's workspace-edit handler, checked
-- against Neovim's own apply_text_edits (no server needed).
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()
local edits = require('baton.edits')

local function apply(lines, text_edits, encoding)
  local b = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
  edits.fix_end_inserts(b, text_edits, encoding)
  vim.lsp.util.apply_text_edits(text_edits, b, encoding)
  return vim.api.nvim_buf_get_lines(b, 0, -1, false)
end

local function insert_at(line, character, text)
  local p = { line = line, character = character }
  return { range = { start = p, ['end'] = vim.deepcopy(p) }, newText = text }
end

-- "a\n" + "b\n" appended at the end: LSP line 1 is past Neovim's last line.
H.eq({ 'a', 'b' }, apply({ 'a' }, { insert_at(1, 0, 'b\n') }, 'utf-8'), 'append one line at the end')
H.eq({ 'a', 'b', 'c' }, apply({ 'a' }, { insert_at(1, 0, 'b\nc\n') }, 'utf-16'), 'append two lines at the end')
H.eq({ 'é😀', 'x' }, apply({ 'é😀' }, { insert_at(1, 0, 'x\n') }, 'utf-16'), 'append after a non-ASCII last line')
-- Inserts inside the buffer are untouched.
local inside = { insert_at(0, 1, 'Z') }
H.eq({ 'aZ' }, apply({ 'a' }, inside, 'utf-8'), 'insert inside a line')

-- An edit for an older version of an open buffer is refused whole.
local path = H.tmp .. '/stale.txt'
vim.fn.writefile({ 'one' }, path)
vim.cmd.edit(path)
local b = vim.api.nvim_get_current_buf()
vim.lsp.util.buf_versions[b] = 5
local edit = { documentChanges = { {
  textDocument = { uri = vim.uri_from_fname(path), version = 3 },
  edits = { insert_at(0, 0, 'x') },
} } }
H.check(edits.stale(edit), 'an edit for version 3 of a buffer at version 5 is stale')
edit.documentChanges[1].textDocument.version = 5
H.check(not edits.stale(edit), 'an edit for the current version is not stale')
H.done()
