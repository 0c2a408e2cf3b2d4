-- What a run did, where a Neovim user looks (issue 19): the done notification carries
-- the completion summary (the implementer's summary, the files changed, the review's
-- verdict and findings), and :Baton show renders the run for a person: its date (not
-- an epoch number), summary, files, review findings, usage and steps, with no raw
-- fields and none of the messages Baton sent the agents; states are said in words.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local FINDING = 'count could be a constant'
local _, config = H.workspace({ ['hello.py'] = 'count = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'Count to two', steps = { 'Set count to 2' }, files = { 'hello.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'hello.py', old = 'count = 1', new = 'count = 2' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'count is 2' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {
    { path = 'hello.py', line = 1, message = FINDING, severity = 'info' } } } } } } },
})
require('baton').setup({ config = config })

vim.cmd.edit('hello.py')
vim.cmd('Baton run Count to two')
local run = H.expect_state('awaiting_approval')
H.eq('Baton: plan waiting for you', require('baton').statusline(), 'the statusline says the state in words')
vim.cmd('Baton accept')
H.expect_state('done', run.runId)

local done
H.wait('the done notification with what the run did', function()
  done = vim.iter(H.notes):find(function(n)
    return n.msg:find('done', 1, true) and n.msg:find('count is 2', 1, true)
  end)
  return done
end)
for _, part in ipairs({ '1 file changed (hello.py)', 'review: approved', '1 finding', ':Baton show' }) do
  H.check(done.msg:find(part, 1, true), ('the done notification says %q:\n%s'):format(part, done.msg))
end

local raw = H.show(run.runId)
vim.cmd('Baton show ' .. run.runId)
H.wait('the run shown in a buffer', function()
  return vim.api.nvim_buf_get_name(0):find('baton://run/' .. run.runId, 1, true)
end)
local shown = H.buf_text(0)
local epoch = tostring(math.floor(raw.createdAt))
H.check(not shown:find(epoch, 1, true), ('the run shows its date, not the epoch %s:\n%s'):format(epoch, shown))
H.check(shown:find('Started: ' .. os.date('%Y-%m-%d %H:%M', math.floor(raw.createdAt)), 1, true),
  'the run shows when it started as a date:\n' .. shown)
for _, part in ipairs({ '# Count to two', '- State: done', '## Summary', 'count is 2. 1 file changed (hello.py)',
  '## Files changed', '- hello.py', '> # Plan: Count to two', 'Verdict: approved', 'hello.py:1 [info] ' .. FINDING, '## Usage', '## Steps',
  'state → done' }) do
  H.check(shown:find(part, 1, true), ('the run view shows %q:\n%s'):format(part, shown))
end
-- No raw structure: no tables above the steps (a step may quote a tool call's arguments),
-- no grant dump, no prompt sent to an agent.
local above_steps = shown:sub(1, (shown:find('\n## Steps\n', 1, true)))
H.check(not above_steps:find('{', 1, true), 'the run view shows no raw tables:\n' .. shown)
for _, absent in ipairs({ '\n## grant', '\n## providers' }) do
  H.check(not shown:find(absent, 1, true), ('the run view shows no %q:\n%s'):format(absent, shown))
end
-- The steps are the server's account: each call by its subject, not its payload, and none
-- of the prompts Baton sent the agents (the implementer's holds the accepted plan).
local steps = shown:sub((shown:find('\n## Steps\n', 1, true)))
H.check(steps:find(': edit_file hello.py\n', 1, true), 'the steps show the edit by its file:\n' .. steps)
H.check(steps:find(': submit_review approve, 1 finding(s)', 1, true), 'the steps show the review:\n' .. steps)
for _, absent in ipairs({ 'count = 1', 'Files this plan may write', '(path=' }) do
  H.check(not steps:find(absent, 1, true), ('the steps show no %q:\n%s'):format(absent, steps))
end
H.done()
