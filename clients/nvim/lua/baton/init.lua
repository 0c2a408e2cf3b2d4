-- Baton for Neovim: setup() and the public Lua API behind :Baton.
--
-- Every action takes an optional run id; without one it acts on the latest run
-- the action applies to (runs.lua decides which).
local client = require('baton.client')
local runs = require('baton.runs')
local ui = require('baton.ui')

local M = {}

M.defaults = {
  -- The server command; `baton` from PATH unless told otherwise.
  cmd = { 'baton', 'serve' },
  -- A TOML configuration file for the server (exported to it as BATON_CONFIG).
  config = nil,
  -- A table of the configuration's shape, sent as initializationOptions.config.
  settings = nil,
  -- Extra environment for the server process.
  cmd_env = nil,
  -- A buffer's workspace is the nearest directory holding one of these.
  root_markers = { '.git', '.baton' },
  -- Where plans, answers and run details open: 'below', 'above', 'left', 'right'.
  split = 'below',
  -- Prompt with vim.ui.input when an agent asks a free-text question.
  prompt_on_question = true,
  -- Write files that were not open when an edit reached them.
  write_closed_files = true,
  -- Notifications below this level are not shown (working phases are DEBUG).
  notify_level = vim.log.levels.INFO,
  -- false, true (the defaults below) or a table { action = lhs }.
  keymaps = false,
}

M.default_keymaps = {
  run = '<leader>br',
  accept = '<leader>ba',
  reject = '<leader>bx',
  revise = '<leader>bv',
  cancel = '<leader>bc',
  revert = '<leader>bu',
  runs = '<leader>bl',
  answer = '<leader>bq',
  steer = '<leader>bs',
  followup = '<leader>bf',
}

M.config = vim.deepcopy(M.defaults)
M.did_setup = false

local function set_keymaps(keymaps)
  if not keymaps then
    return
  end
  if keymaps == true then
    keymaps = M.default_keymaps
  end
  for action, lhs in pairs(keymaps) do
    if lhs and M[action] then
      local modes = action == 'run' and { 'n', 'x' } or 'n'
      vim.keymap.set(modes, lhs, function()
        if action == 'run' and vim.fn.mode():match('[vV\22]') then
          vim.api.nvim_feedkeys(vim.keycode('<Esc>'), 'nx', false)
          require('baton.commands').dispatch({ fargs = { 'run' }, range = 2, line1 = vim.fn.line("'<"),
            line2 = vim.fn.line("'>") })
        else
          M[action]()
        end
      end, { desc = 'Baton: ' .. action })
    end
  end
end

--- Configures Baton and attaches it to every file buffer.
---@param opts table?
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  if type(M.config.cmd) == 'string' then
    M.config.cmd = vim.split(M.config.cmd, '%s+', { trimempty = true })
  end
  -- Lists are replaced, not merged index by index.
  if opts and opts.root_markers then
    M.config.root_markers = opts.root_markers
  end
  M.did_setup = true
  client.register(M.config)
  set_keymaps(M.config.keymaps)
end

--- The client that owns `run` (or the current buffer's Baton client).
local function client_for(run)
  local c = run and run.client_id and vim.lsp.get_client_by_id(run.client_id)
  return c or client.get()
end

--- Finds the run `action` applies to and calls `fn(run_id, lsp_client)`.
--- With no run known locally, asks the server's journal (`baton.runs`) first.
---@param action string
---@param run_id string?
---@param fn fun(run_id: string, c: vim.lsp.Client, run: baton.Run?)
local function with_run(action, run_id, fn)
  if run_id then
    local run = runs.get(run_id)
    local c = client_for(run)
    if not c then
      return ui.notify('no Baton server is running here', vim.log.levels.ERROR)
    end
    return fn(run_id, c, run)
  end
  local run = runs.pick(action)
  if run then
    return fn(run.runId, client_for(run), run)
  end
  local c = client.get()
  if not c then
    return ui.notify('no Baton server is running here', vim.log.levels.ERROR)
  end
  client.exec(c, 'baton.runs', vim.empty_dict(), function(list)
    runs.merge(list, c.id)
    local found = runs.pick(action)
    if found then
      fn(found.runId, c, found)
    else
      ui.notify(('no run to %s'):format(action), vim.log.levels.WARN)
    end
  end)
end

local function prompt(text, fn)
  vim.ui.input({ prompt = text }, function(value)
    if value and vim.trim(value) ~= '' then
      fn(value)
    end
  end)
end

-- Calls `fn` with `text`, or with what the person types when `text` is empty.
local function given_or_prompt(text, label, fn)
  if not text or vim.trim(text) == '' then
    return prompt(label, fn)
  end
  fn(text)
end

--- Starts a run. `o.range` (an LSP range in the buffer's encoding) makes the
--- selection the context; `o.parentRunId` makes it a follow-up.
---@param task string?
---@param o {bufnr: integer?, range: table?, route: string?, parentRunId: string?}?
function M.run(task, o)
  o = o or {}
  if not task or vim.trim(task) == '' then
    return prompt(o.parentRunId and 'Baton follow-up: ' or 'Baton task: ', function(value)
      M.run(value, o)
    end)
  end
  local bufnr = o.bufnr or vim.api.nvim_get_current_buf()
  local c = client.ensure(bufnr)
  if not c then
    return ui.notify('cannot start the Baton server; see :checkhealth baton', vim.log.levels.ERROR)
  end
  local argument = { task = task, route = o.route, parentRunId = o.parentRunId }
  if client.root_for(bufnr, M.config.root_markers) then
    argument.uri = vim.uri_from_bufnr(bufnr)
    argument.range = o.range
  end
  client.exec(c, 'baton.run', argument, function(result)
    if type(result) == 'table' and result.runId and not runs.get(result.runId) then
      runs.update({ runId = result.runId, state = 'queued', task = task, route = o.route }, c.id)
    end
  end)
end

--- Accepts the plan (or, in review mode, applies the held changes).
function M.accept(run_id)
  with_run('accept', run_id, function(id, c, run)
    local command = run and runs.allows(run, 'apply') and 'baton.edits.apply' or 'baton.plan.accept'
    client.exec(c, command, { runId = id })
  end)
end

--- Rejects the plan (or, in review mode, the held changes).
function M.reject(run_id, reason)
  with_run('reject', run_id, function(id, c, run)
    local command = run and runs.allows(run, 'apply') and 'baton.edits.reject' or 'baton.plan.reject'
    client.exec(c, command, { runId = id, reason = reason })
  end)
end

function M.revise(feedback, run_id)
  with_run('revise', run_id, function(id, c)
    given_or_prompt(feedback, 'Revise the plan: ', function(value)
      client.exec(c, 'baton.plan.revise', { runId = id, feedback = value })
    end)
  end)
end

function M.cancel(run_id)
  with_run('cancel', run_id, function(id, c)
    client.exec(c, 'baton.run.cancel', { runId = id })
  end)
end

function M.revert(run_id)
  with_run('revert', run_id, function(id, c)
    client.exec(c, 'baton.run.revert', { runId = id })
  end)
end

--- Applies the changes a review-mode run holds.
function M.apply(run_id)
  with_run('accept', run_id, function(id, c)
    client.exec(c, 'baton.edits.apply', { runId = id })
  end)
end

--- Answers the question of a run awaiting input; prompts when `text` is nil.
function M.answer(text, run_id)
  with_run('answer', run_id, function(id, c, run)
    if not text or vim.trim(text) == '' then
      return ui.prompt_answer(run or { runId = id }, function(value)
        if value then
          client.exec(c, 'baton.run.answer', { runId = id, answer = value })
        end
      end)
    end
    client.exec(c, 'baton.run.answer', { runId = id, answer = text })
  end)
end

--- Sends a note the working agent sees at its next turn.
function M.steer(text, run_id)
  with_run('steer', run_id, function(id, c)
    given_or_prompt(text, 'Steer the run: ', function(value)
      client.exec(c, 'baton.run.steer', { runId = id, message = value })
    end)
  end)
end

--- Starts a follow-up of a run (by default the latest finished one).
function M.followup(task, parent_id, o)
  with_run('followup', parent_id, function(id)
    M.run(task, vim.tbl_extend('force', o or {}, { parentRunId = id }))
  end)
end

--- Shows one run's details.
function M.show(run_id)
  with_run('show', run_id, function(id, c)
    client.exec(c, 'baton.run.show', { runId = id }, function(result)
      if type(result) == 'table' then
        ui.show_run(result)
      end
    end)
  end)
end

--- Lists the journal's runs, lets the person pick one and shows it.
function M.runs()
  local c = client.get()
  if not c then
    return ui.notify('no Baton server is running here', vim.log.levels.ERROR)
  end
  client.exec(c, 'baton.runs', vim.empty_dict(), function(list)
    runs.merge(list, c.id)
    if type(list) ~= 'table' or #list == 0 then
      return ui.notify('no runs yet', vim.log.levels.INFO)
    end
    table.sort(list, function(a, b)
      return (tonumber(a.createdAt) or 0) > (tonumber(b.createdAt) or 0)
    end)
    ui.select_run(list, function(choice)
      if choice then
        M.show(choice.runId)
      end
    end)
  end)
end

--- Trusts the workspace's .baton/config.toml as it is now (until then only its
--- [edits] and [limits] apply; a later change to it makes it untrusted again).
function M.trust()
  local c = client.get()
  if not c then
    return ui.notify('no Baton server is running here', vim.log.levels.ERROR)
  end
  client.exec(c, 'baton.workspace.trust', vim.empty_dict(), function(result)
    local path = type(result) == 'table' and result.path or '.baton/config.toml'
    ui.notify(('trusts %s now: all of it applies'):format(path), vim.log.levels.INFO)
  end)
end

--- A short text for statuslines: the latest active run's state, or ''.
---@return string
function M.statusline()
  local run = runs.latest(runs.is_active)
  return run and ('Baton: ' .. ui.state_words(run.state)) or ''
end

--- The runs this Neovim has seen, most recent first (see runs.lua for fields).
---@return baton.Run[]
function M.list()
  return runs.list()
end

return M
