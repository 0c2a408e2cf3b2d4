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
  local names = vim.tbl_keys(providers)
  table.sort(names)
  for _, name in ipairs(names) do
    local p = type(providers[name]) == 'table' and providers[name] or {}
    local parts = {}
    for _, key in ipairs({ 'kind', 'model', 'base_url', 'script' }) do
      if p[key] ~= nil and p[key] ~= vim.NIL then
        table.insert(parts, ('%s=%s'):format(key, show(p[key])))
      end
    end
    local text = ('provider %s: %s'):format(name, table.concat(parts, ', '))
    local key = type(p.key) == 'table' and p.key or nil
    if key and key.present == false then
      health.warn(('%s; $%s is not set'):format(text, tostring(key.env)),
        { ('export %s, or set api_key_env in [providers.%s]'):format(tostring(key.env), name) })
    elseif key and key.present then
      health.ok(('%s; key present in $%s'):format(text, tostring(key.env)))
    else
      health.ok(text)
    end
  end
end

--- `key: value` lines for a table, nested tables inline.
local function report_table(title, value)
  if value == nil or value == vim.NIL then
    return
  end
  if type(value) ~= 'table' or vim.islist(value) then
    return health.info(('%s: %s'):format(title, show(value)))
  end
  local keys = vim.tbl_keys(value)
  table.sort(keys, function(a, b)
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(keys) do
    local v = value[k]
    if vim.islist(v) and #v > 0 and type(v[1]) ~= 'table' then
      v = table.concat(vim.tbl_map(tostring, v), ' → ')
    end
    health.info(('%s%s: %s'):format(title ~= '' and title .. ' ' or '', tostring(k), show(v)))
  end
end

local function report_sandbox(sandbox)
  if type(sandbox) ~= 'table' then
    return health.warn('isolation: not reported by baton doctor')
  end
  local layer = sandbox.layer
  if layer and layer ~= vim.NIL and layer ~= 'none' then
    health.ok('isolation layer for commands: ' .. show(layer))
  else
    local fix = sandbox.fix ~= vim.NIL and sandbox.fix or ''
    health.warn('isolation layer for commands: none' .. (sandbox.why and (' (' .. show(sandbox.why) .. ')') or ''),
      fix ~= '' and { show(fix) } or { 'install bubblewrap (apt-get install bubblewrap)' })
  end
  for _, k in ipairs({ 'commands', 'landlock_abi', 'forced' }) do
    if sandbox[k] ~= nil and sandbox[k] ~= vim.NIL then
      health.info(('%s: %s'):format(k, show(sandbox[k])))
    end
  end
  if type(sandbox.unavailable) == 'table' then
    for k, why in pairs(sandbox.unavailable) do
      health.info(('unavailable: %s (%s)'):format(k, show(why)))
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
  local root = running[1] and running[1].root_dir or vim.fn.getcwd()
  vim.list_extend(doctor, { '--workspace', root })
  local ok, proc = pcall(vim.system, doctor, { text = true, env = env_for(config), cwd = root })
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
  local cfg = type(report.config) == 'table' and report.config or {}
  for _, source in ipairs(type(cfg.sources) == 'table' and cfg.sources or {}) do
    health.info('source: ' .. show(source))
  end
  if cfg.edits then
    health.info('edits mode: ' .. show(cfg.edits))
  end
  report_table('permissions', cfg.permissions)
  report_table('role', report.roles)

  health.start('Providers')
  report_providers(report.providers)

  health.start('Isolation')
  report_sandbox(report.sandbox)

  health.start('Problems')
  local problems = type(report.problems) == 'table' and report.problems or {}
  if #problems == 0 then
    health.ok('none found')
  end
  for _, problem in ipairs(problems) do
    health.warn(show(problem))
  end
end

return M
