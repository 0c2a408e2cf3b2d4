-- :Baton steer reaches the working agent (recorded in the run), typing during the
-- work is kept; :Baton followup
-- starts a run whose parent is the finished one; an ask run's answer.md is shown.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local approve = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } }
local _, config = H.workspace({ ['a.py'] = 'x = 1\n' }, {
  runs = {
    {
      match = 'Explain',
      classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'ask', reason = 'question' } } } } },
      planner = { { text = 'x was set to 2 by the previous run.' } },
    },
    {
      match = 'Set x',
      classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
      planner = { { tool_calls = { { name = 'submit_plan', arguments = { summary = 'Set x', steps = { 'x = 2' }, files = { 'a.py' } } } } } },
      implementer = {
        -- The scripted model takes a while on its first turn, so the steer note
        -- arrives while it works and must reach its next turn.
        { delay_ms = 1500, tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 2' } } } },
        { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
      },
      reviewer = approve,
    },
  },
})
require('baton').setup({ config = config })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

vim.cmd('Baton run Set x')
local run = H.expect_state('awaiting_approval')
vim.cmd('Baton accept')
H.expect_state('implementing', run.runId)
vim.cmd('Baton steer keep the comment style')
-- Typing while the agent works: its edit must land around this, not over it.
vim.api.nvim_buf_set_lines(src_buf, -1, -1, false, { '# typed during the work' })
H.expect_state('done', run.runId)
H.wait('the edit in the buffer', function()
  return vim.api.nvim_buf_get_lines(src_buf, 0, 1, false)[1] == 'x = 2'
end)
H.eq({ 'x = 2', '# typed during the work' }, vim.api.nvim_buf_get_lines(src_buf, 0, -1, false),
  'a.py buffer after the run')
local _, shown = H.show(run.runId)
H.check(shown:find('keep the comment style', 1, true), 'the steer note is in the run (baton.run.show):\n' .. shown)

vim.cmd('Baton followup Explain what changed')
local child
H.wait('the follow-up run', function()
  child = vim.iter(require('baton.runs').list()):find(function(r)
    return r.runId ~= run.runId
  end)
  return child
end)
H.expect_state('done', child.runId)
H.wait('answer.md shown in a window', function()
  return H.window_with('answer.md')
end)
local _, child_shown = H.show(child.runId)
H.check(child_shown:find(run.runId, 1, true), 'the follow-up names its parent (baton.run.show):\n' .. child_shown)
H.done()
