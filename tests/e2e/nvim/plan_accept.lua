-- :Baton run → the plan opens in a split (focus stays) → :Baton accept → the open
-- buffer holds the agent's edit, placed correctly after non-ASCII text on the same
-- line (Neovim negotiates utf-8), unsaved typing before and during the run kept,
-- the file on disk untouched. Once accepted, plan.md says so in its buffer, the person's
-- unsaved edit of it kept (and the file on disk not written under the buffer).
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local original = 'greeting = "é😀"; count = 1\ndef hello():\n    return greeting\n'
local _, config = H.workspace({ ['hello.py'] = original }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'Count to two', steps = { 'Set count to 2' }, files = { 'hello.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = { path = 'hello.py', old = 'count = 1', new = 'count = 2' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'count is 2' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
})
require('baton').setup({ config = config })

vim.cmd.edit('hello.py')
local src_buf, src_win = vim.api.nvim_get_current_buf(), vim.api.nvim_get_current_win()
local client = H.client()
H.eq('utf-8', client.offset_encoding, 'negotiated position encoding')
-- Typed but not saved: Baton must read the buffer, and the edit must keep it.
vim.api.nvim_buf_set_lines(src_buf, -1, -1, false, { '# typed, not saved' })

vim.cmd('Baton run Count to two')
local run = H.expect_state('awaiting_approval')
H.wait('plan.md shown in a window', function()
  return H.window_with('plan.md')
end)
H.eq(src_win, vim.api.nvim_get_current_win(), 'the focused window after the plan was shown')
local plan_buf = vim.api.nvim_win_get_buf(H.window_with('plan.md'))
H.check(H.buf_text(plan_buf):find('Count to two', 1, true), 'plan.md shows the plan summary:\n' .. H.buf_text(plan_buf))
H.check(vim.iter(H.notes):any(function(n)
  return n.msg:find('plan ready', 1, true) and n.level == vim.log.levels.INFO
end), 'a notification says the plan is ready')
-- More typing while the plan waits: the edit is made against this text.
vim.api.nvim_buf_set_lines(src_buf, 0, 0, false, { '# typed while the plan waited' })
-- The person edits the plan and does not save it: the plan accepted is this text.
local waiting = '**Waiting for you.** Edit this plan if you like'
H.check(H.buf_text(plan_buf):find(waiting, 1, true), 'plan.md says what to do with it:\n' .. H.buf_text(plan_buf))
local step = H.index_of(vim.api.nvim_buf_get_lines(plan_buf, 0, -1, false), '^1%. Set count to 2$')
H.check(step, 'the plan has its step:\n' .. H.buf_text(plan_buf))
vim.api.nvim_buf_set_lines(plan_buf, step, step, false, { '2. Keep the greeting' })
local plan_path = vim.api.nvim_buf_get_name(plan_buf)

vim.cmd('Baton accept')
H.expect_state('done', run.runId)
H.wait('the agent edit in the open buffer', function()
  return vim.api.nvim_buf_get_lines(src_buf, 1, 2, false)[1] == 'greeting = "é😀"; count = 2'
end)
H.eq({ '# typed while the plan waited', 'greeting = "é😀"; count = 2', 'def hello():', '    return greeting', '# typed, not saved' },
  vim.api.nvim_buf_get_lines(src_buf, 0, -1, false), 'buffer after the run')
H.eq(original, H.read(H.ws .. '/hello.py'), 'hello.py on disk (the editor applies edits to the buffer)')
H.eq(src_win, vim.api.nvim_get_current_win(), 'the focused window after the edit')
H.wait('plan.md says it was accepted', function()
  return H.buf_text(plan_buf):find('**Accepted at ', 1, true)
end)
local plan_text = H.buf_text(plan_buf)
H.check(not plan_text:find(waiting, 1, true), 'plan.md no longer asks:\n' .. plan_text)
H.check(plan_text:find('\n1. Set count to 2\n2. Keep the greeting\n', 1, true), 'the unsaved edit of plan.md kept:\n' .. plan_text)
H.check(vim.bo[plan_buf].modified, 'plan.md still unsaved (Baton edits the buffer, not the file)')
H.check(H.read(plan_path):find(waiting, 1, true), 'plan.md on disk not written under the buffer')
H.check(H.show(run.runId).plan:find('2. Keep the greeting', 1, true), 'the plan accepted is the edited text')

H.wait('LSP progress begin and end (the built-in progress that statuslines show)', function()
  local kinds = vim.tbl_map(function(v)
    return v.kind
  end, H.progress)
  return vim.tbl_contains(kinds, 'begin') and vim.tbl_contains(kinds, 'end')
end)
H.check(vim.iter(H.notes):any(function(n)
  return n.msg:find('done', 1, true)
end), 'a notification says the run is done')
H.done()
