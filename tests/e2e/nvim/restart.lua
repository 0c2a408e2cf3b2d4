-- A run awaiting approval survives a restart of the server; a Neovim that knows
-- nothing of it (state cleared) finds it in the journal when :Baton accept names
-- no run, and the run finishes with its edit in the buffer.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local _, config = H.workspace({ ['a.py'] = 'x = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = { summary = 'Set x', steps = { 'x = 3' }, files = { 'a.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 3' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
local first = H.client()

vim.cmd('Baton run Set x')
local run = H.expect_state('awaiting_approval')

first:stop()
H.wait('the first server to exit', function()
  return first:is_stopped() and #vim.lsp.get_clients({ name = 'baton' }) == 0
end)
require('baton.runs').clear()
vim.cmd.edit() -- re-reading the buffer attaches a new server
local second = H.client()
H.check(second.id ~= first.id, 'a new Baton client started')

vim.cmd('Baton accept')
H.expect_state('done', run.runId)
H.wait('the edit in the buffer', function()
  return vim.api.nvim_buf_get_lines(src_buf, 0, 1, false)[1] == 'x = 3'
end)
H.done()
