-- :checkhealth baton: Neovim, the server executable, and what `baton doctor`
-- says about configuration, providers, keys and the isolation layer.
local M = {}

local health = vim.health

--- The doctor command derived from the server command: `… serve` → `… doctor --json`.
---@param cmd string[]
---@return string[]
function M.doctor_cmd(cmd)
  local out = {}
  for _, part in ipairs(cmd) do
    if part == 'serve' then
      break
    end
    table.insert(out, part)
  end
  vim.list_extend(out, { 'doctor', '--json' })
  return out
end

local function env_for(config)
  local env = vim.tbl_extend('force', {}, config.cmd_env or {})
  if config.config then
    env.BATON_CONFIG = vim.fn.fnamemodify(vim.fn.expand(config.config), ':p')
  end
  return env
end

local function show(value)
  if type(value) == 'table' then
    return vim.inspect(value, { newline = ' ', indent = '' })
  end
  return tostring(value)
end

--- One line per provider: kind, model, whether its key is present (never the key).
local function report_providers(providers)
  if type(providers) ~= 'table' or vim.tbl_isempty(providers) then
    return health.warn('no providers configured', { 'add a [providers.NAME] table to the configuration' })
  end
  local items = {}
  if vim.islist(providers) then
    items = providers
  else
    for name, p in pairs(providers) do
      p = type(p) == 'table' and p or { value = p }
      table.insert(items, vim.tbl_extend('keep', p, { name = name }))
    end
  end
  table.sort(items, function(a, b)
    return tostring(a.name) < tostring(b.name)
  end)
  for _, p in ipairs(items) do
    local parts = {}
    for _, key in ipairs({ 'kind', 'model', 'base_url' }) do
      if p[key] and p[key] ~= vim.NIL then
        table.insert(parts, ('%s=%s'):format(key, show(p[key])))
      end
    end
    local key_ok = p.key_present
    if key_ok == nil then
      key_ok = p.has_key
    end
    local problem = p.error or p.problem or p.missing
    local text = ('provider %s: %s'):format(tostring(p.name), table.concat(parts, ', '))
    if problem and problem ~= vim.NIL and problem ~= '' then
      health.error(text, { show(problem) })
    elseif key_ok == false then
      health.warn(text .. ' (no API key found)', { p.fix or p.hint or ('set ' .. tostring(p.api_key_env or 'its API key variable')) })
    else
      health.ok(text .. (key_ok == true and ' (key present)' or ''))
    end
  end
end

local function report_table(title, value)
  if value == nil or value == vim.NIL then
    return
  end
  if type(value) ~= 'table' then
    return health.info(('%s: %s'):format(title, show(value)))
  end
  local keys = vim.tbl_keys(value)
  table.sort(keys, function(a, b)
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(keys) do
    health.info(('%s %s: %s'):format(title, tostring(k), show(value[k])))
  end
end

local function report_sandbox(sandbox)
  if type(sandbox) ~= 'table' then
    return report_table('isolation', sandbox)
  end
  local active = sandbox.active or sandbox.layer or sandbox.selected
  if active and active ~= vim.NIL and active ~= 'none' then
    health.ok('isolation layer: ' .. show(active))
  elseif active == 'none' then
    health.warn('isolation layer: none; commands run without an OS sandbox',
      { show(sandbox.fix or sandbox.hint or 'install bubblewrap (apt-get install bubblewrap)') })
  end
  for k, v in pairs(sandbox) do
    if k ~= 'active' and k ~= 'layer' and k ~= 'selected' then
      health.info(('isolation %s: %s'):format(k, show(v)))
    end
  end
end

function M.check()
  local baton = require('baton')
  local config = baton.config

  health.start('Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.10') == 1 then
    health.ok('Neovim ' .. version)
  else
    health.error('Neovim ' .. version .. ' is too old', { 'Baton needs Neovim 0.10 or newer' })
  end
  if not baton.did_setup then
    health.warn('require("baton").setup() has not run; Baton does not attach to buffers yet')
  end

  health.start('Baton server')
  local exe = config.cmd[1]
  local path = exe and vim.fn.exepath(exe) or ''
  if path == '' then
    return health.error(('server command %q not found'):format(tostring(exe)), {
      'install Baton (pip install baton) so `baton` is on PATH',
      'or set cmd in require("baton").setup({ cmd = { "/path/to/baton", "serve" } })',
    })
  end
  health.ok(('server command: %s (%s)'):format(table.concat(config.cmd, ' '), path))
  local running = vim.lsp.get_clients({ name = 'baton' })
  if #running > 0 then
    for _, c in ipairs(running) do
      health.info(('running: client %d, root %s'):format(c.id, tostring(c.root_dir)))
    end
  end

  local doctor = M.doctor_cmd(config.cmd)
  local ok, proc = pcall(vim.system, doctor, { text = true, env = env_for(config) })
  if not ok then
    return health.error('cannot run ' .. table.concat(doctor, ' ') .. ': ' .. tostring(proc))
  end
  local res = proc:wait(15000)
  if res.signal ~= 0 and res.code ~= 0 and res.stdout == '' then
    return health.error(table.concat(doctor, ' ') .. ' did not finish within 15 s')
  end
  local decoded_ok, report = pcall(vim.json.decode, res.stdout or '', { luanil = { object = true, array = true } })
  if not decoded_ok or type(report) ~= 'table' then
    health.error(('`%s` exited %d without a JSON report'):format(table.concat(doctor, ' '), res.code),
      vim.split(vim.trim((res.stderr or '') .. '\n' .. (res.stdout or '')), '\n'))
    return
  end
  if report.version then
    health.ok('Baton ' .. show(report.version))
  end

  health.start('Configuration')
  if config.config then
    health.info('setup({ config = ... }): ' .. config.config)
  end
  report_table('config', report.config)
  report_table('role', report.roles)

  health.start('Providers')
  report_providers(report.providers)

  health.start('Isolation')
  report_sandbox(report.sandbox)

  for _, problem in ipairs(type(report.problems) == 'table' and report.problems or {}) do
    health.warn(show(problem))
  end
end

return M
