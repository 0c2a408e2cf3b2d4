-- :Baton revert sends the inverse edit: the buffer returns to what it was,
-- non-ASCII text included.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local _, config = H.workspace({ ['hello.py'] = 'name = "Zoë 😀"; n = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'n to 5', steps = { 'n = 5' }, files = { 'hello.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'hello.py', old = 'n = 1', new = 'n = 5' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.cmd.edit('hello.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

vim.cmd('Baton run Set n')
local run = H.expect_state('awaiting_approval')
vim.cmd('Baton accept')
H.expect_state('done', run.runId)
H.wait('the edit in the buffer', function()
  return vim.api.nvim_buf_get_lines(src_buf, 0, 1, false)[1] == 'name = "Zoë 😀"; n = 5'
end)

vim.cmd('Baton revert')
H.wait('the buffer reverted', function()
  return vim.api.nvim_buf_get_lines(src_buf, 0, 1, false)[1] == 'name = "Zoë 😀"; n = 1'
end)
H.eq({ 'name = "Zoë 😀"; n = 1' }, vim.api.nvim_buf_get_lines(src_buf, 0, -1, false), 'buffer after revert')
H.no_failures()
H.done()
