-- A write outside the plan's files makes Baton ask through
-- window/showMessageRequest; Neovim's handler asks with vim.ui.select; "Allow once"
-- lets the write through, and the new (closed) file is written to disk. A line
-- appended to another closed file lands on disk without a stray empty line.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init({
  select = function(labels, opts)
    if opts.prompt and opts.prompt:find('NOTES.txt', 1, true) then
      return H.index_of(labels, '^Allow once$')
    end
  end,
})

local _, config = H.workspace({ ['a.py'] = 'x = 1\n', ['b.py'] = 'a = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'Change x', steps = { 'x = 2' }, files = { 'a.py', 'b.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 2' } } } },
    { tool_calls = { { name = 'edit_file', arguments = { path = 'b.py', old = 'a = 1\n', new = 'a = 1\nb = 2\n' } } } },
    { tool_calls = { { name = 'write_file', arguments = { path = 'NOTES.txt', content = 'x is two now\n' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })
vim.cmd.edit('a.py')
local src_buf = vim.api.nvim_get_current_buf()
H.client()

vim.cmd('Baton run Change x and take notes')
local run = H.expect_state('awaiting_approval')
vim.cmd('Baton accept')
H.wait('the permission prompt', function()
  return vim.iter(H.selects):any(function(s)
    return s.prompt and s.prompt:find('NOTES.txt', 1, true)
  end)
end)
local prompt = vim.iter(H.selects):find(function(s)
  return s.prompt and s.prompt:find('NOTES.txt', 1, true)
end)
for _, action in ipairs({ 'Allow once', 'Allow for this run', 'Deny' }) do
  H.check(vim.tbl_contains(prompt.items, action), 'permission prompt offers ' .. action .. ': ' .. vim.inspect(prompt))
end
H.expect_state('done', run.runId)
H.wait('NOTES.txt written', function()
  return H.read(H.ws .. '/NOTES.txt') == 'x is two now\n'
end)
H.eq({ 'x = 2' }, vim.api.nvim_buf_get_lines(src_buf, 0, -1, false), 'a.py buffer after the run')
H.eq('a = 1\nb = 2\n', H.read(H.ws .. '/b.py'), 'b.py on disk (it was not open)')
H.eq(src_buf, vim.api.nvim_get_current_buf(), 'the current buffer (edits open no windows)')
H.eq(1, #vim.api.nvim_list_wins() - (H.window_with('plan.md') and 1 or 0), 'windows besides the plan')
H.done()
