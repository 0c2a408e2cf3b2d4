-- :Baton revise without an argument asks with vim.ui.input; the planner revises,
-- the shown plan.md is refreshed, and accepting the revision applies it.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init({
  input = function(opts)
    if opts.prompt:find('Revise', 1, true) then
      return 'use three, not two'
    end
  end,
})

local _, config = H.workspace({ ['a.py'] = 'x = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = {
    { tool_calls = { { name = 'submit_plan', arguments = { summary = 'First plan: two', steps = { 'x = 2' }, files = { 'a.py' } } } } },
    { tool_calls = { { name = 'submit_plan', arguments = { summary = 'Second plan: three', steps = { 'x = 3' }, files = { 'a.py' } } } } },
  },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 3' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

vim.cmd('Baton run Change x')
local run = H.expect_state('awaiting_approval')
H.wait('the first plan in a window', function()
  local win = H.window_with('plan.md')
  return win and H.buf_text(vim.api.nvim_win_get_buf(win)):find('First plan', 1, true)
end)

vim.cmd('Baton revise')
H.wait('the revision prompt', function()
  return #H.inputs > 0
end)
H.wait('the revised plan in the plan window', function()
  local win = H.window_with('plan.md')
  return win and H.buf_text(vim.api.nvim_win_get_buf(win)):find('Second plan', 1, true)
end)
H.expect_state('awaiting_approval', run.runId)
local plan_buf = vim.api.nvim_win_get_buf(H.window_with('plan.md'))
H.check(not vim.bo[plan_buf].modified, 'the reloaded plan is not marked modified')
-- Neovim knows the revised file's time: checking it again finds no change (else
-- a later :w would warn that the file changed since it was read).
local changed_shell = false
vim.api.nvim_create_autocmd('FileChangedShell', {
  buffer = plan_buf,
  callback = function()
    changed_shell = true
  end,
})
vim.bo[plan_buf].autoread = false
vim.cmd('checktime ' .. plan_buf)
H.check(not changed_shell, 'Neovim saw plan.md change on disk after the plugin reloaded it')
H.check(#vim.tbl_filter(function(s)
  return s == 'awaiting_approval'
end, H.states[run.runId]) >= 2, 'approval asked twice: ' .. table.concat(H.states[run.runId], ' → '))
H.eq(1, #vim.tbl_filter(function(w)
  return vim.endswith(vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(w)), 'plan.md')
end, vim.api.nvim_list_wins()), 'windows showing plan.md (the revision reuses the split)')

vim.cmd('Baton accept')
H.expect_state('done', run.runId)
H.wait('the revised edit in the buffer', function()
  return vim.api.nvim_buf_get_lines(src_buf, 0, 1, false)[1] == 'x = 3'
end)
H.done()
