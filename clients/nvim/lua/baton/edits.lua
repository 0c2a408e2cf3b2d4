-- `workspace/applyEdit` for Baton: Neovim's own handler applies the edit (to
-- buffers, without opening windows). Around it, two things Neovim gets wrong
-- for an agent's edits, fixed before and after:
--   * an insertion at the very end of a file (start line == line count) gains a
--     stray empty last line, so such inserts are moved to the end of the last line;
--   * a file that was not open ends up only in a hidden modified buffer (and a
--     created file not on disk at all), so those buffers are written;
--   * an edit computed against an older version of a buffer is skipped with a
--     message but reported as applied (or, for version 0, applied at the wrong
--     place), so it is refused here instead, whole, and Baton merges it onto what
--     the person has now.
local M = {}

local function opts()
  return require('baton').config
end

--- Rewrites inserts past the last line of `bufnr` into inserts at the end of
--- its last line, which Neovim applies without adding an empty line.
---@param bufnr integer
---@param edits table[] lsp.TextEdit
---@param encoding string
function M.fix_end_inserts(bufnr, edits, encoding)
  local count = vim.api.nvim_buf_line_count(bufnr)
  local last = vim.api.nvim_buf_get_lines(bufnr, count - 1, count, false)[1] or ''
  local empty = count == 1 and last == ''
  for _, e in ipairs(edits) do
    local s, en = e.range.start, e.range['end']
    if s.line >= count and en.line >= count then
      local end_char = vim.lsp.util.character_offset(bufnr, count - 1, #last, encoding)
      local pos = { line = count - 1, character = end_char }
      e.range = { start = pos, ['end'] = vim.deepcopy(pos) }
      -- An empty buffer already is "one empty line": no separator needed.
      local text = e.newText:gsub('\n$', '')
      e.newText = empty and text or '\n' .. text
    end
  end
end

local function fname_of(uri)
  if type(uri) == 'string' and vim.startswith(uri, 'file:') then
    return vim.uri_to_fname(uri)
  end
end

local function is_loaded(fname)
  local b = vim.fn.bufnr(fname)
  return b ~= -1 and vim.api.nvim_buf_is_loaded(b)
end

--- Writes a buffer Baton's edit loaded, creating its directory if needed. A
--- created file's buffer starts as one empty line, so text ending in a newline
--- leaves an extra empty last line that 'eol' would double: drop it.
local function write_back(fname, created)
  local b = vim.fn.bufnr(fname)
  if b == -1 or not vim.api.nvim_buf_is_loaded(b) then
    return
  end
  if created then
    local n = vim.api.nvim_buf_line_count(b)
    if n > 1 and vim.api.nvim_buf_get_lines(b, n - 1, n, false)[1] == '' then
      vim.api.nvim_buf_set_lines(b, n - 1, n, false, {})
    end
  end
  if not vim.bo[b].modified and vim.fn.filereadable(fname) == 1 then
    return
  end
  vim.fn.mkdir(vim.fs.dirname(fname), 'p')
  vim.api.nvim_buf_call(b, function()
    local ok, err = pcall(vim.cmd, 'silent lockmarks write')
    if not ok then
      require('baton.ui').notify(('could not write %s: %s'):format(fname, err), vim.log.levels.ERROR)
    end
  end)
end

--- The first document whose buffer changed since the server computed its edit,
--- or that the edit would delete or rename away while it has unsaved changes
--- (Neovim wipes such a buffer, and the person's typing with it).
---@return string? reason
function M.stale(edit)
  for _, change in ipairs(edit.documentChanges or {}) do
    local moved = change.kind == 'delete' and change.uri or change.kind == 'rename' and change.oldUri
    local moved_name = moved and fname_of(moved)
    local mb = moved_name and vim.fn.bufnr(moved_name) or -1
    if mb ~= -1 and vim.api.nvim_buf_is_loaded(mb) and vim.bo[mb].modified then
      return ('%s has unsaved changes'):format(vim.fn.fnamemodify(moved_name, ':~:.'))
    end
    local doc = not change.kind and change.textDocument
    local version = doc and doc.version
    -- Neovim's own check skips version 0, but 0 is the version of a buffer
    -- Baton saw opened and never changed: for Baton it is a real version.
    if type(version) == 'number' and version >= 0 then
      local fname = fname_of(doc.uri)
      local b = fname and vim.fn.bufnr(fname) or -1
      local current = b ~= -1 and vim.lsp.util.buf_versions[b]
      if type(current) == 'number' and current > version then
        return ('%s changed since the edit was made (version %d, edit for %d)'):format(
          vim.fn.fnamemodify(fname, ':~:.'), current, version)
      end
    end
  end
end

function M.apply(err, params, ctx, config)
  local edit = params and params.edit or {}
  local reason = M.stale(edit)
  if reason then
    -- Send the typing the server has not seen yet (changes are debounced) before
    -- this answer, so the rebased retry is made against the buffer as it is.
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    local ok, changetracking = pcall(require, 'vim.lsp._changetracking')
    if client and ok and changetracking.flush then
      pcall(changetracking.flush, client)
    end
    return { applied = false, failureReason = reason }
  end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local encoding = client and client.offset_encoding or 'utf-16'
  local closed, created = {}, {}
  -- Baton's note in its own document that it was answered ("Baton run <id>: plan.md
  -- accepted"): a buffer that was saved stays saved; one with the person's unsaved
  -- edits stays theirs to save.
  local settled = type(params.label) == 'string' and params.label:match('^Baton run %S+: %S+ %a+$')
  local saved = {}
  for _, change in ipairs(edit.documentChanges or {}) do
    if change.kind == 'create' then
      local fname = fname_of(change.uri)
      if fname and not is_loaded(fname) then
        closed[fname] = true
        created[fname] = vim.fn.filereadable(fname) == 0
      end
    elseif not change.kind and change.textDocument then
      local fname = fname_of(change.textDocument.uri)
      if fname then
        if settled and is_loaded(fname) and not vim.bo[vim.fn.bufnr(fname)].modified then
          saved[fname] = true
        end
        if not is_loaded(fname) then
          closed[fname] = true
        end
        local bufnr = vim.uri_to_bufnr(change.textDocument.uri)
        vim.fn.bufload(bufnr)
        M.fix_end_inserts(bufnr, change.edits or {}, encoding)
      end
    end
  end
  for uri, text_edits in pairs(edit.changes or {}) do
    local fname = fname_of(uri)
    if fname then
      if not is_loaded(fname) then
        closed[fname] = true
      end
      local bufnr = vim.uri_to_bufnr(uri)
      vim.fn.bufload(bufnr)
      M.fix_end_inserts(bufnr, text_edits, encoding)
    end
  end
  local result = vim.lsp.handlers['workspace/applyEdit'](err, params, ctx, config)
  if opts().write_closed_files and result and result.applied then
    for fname in pairs(closed) do
      write_back(fname, created[fname])
    end
  end
  if result and result.applied then
    for fname in pairs(saved) do
      write_back(fname, false)
    end
  end
  return result
end

return M
