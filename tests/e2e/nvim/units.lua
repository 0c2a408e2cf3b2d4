-- Plugin logic that needs no server: the corrections around Neovim's
-- workspace-edit handler (checked against Neovim's own apply_text_edits), the
-- LSP range of a visual selection, and which run a command without an id picks.
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

-- Deleting or renaming away a buffer with unsaved changes is refused.
vim.api.nvim_buf_set_lines(b, 0, -1, false, { 'typed, not saved' })
local uri = vim.uri_from_fname(path)
H.check(edits.stale({ documentChanges = { { kind = 'delete', uri = uri } } }),
  'deleting a modified buffer is refused')
H.check(edits.stale({ documentChanges = { { kind = 'rename', oldUri = uri, newUri = uri .. '.bak' } } }),
  'renaming a modified buffer is refused')
vim.cmd('silent write')
H.check(not edits.stale({ documentChanges = { { kind = 'delete', uri = uri } } }),
  'deleting a saved buffer is allowed')

-- A charwise selection of "😀a" after "é": exclusive end, in each encoding.
vim.api.nvim_buf_set_lines(b, 0, -1, false, { 'é😀ab', 'second' })
vim.api.nvim_win_set_cursor(0, { 1, #'é' })
vim.cmd('normal! vl\27')
local range_params = require('baton.commands').range_params
H.eq({ start = { line = 0, character = 1 }, ['end'] = { line = 0, character = 4 } },
  range_params(b, 1, 1, 'utf-16'), 'utf-16 range of the selection')
H.eq({ start = { line = 0, character = 2 }, ['end'] = { line = 0, character = 7 } },
  range_params(b, 1, 1, 'utf-8'), 'utf-8 range of the selection')
-- A linewise selection covers whole lines.
vim.cmd('normal! ggVj\27')
H.eq({ start = { line = 0, character = 0 }, ['end'] = { line = 1, character = 6 } },
  range_params(b, 1, 2, 'utf-16'), 'range of a linewise selection')

-- Without a run id, a command acts on the latest run whose actions (the server's) include it.
local runs = require('baton.runs')
runs.clear()
runs.update({ runId = 'old', state = 'awaiting_approval', task = 'a',
  actions = { 'accept', 'reject', 'revise', 'steer', 'cancel', 'followUp' } })
runs.update({ runId = 'asking', state = 'awaiting_input', task = 'b', question = { text = 'q?', options = vim.NIL },
  actions = { 'answer', 'steer', 'cancel', 'followUp' } })
runs.update({ runId = 'finished', state = 'done', task = 'c', actions = { 'revert', 'followUp' } })
runs.update({ runId = 'working', state = 'implementing', task = 'd', actions = { 'steer', 'cancel', 'followUp' } })
H.eq('old', runs.pick('accept').runId, 'accept picks the run awaiting approval')
H.eq('asking', runs.pick('answer').runId, 'answer picks the run awaiting input')
H.eq(nil, runs.get('asking').question.options, 'a null options list is dropped')
H.eq('finished', runs.pick('revert').runId, 'revert picks the latest finished run')
H.eq('working', runs.pick('cancel').runId, 'cancel picks the latest active run')
H.eq('working', runs.pick('steer').runId, 'steer picks the working run')
runs.update({ runId = 'waiting', state = 'awaiting_approval', task = 'e',
  actions = { 'accept', 'reject', 'revise', 'steer', 'cancel', 'followUp' } })
H.eq('waiting', runs.pick('steer').runId, 'steer picks any run the server lets steer (as VS Code does)')
runs.update({ runId = 'asking', state = 'planning', task = 'b' })
H.eq(nil, runs.get('asking').question, 'a question does not outlive awaiting_input')

-- Hunks held back after a conflict: said once when the count changes, and at awaiting_apply
-- with what to do; a count once settled does not linger.
local ui = require('baton.ui')
local function said(pattern)
  return #vim.tbl_filter(function(n) return n.msg:find(pattern) ~= nil end, H.notes)
end
ui.on_run_changed({ runId = 'held', state = 'implementing', task = 'h' })
ui.on_run_changed({ runId = 'held', state = 'implementing', task = 'h', held = 1 })
ui.on_run_changed({ runId = 'held', state = 'implementing', task = 'h', held = 1 })
H.eq(1, said('1 hunk%(s%) held back'), 'a held count is said once, when it changes')
ui.on_run_changed({ runId = 'held', state = 'awaiting_apply', task = 'h', held = 1 })
H.eq(1, said('held back where you changed the same lines: apply or reject them in changes.diff'),
  'awaiting_apply says what is held and how to settle it')
ui.on_run_changed({ runId = 'held', state = 'done', task = 'h', held = vim.NIL })
H.eq(nil, runs.get('held').held, 'a settled count does not linger')

-- A verification's verdict: said once per new summary, as a warning when it did not pass.
local failing = { passed = false, summary = '1 new failure: tests/test_x.py::test_y' }
ui.on_run_changed({ runId = 'v', state = 'verifying', task = 'v' })
ui.on_run_changed({ runId = 'v', state = 'implementing', task = 'v', verify = failing })
ui.on_run_changed({ runId = 'v', state = 'verifying', task = 'v', verify = failing })
H.eq(1, said('verify did not pass: 1 new failure: tests/test_x.py::test_y'), 'a verdict is said once')
ui.on_run_changed({ runId = 'v', state = 'reviewing', task = 'v', verify = { passed = true, summary = '2 passed' } })
H.eq(1, said('verify passed: 2 passed'), 'a new verdict is said')
H.eq('2 passed', runs.get('v').verify.summary, 'the run keeps its last verdict')

-- Baton attaches to files inside a project only, rooted at the marker.
local root_for = require('baton.client').root_for
vim.fn.mkdir(H.tmp .. '/proj/.baton', 'p')
vim.fn.mkdir(H.tmp .. '/proj/src', 'p')
vim.fn.mkdir(H.tmp .. '/loose', 'p')
vim.cmd.edit(H.tmp .. '/proj/src/m.txt')
H.eq(H.tmp .. '/proj', root_for(0, { '.git', '.baton' }), 'root of a file under a .baton folder')
vim.cmd.edit(H.tmp .. '/loose/n.txt')
H.eq(nil, root_for(0, { '.git', '.baton' }), 'root of a file outside any project')
local scratch = vim.api.nvim_create_buf(false, true)
H.eq(nil, root_for(scratch, { '.git', '.baton' }), 'root of a scratch buffer')
H.done()
