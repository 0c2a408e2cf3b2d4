-- The core flow in Neovim with nothing but vim.lsp and the documented snippet
-- (docs/snippets/neovim.lua), no plugin: a run from :BatonRun, the plan shown in a
-- window, the "Accept plan" code action, an edit in the open buffer after é😀, a
-- closed file edited (loaded into a buffer, saved with :wall), a permission prompt
-- answered through vim.ui.select, a review finding as a diagnostic, and a revert
-- that gives everything back, the created file included, without asking anything.
local H = dofile(vim.fs.dirname(arg[0]) .. '/../nvim/helpers.lua')
vim.o.swapfile = false
vim.o.shada = ''
vim.notify = function(msg, level)
  table.insert(H.notes, { msg = msg, level = level })
end
-- Neovim's window/showMessageRequest handler asks with vim.ui.select.
vim.ui.select = function(items, opts, on_choice)
  local labels = vim.tbl_map(opts.format_item or tostring, items)
  local record = { prompt = opts.prompt, items = labels }
  table.insert(H.selects, record)
  local idx = opts.prompt and opts.prompt:find('NOTES.txt', 1, true) and H.index_of(labels, '^Allow once$')
  record.choice = idx and labels[idx]
  vim.schedule(function()
    on_choice(idx and items[idx] or nil, idx)
  end)
end
H.watchdog = assert(vim.uv.new_timer())
H.watchdog:start(45000, 0, vim.schedule_wrap(function()
  H.fail('watchdog: the scenario did not finish in time')
end))

local HELLO = 'GREETING = "é😀"  # non-ASCII and astral before the edit\n\n\ndef hello():\n    return 1\n'
local ws, config = H.workspace({ ['hello.py'] = HELLO, ['b.py'] = 'a = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'Greet by name', steps = { 'Edit' }, files = { 'hello.py', 'b.py' } } } } } },
  implementer = {
    { tool_calls = { { name = 'edit_file', arguments = {
      path = 'hello.py', old = '# non-ASCII and astral before the edit', new = '# edited after é😀' } } } },
    { tool_calls = { { name = 'edit_file', arguments = { path = 'hello.py', old = 'def hello():', new = 'def hello(name):' } } } },
    { tool_calls = { { name = 'edit_file', arguments = { path = 'b.py', old = 'a = 1', new = 'a = 2' } } } },
    -- Not in the plan: asks. No final newline: Neovim's buffer adds one.
    { tool_calls = { { name = 'write_file', arguments = { path = 'NOTES.txt', content = 'x is two now' } } } },
    { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
  },
  reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {
    { path = 'hello.py', line = 4, message = 'name is unused', severity = 'warning' } } } } } } },
})
vim.env.BATON_CONFIG = config
dofile(assert(os.getenv('BATON_DOCS')) .. '/snippets/neovim.lua')

local function state_of(id)
  local seen = H.states[id] or {}
  return seen[#seen]
end
local function wait_state(id, state)
  H.wait('run ' .. id .. ' in ' .. state, function()
    H.check(state_of(id) ~= 'failed', 'the run failed: ' .. vim.inspect(H.last))
    return state_of(id) == state
  end, 30000)
end
local function lines(path)
  return vim.api.nvim_buf_get_lines(vim.fn.bufnr(path), 0, -1, false)
end

vim.cmd.edit('hello.py')
local hello = vim.api.nvim_get_current_buf()
local client
H.wait('the client attached', function()
  client = vim.lsp.get_clients({ name = 'baton', bufnr = hello })[1]
  return client and client.initialized
end, 20000)
-- Record every state (the snippet's handler still runs).
local notify_states = client.handlers['baton/runChanged']
client.handlers['baton/runChanged'] = function(err, run, ctx)
  H.states[run.runId] = H.states[run.runId] or {}
  table.insert(H.states[run.runId], run.state)
  H.last = run
  return notify_states(err, run, ctx)
end

H.step = ':BatonRun'
vim.cmd('BatonRun Greet by name and take notes')
H.wait('the run id', function()
  return vim.g.baton_last_run
end)
local id = vim.g.baton_last_run
wait_state(id, 'awaiting_approval')
H.wait('plan.md in a window (window/showDocument)', function()
  return H.window_with('plan.md')
end)
H.eq(hello, vim.api.nvim_get_current_buf(), 'the buffer with the cursor (the plan does not take focus)')
H.check(vim.iter(H.notes):any(function(n)
  return n.msg:find('Accept plan', 1, true)
end), 'the snippet says how to accept')

H.step = 'Accept plan code action'
vim.api.nvim_set_current_win(H.window_with('plan.md'))
H.wait('the client attached to plan.md', function()
  return #vim.lsp.get_clients({ name = 'baton', bufnr = 0 }) == 1
end)
vim.lsp.buf.code_action({ apply = true, filter = function(a)
  return a.title == 'Accept plan'
end })
wait_state(id, 'done')

H.step = 'checking the edits'
H.eq({ 'GREETING = "é😀"  # edited after é😀', '', '', 'def hello(name):', '    return 1' },
  vim.api.nvim_buf_get_lines(hello, 0, -1, false), 'hello.py after the run')
H.eq({ 'a = 2' }, lines(ws .. '/b.py'), 'b.py (closed) loaded into a buffer with the edit')
H.eq({ 'x is two now' }, lines(ws .. '/NOTES.txt'), 'NOTES.txt created')
local prompt = H.selects[1]
H.check(prompt and prompt.choice == 'Allow once', 'the permission prompt: ' .. vim.inspect(H.selects))
H.wait('the review finding as a diagnostic', function()
  return vim.iter(vim.diagnostic.get(hello)):any(function(d)
    return d.source == 'baton' and d.message == 'name is unused' and d.lnum == 3
  end)
end)
vim.cmd('silent wall') -- as the person would
H.eq('a = 2\n', H.read(ws .. '/b.py'), 'b.py on disk after :wall')
H.eq('x is two now\n', H.read(ws .. '/NOTES.txt'), 'NOTES.txt on disk after :wall')

H.step = ':BatonRevert'
vim.api.nvim_set_current_buf(hello)
vim.cmd('BatonRevert')
H.wait('hello.py reverted', function()
  return table.concat(vim.api.nvim_buf_get_lines(hello, 0, -1, false), '\n') .. '\n' == HELLO
end)
H.wait('b.py reverted', function()
  return table.concat(lines(ws .. '/b.py'), '\n') == 'a = 1'
end)
H.wait('NOTES.txt deleted', function()
  return H.read(ws .. '/NOTES.txt') == nil
end)
H.eq(1, #H.selects, 'prompts (the permission only: no conflict question when nothing was changed)')
for _, n in ipairs(H.notes) do
  H.check(n.level ~= vim.log.levels.ERROR, 'an error message: ' .. n.msg)
end
H.done()
