-- The person types while the agent works and Neovim has not sent the change yet
-- (a long didChange debounce makes that certain): the agent's edit arrives for an
-- older version of the buffer, the plugin refuses it whole and sends the pending
-- change, Baton rebases and retries, and both the typing and the edit survive.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local _, config = H.workspace({ ['a.py'] = 'x = 1\ny = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = { summary = 'Set x', steps = { 'x = 2' }, files = { 'a.py' } } } } } },
  implementer = {
    { delay_ms = 1000, tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 2' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.lsp.config('baton', { flags = { debounce_text_changes = 20000 } })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

local edits = require('baton.edits')
local refused = {}
local stale = edits.stale
edits.stale = function(edit)
  local reason = stale(edit)
  table.insert(refused, reason or false)
  return reason
end

vim.cmd('Baton run Set x')
local run = H.expect_state('awaiting_approval')
vim.cmd('Baton accept')
H.expect_state('implementing', run.runId)
-- A line above the agent's edit: applied at its old position, the edit would
-- land on the wrong line.
vim.api.nvim_buf_set_lines(src_buf, 0, 0, false, { '# typed during the work' })
H.expect_state('done', run.runId)
H.wait('the edit in the buffer', function()
  return vim.api.nvim_buf_get_lines(src_buf, 1, 2, false)[1] == 'x = 2'
end)
H.eq({ '# typed during the work', 'x = 2', 'y = 1' }, vim.api.nvim_buf_get_lines(src_buf, 0, -1, false),
  'a.py buffer after the run')
H.check(vim.tbl_contains(refused, false) and vim.iter(refused):any(function(r)
  return r ~= false
end), 'a stale edit was refused, then a rebased one applied: ' .. vim.inspect(refused))
H.done()
