-- The selection code action "Baton: edit this selection…" prompts for the text in
-- Neovim (the server leaves that to clients) and starts an edit run whose change
-- is the plan to accept.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init({
  input = function(opts)
    if opts.prompt:find('edit this selection', 1, true) then
      return 'Rename the variable to total'
    end
  end,
})

local _, config = H.workspace({ ['a.py'] = 'count = 1\nprint(count)\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'edit', reason = 'small' } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'count = 1\nprint(count)', new = 'total = 1\nprint(total)' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'renamed' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

vim.lsp.buf.code_action({
  range = { start = { 1, 0 }, ['end'] = { 2, 11 } },
  filter = function(action)
    return action.title:find('edit this selection', 1, true) ~= nil
  end,
  apply = true,
})
H.wait('the prompt for the edit', function()
  return #H.inputs > 0
end)
local run = H.expect_state('awaiting_approval')
H.eq('Rename the variable to total', run.task, 'the task of the run the code action started')
vim.cmd('Baton accept')
H.expect_state('done', run.runId)
H.wait('the edit in the buffer', function()
  return vim.deep_equal(vim.api.nvim_buf_get_lines(src_buf, 0, -1, false), { 'total = 1', 'print(total)' })
end)
H.done()
