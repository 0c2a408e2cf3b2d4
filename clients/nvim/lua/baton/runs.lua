-- What this Neovim knows about Baton's runs: the last `baton/runChanged` of each,
-- in the order they changed, so commands without a run id can pick "the latest" one.
-- The server's journal stays the truth; `refresh` merges its `baton.runs` list in
-- (for runs started before this Neovim attached, e.g. after a restart).
local M = {}

M.TERMINAL = { done = true, rejected = true, failed = true, cancelled = true }

---@class baton.Run
---@field runId string
---@field state string
---@field route string?
---@field task string
---@field planUri string?
---@field answerUri string?
---@field question {text: string, options: string[]?}?
---@field error string?
---@field reason string?
---@field usage table?
---@field held integer?  the agent's hunks held back after a conflict, in changes.diff
---@field actions string[]?  what the server says the person may do with the run now
---@field verify {passed: boolean, summary: string}?  the last verification of its change
---@field summary {text: string, files: string[]?, verdict: string?, findings: integer?}?  what it did (at its end)
---@field createdAt number?  when it was created (epoch seconds)
---@field client_id integer?
---@field seq integer  order of the last change seen

---@type table<string, baton.Run>
local by_id = {}
local seq = 0

--- Records a `baton/runChanged` notice; returns the run and its previous state.
---@param notice table
---@param client_id integer?
---@return baton.Run, string?
function M.update(notice, client_id)
  seq = seq + 1
  local run = by_id[notice.runId]
  local previous = run and run.state or nil
  run = run or { runId = notice.runId }
  -- Optional fields describe the current state only: a question or error of an
  -- earlier state must not linger (vim.NIL from JSON null counts as absent).
  for _, key in ipairs({ 'state', 'route', 'task', 'planUri', 'answerUri', 'question', 'error', 'reason', 'usage', 'held', 'actions', 'verify', 'summary', 'createdAt' }) do
    local value = notice[key]
    if value == vim.NIL then
      value = nil
    end
    if key == 'route' or key == 'task' or key == 'planUri' or key == 'answerUri' or key == 'createdAt' then
      run[key] = value or run[key]
    else
      run[key] = value
    end
  end
  if type(run.question) == 'table' and run.question.options == vim.NIL then
    run.question.options = nil
  elseif run.question ~= nil and type(run.question) ~= 'table' then
    run.question = nil
  end
  run.client_id = client_id or run.client_id
  run.seq = seq
  by_id[run.runId] = run
  return run, previous
end

--- Merges the result of `baton.runs` without overriding fresher notices.
---@param list table[]
---@param client_id integer?
function M.merge(list, client_id)
  for _, item in ipairs(list or {}) do
    if type(item) == 'table' and item.runId and not by_id[item.runId] then
      seq = seq + 1
      by_id[item.runId] = {
        runId = item.runId,
        state = item.state,
        route = item.route ~= vim.NIL and item.route or nil,
        task = item.task or '',
        client_id = client_id,
        -- Runs seen only in the journal rank below those seen live, oldest first.
        seq = -1e9 + seq,
        createdAt = item.createdAt,
        actions = type(item.actions) == 'table' and item.actions or nil,
        summary = type(item.summary) == 'table' and item.summary or nil,
      }
    end
  end
end

---@param run_id string
---@return baton.Run?
function M.get(run_id)
  return by_id[run_id]
end

--- All known runs, most recently changed first.
---@return baton.Run[]
function M.list()
  local out = vim.tbl_values(by_id)
  table.sort(out, function(a, b)
    return a.seq > b.seq
  end)
  return out
end

--- The most recently changed run matching `pred`.
---@param pred fun(run: baton.Run): boolean
---@return baton.Run?
function M.latest(pred)
  for _, run in ipairs(M.list()) do
    if pred(run) then
      return run
    end
  end
end

function M.is_active(run)
  return not M.TERMINAL[run.state]
end

--- Whether the server says `run` allows `action` now (`actions` of its notice): the
--- server decides which action fits which state, the plugin only asks.
---@param run baton.Run
---@param action string
function M.allows(run, action)
  return vim.tbl_contains(run.actions or {}, action)
end

--- The server's actions each command takes (`:Baton accept` also applies held changes).
M.wanted = {
  accept = { 'accept', 'apply' },
  reject = { 'reject' },
  revise = { 'revise' },
  answer = { 'answer' },
  steer = { 'steer' },
  cancel = { 'cancel' },
  revert = { 'revert' },
  followup = { 'followUp' },
}

--- Which run a command acts on when it names none: the latest run that allows one of
--- the command's actions, else (for commands on active runs) the latest active run.
---@param action string
---@return baton.Run?
function M.pick(action)
  local run = M.latest(function(r)
    for _, a in ipairs(M.wanted[action] or {}) do
      if M.allows(r, a) then
        return true
      end
    end
    return false
  end)
  if run then
    return run
  end
  if action == 'revert' or action == 'followup' or action == 'show' then
    return M.latest(function()
      return true
    end)
  end
  return M.latest(M.is_active)
end

--- Forget everything (tests, and a client that exited).
function M.clear()
  by_id = {}
  seq = 0
end

return M
