-- :Baton reject ends the run `rejected` and nothing changes; a command in the
-- wrong state is refused with a message and the server stays up; :Baton cancel
-- ends a run awaiting approval; :Baton runs lists runs and shows the one picked.
-- plan.md, open and saved, says it was rejected and stays saved.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init({
  select = function(labels, opts)
    if opts.prompt == 'Baton runs' then
      return H.index_of(labels, 'Make x two  %(')
    end
  end,
})

local original = 'x = 1\n'
local _, config = H.workspace({ ['a.py'] = original }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'Make x two', steps = { 'x = 2' }, files = { 'a.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 2' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.cmd.edit('a.py')
H.client()

vim.cmd('Baton run Make x two')
local run = H.expect_state('awaiting_approval')
H.wait('plan.md shown in a window', function()
  return H.window_with('plan.md')
end)
local plan_buf = vim.api.nvim_win_get_buf(H.window_with('plan.md'))
vim.cmd('Baton reject not what I want')
H.expect_state('rejected', run.runId)
H.eq({ 'x = 1' }, vim.api.nvim_buf_get_lines(0, 0, -1, false), 'buffer after rejecting')
H.eq(original, H.read(H.ws .. '/a.py'), 'a.py on disk after rejecting')
H.wait('plan.md says it was rejected', function()
  return H.buf_text(plan_buf):find('**Rejected at ', 1, true)
end)
H.check(not H.buf_text(plan_buf):find('Waiting for you', 1, true), 'plan.md no longer asks:\n' .. H.buf_text(plan_buf))
H.check(not vim.bo[plan_buf].modified, 'plan.md, saved before, is saved after Baton noted the answer')
H.check(H.read(vim.api.nvim_buf_get_name(plan_buf)):find('**Rejected at ', 1, true), 'plan.md on disk says it was rejected')
H.check(vim.iter(H.notes):any(function(n)
  return n.msg:find('rejected', 1, true) and n.level == vim.log.levels.WARN
end), 'a warning says the run was rejected')

vim.cmd('Baton accept ' .. run.runId)
H.wait('the refusal of accepting a rejected run', function()
  return vim.iter(H.notes):any(function(n)
    return n.level == vim.log.levels.ERROR and n.msg:find('baton.plan.accept failed', 1, true)
  end)
end)
H.ack_errors()

vim.cmd('Baton run Make x two again')
local second = H.expect_state('awaiting_approval')
H.check(second.runId ~= run.runId, 'a second run started')
vim.cmd('Baton cancel')
H.expect_state('cancelled', second.runId)

vim.cmd('Baton runs')
H.wait('the picked run shown in a buffer', function()
  return vim.api.nvim_buf_get_name(0):find('baton://run/' .. run.runId, 1, true)
end)
local shown = H.buf_text(0)
H.check(shown:find('Make x two', 1, true) and shown:find('rejected', 1, true),
  'the run buffer shows its task and state:\n' .. shown)
H.done()
