-- [edits] mode = "review", given through setup({ settings = ... }) (sent as
-- initializationOptions.config, over the file's "stream"): the changes wait in
-- awaiting_apply, the reviewer's findings arrive as vim.diagnostic entries
-- (source "baton"), and :Baton accept applies the held changes.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local _, config = H.workspace({ ['a.py'] = 'x = 1\ny = 2\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'Set x', steps = { 'x = 5' }, files = { 'a.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 5' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {
    { path = 'a.py', line = 2, message = 'y is never used', severity = 'warning' },
  } } } } } },
})
require('baton').setup({ config = config, settings = { edits = { mode = 'review' } } })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

vim.cmd('Baton run Set x')
local run = H.expect_state('awaiting_approval')
vim.cmd('Baton accept')
H.expect_state('awaiting_apply', run.runId)
H.eq({ 'x = 1', 'y = 2' }, vim.api.nvim_buf_get_lines(src_buf, 0, -1, false), 'buffer while changes are held')
H.wait('the review finding as a diagnostic', function()
  return vim.iter(vim.diagnostic.get(src_buf)):any(function(d)
    return d.source == 'baton' and d.message:find('y is never used', 1, true) and d.lnum == 1
      and d.severity == vim.diagnostic.severity.WARN
  end)
end)

vim.cmd('Baton accept')
H.expect_state('done', run.runId)
H.wait('the held change applied', function()
  return vim.api.nvim_buf_get_lines(src_buf, 0, 1, false)[1] == 'x = 5'
end)
H.done()
