-- An agent's questions: a free-text one prompts with vim.ui.input (dismissed here)
-- and is answered with :Baton answer; one with options arrives through
-- window/showMessageRequest, answered with vim.ui.select, and is not asked twice.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init({
  select = function(labels, opts)
    if opts.prompt and opts.prompt:find('Keep the old line', 1, true) then
      return H.index_of(labels, '^no$')
    end
  end,
  input = function()
    return nil -- the person dismisses the prompt and answers later
  end,
})

local _, config = H.workspace({ ['a.py'] = 'x = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = {
    { tool_calls = { { name = 'ask_user', arguments = { question = 'Which value should x get?' } } } },
    { tool_calls = { { name = 'submit_plan', arguments = { summary = 'Set x', steps = { 'x = 7' }, files = { 'a.py' } } } } },
  },
  implementer = {
    { tool_calls = { { name = 'ask_user', arguments = { question = 'Keep the old line as a comment?', options = { 'yes', 'no' } } } } },
    { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 7' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

vim.cmd('Baton run Set x')
local run = H.expect_state('awaiting_input')
H.eq('Which value should x get?', run.question and run.question.text, 'the question in baton/runChanged')
H.wait('the question prompt', function()
  return vim.iter(H.inputs):any(function(i)
    return i.prompt and i.prompt:find('Which value should x get?', 1, true)
  end)
end)
H.check(vim.iter(H.notes):any(function(n)
  return n.msg:find('Which value should x get?', 1, true)
end), 'a notification shows the question')

vim.cmd('Baton answer seven')
H.expect_state('awaiting_approval', run.runId)
vim.cmd('Baton accept')
H.wait('the options question through vim.ui.select', function()
  return vim.iter(H.selects):any(function(s)
    return s.prompt and s.prompt:find('Keep the old line', 1, true)
  end)
end)
H.expect_state('done', run.runId)
H.eq({ 'x = 7' }, vim.api.nvim_buf_get_lines(src_buf, 0, -1, false), 'a.py buffer after the run')
H.eq(1, #vim.tbl_filter(function(s)
  return s.prompt and s.prompt:find('Keep the old line', 1, true)
end, H.selects), 'times the options question was asked')
H.eq(1, #H.inputs, 'vim.ui.input prompts (only the free-text question)')
local _, shown = H.show(run.runId)
H.check(shown:find('answered: seven', 1, true), 'the typed answer is in the run (baton.run.show):\n' .. shown)
H.check(shown:find('answered: no', 1, true),
  'the picked option answered the second question (baton.run.show):\n' .. shown)
H.done()
