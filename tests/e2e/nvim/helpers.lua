-- Shared set-up for the headless Neovim scenarios run by tests/e2e/test_nvim.py.
--
-- A scenario builds its own workspace and scripted-provider script under
-- $BATON_TEST_TMP, starts the real `baton serve` through the plugin, drives
-- :Baton commands and waits on predicates (never fixed sleeps). Any failure or
-- timeout prints what the scenario saw and exits non-zero; a watchdog makes sure
-- no scenario hangs.
vim.g.loaded_python3_provider = 0
vim.g.loaded_perl_provider = 0
vim.g.loaded_ruby_provider = 0
vim.g.loaded_node_provider = 0

local H = {}

H.tmp = assert(os.getenv('BATON_TEST_TMP'), 'BATON_TEST_TMP is not set')
H.plugin = assert(os.getenv('BATON_NVIM_PLUGIN'), 'BATON_NVIM_PLUGIN is not set')
H.notes = {} -- every vim.notify: { msg, level }
H.selects = {} -- every vim.ui.select: { items, prompt, choice }
H.inputs = {} -- every vim.ui.input: { prompt, answer }
H.states = {} -- runId -> list of states seen, in order
H.progress = {} -- LspProgress values of the Baton client
H.step = 'start'

local function dump()
  local out = { '', '--- scenario step: ' .. H.step, '--- notifications:' }
  for _, n in ipairs(H.notes) do
    table.insert(out, ('  [%s] %s'):format(n.level or '-', n.msg))
  end
  table.insert(out, '--- states seen:')
  for id, states in pairs(H.states) do
    table.insert(out, ('  %s: %s'):format(id, table.concat(states, ' → ')))
  end
  table.insert(out, ('--- vim.ui.select calls: %s'):format(vim.inspect(H.selects)))
  table.insert(out, ('--- vim.ui.input calls: %s'):format(vim.inspect(H.inputs)))
  local messages = vim.api.nvim_exec2('messages', { output = true }).output
  table.insert(out, '--- :messages:\n' .. messages)
  for _, c in ipairs(vim.lsp.get_clients({ name = 'baton' })) do
    table.insert(out, ('--- client %d initialized=%s stopped=%s'):format(c.id, tostring(c.initialized),
      tostring(c:is_stopped())))
  end
  return table.concat(out, '\n')
end

--- Fails the scenario with `msg` and what it saw.
function H.fail(msg)
  io.stderr:write('\nSCENARIO FAILED: ' .. msg .. '\n' .. dump() .. '\n')
  io.stderr:flush()
  os.exit(1)
end

function H.check(cond, msg)
  if not cond then
    H.fail(msg)
  end
end

function H.eq(expected, got, what)
  if not vim.deep_equal(expected, got) then
    H.fail(('%s:\n  expected %s\n  got      %s'):format(what, vim.inspect(expected), vim.inspect(got)))
  end
end

--- Waits for `pred()` to be true; fails naming `what` after `timeout_ms`.
function H.wait(what, pred, timeout_ms)
  H.step = 'waiting for ' .. what
  local ok = vim.wait(timeout_ms or 15000, function()
    local good, value = pcall(pred)
    return good and value
  end, 20)
  if not ok then
    H.fail('timed out waiting for ' .. what)
  end
end

local function write(path, text)
  vim.fn.mkdir(vim.fs.dirname(path), 'p')
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
end

function H.read(path)
  local f = io.open(path, 'rb')
  if not f then
    return nil
  end
  local text = f:read('*a')
  f:close()
  return text
end

--- Creates a workspace with `files` (path → text), a `.git` marker, and a
--- configuration using the scripted provider on `script` (a Lua table written
--- as JSON). Returns the workspace path and the config path.
function H.workspace(files, script, edits_mode)
  local ws = H.tmp .. '/ws'
  vim.fn.mkdir(ws .. '/.git', 'p')
  for path, text in pairs(files) do
    write(ws .. '/' .. path, text)
  end
  local config = H.tmp .. '/baton.toml'
  write(H.tmp .. '/script.json', vim.json.encode(script))
  write(config, table.concat({
    '[providers.offline]',
    'kind = "scripted"',
    'script = "script.json"',
    '',
    '[edits]',
    ('mode = "%s"'):format(edits_mode or 'stream'),
    '',
  }, '\n'))
  vim.cmd.cd(ws)
  H.ws = ws
  return ws, config
end

--- Loads the plugin as a plugin manager would, with test doubles for the UI.
---@param o {timeout_ms: integer?, select: fun(items, opts): any, input: fun(opts): string?}
function H.init(o)
  o = o or {}
  vim.o.swapfile = false
  vim.o.shada = ''
  vim.opt.rtp:prepend(H.plugin)
  vim.cmd.runtime('plugin/baton.lua')
  vim.notify = function(msg, level)
    table.insert(H.notes, { msg = msg, level = level })
  end
  H.answer_select = o.select or function()
    return nil
  end
  H.answer_input = o.input or function()
    return nil
  end
  -- Answers come back on the next loop iteration, like a real picker.
  vim.ui.select = function(items, opts, on_choice)
    local labels = {}
    for _, item in ipairs(items) do
      table.insert(labels, opts and opts.format_item and opts.format_item(item) or item)
    end
    local record = { prompt = opts and opts.prompt, items = labels }
    table.insert(H.selects, record)
    local idx = H.answer_select(labels, opts or {})
    record.choice = idx and labels[idx]
    vim.schedule(function()
      on_choice(idx and items[idx] or nil, idx)
    end)
  end
  vim.ui.input = function(opts, on_confirm)
    local record = { prompt = opts and opts.prompt }
    table.insert(H.inputs, record)
    record.answer = H.answer_input(opts or {})
    vim.schedule(function()
      on_confirm(record.answer)
    end)
  end
  vim.api.nvim_create_autocmd('User', {
    pattern = 'BatonRunChanged',
    callback = function(args)
      local run = args.data
      H.states[run.runId] = H.states[run.runId] or {}
      table.insert(H.states[run.runId], run.state)
    end,
  })
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(args)
      local c = vim.lsp.get_client_by_id(args.data.client_id)
      if c and c.name == 'baton' then
        table.insert(H.progress, args.data.params.value)
      end
    end,
  })
  local timer = assert(vim.uv.new_timer())
  timer:start(o.timeout_ms or 45000, 0, vim.schedule_wrap(function()
    H.fail('watchdog: the scenario did not finish in time')
  end))
  H.watchdog = timer
end

--- Index of the first label matching `pattern` (for select answers).
function H.index_of(labels, pattern)
  for i, label in ipairs(labels) do
    if tostring(label):find(pattern) then
      return i
    end
  end
end

--- The Baton client attached to the current buffer, once initialized.
function H.client()
  local found
  H.wait('the Baton client to initialize', function()
    found = vim.lsp.get_clients({ name = 'baton', bufnr = 0 })[1]
    return found and found.initialized
  end, 20000)
  return found
end

--- The latest run the plugin knows of.
function H.latest()
  return require('baton.runs').list()[1]
end

--- Waits until some run (or the run `id`) is in `state`; returns it.
function H.wait_state(state, id, timeout_ms)
  local found
  H.wait(('a run in state %s'):format(state), function()
    for _, run in ipairs(require('baton.runs').list()) do
      if (not id or run.runId == id) and run.state == state then
        found = run
        return true
      end
    end
  end, timeout_ms)
  return found
end

H.acked = 0 -- notifications before this index were expected (see H.ack_errors)

--- Marks the error notifications so far as expected by the scenario.
function H.ack_errors()
  H.acked = #H.notes
end

--- Fails if any run has failed or a command was refused (with the error), so
--- the message says why instead of a timeout.
function H.no_failures()
  for i = H.acked + 1, #H.notes do
    if H.notes[i].level == vim.log.levels.ERROR then
      H.fail('error notification: ' .. H.notes[i].msg)
    end
  end
  for _, run in ipairs(require('baton.runs').list()) do
    if run.state == 'failed' then
      H.fail(('run %s failed: %s'):format(run.runId, tostring(run.error or run.reason)))
    end
  end
end

--- Waits for `state`, but stops early with the run's error if it fails.
function H.expect_state(state, id, timeout_ms)
  local found
  H.wait(('a run in state %s'):format(state), function()
    H.no_failures()
    for _, run in ipairs(require('baton.runs').list()) do
      if (not id or run.runId == id) and run.state == state then
        found = run
        return true
      end
    end
  end, timeout_ms)
  return found
end

--- The window showing a buffer whose name ends with `suffix`, if any.
function H.window_with(suffix)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local name = vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(win))
    if vim.endswith(name, suffix) then
      return win
    end
  end
end

function H.buf_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false), '\n')
end

--- `baton.run.show` for `id`, synchronously, as text (for content checks).
function H.show(id)
  local c = H.client()
  local res = c:request_sync('workspace/executeCommand',
    { command = 'baton.run.show', arguments = { { runId = id } } }, 10000)
  H.check(res and not res.err, 'baton.run.show failed: ' .. vim.inspect(res))
  return res.result, vim.inspect(res.result)
end

--- Stops the server cleanly and exits 0.
function H.done()
  H.step = 'shutting down'
  H.watchdog:stop()
  for _, c in ipairs(vim.lsp.get_clients({ name = 'baton' })) do
    c:stop()
  end
  vim.wait(5000, function()
    return #vim.lsp.get_clients({ name = 'baton' }) == 0
  end, 20)
  io.stdout:write('SCENARIO OK\n')
  io.stdout:flush()
  os.exit(0)
end

return H
