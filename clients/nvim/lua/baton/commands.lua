-- :Baton {subcommand} [run id] [text]: parsing and completion. A leading word that
-- is a known run id names the run; otherwise the latest fitting run is used.
local M = {}

local function baton()
  local b = require('baton')
  if not b.did_setup then
    b.setup({})
  end
  return b
end

--- The LSP range of a command's range in the negotiated position encoding:
--- the exact characters of a charwise visual selection, else whole lines.
---@param bufnr integer
---@param line1 integer
---@param line2 integer
---@param encoding string
---@return table
function M.range_params(bufnr, line1, line2, encoding)
  local util = vim.lsp.util
  local s = vim.api.nvim_buf_get_mark(bufnr, '<')
  local e = vim.api.nvim_buf_get_mark(bufnr, '>')
  local charwise = vim.fn.visualmode() == 'v' and s[1] == line1 and e[1] == line2
  local last = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ''
  local start_col, end_byte = 0, #last
  if charwise then
    start_col = s[2]
    -- '> marks the first byte of the last selected character; LSP ends are exclusive.
    local col = math.min(e[2], math.max(#last - 1, 0))
    end_byte = #last == 0 and 0 or col + vim.str_utf_end(last, col + 1) + 1
  end
  return {
    start = { line = line1 - 1, character = util.character_offset(bufnr, line1 - 1, start_col, encoding) },
    ['end'] = { line = line2 - 1, character = util.character_offset(bufnr, line2 - 1, end_byte, encoding) },
  }
end

--- Splits off a leading run id, when the first word is one.
local function take_run_id(fargs)
  local first = fargs[1]
  if first and require('baton.runs').get(first) then
    return first, vim.list_slice(fargs, 2)
  end
  return nil, fargs
end

local function text_of(fargs)
  local text = table.concat(fargs, ' ')
  return text ~= '' and text or nil
end

M.subcommands = {
  run = function(args, o)
    local b = baton()
    local bufnr = vim.api.nvim_get_current_buf()
    local range
    if o.range and o.range > 0 then
      local c = require('baton.client').ensure(bufnr)
      range = M.range_params(bufnr, o.line1, o.line2, c and c.offset_encoding or 'utf-16')
    end
    b.run(text_of(args), { bufnr = bufnr, range = range })
  end,
  accept = function(args)
    baton().accept(args[1])
  end,
  reject = function(args)
    local id, rest = take_run_id(args)
    baton().reject(id, text_of(rest))
  end,
  revise = function(args)
    local id, rest = take_run_id(args)
    baton().revise(text_of(rest), id)
  end,
  cancel = function(args)
    baton().cancel(args[1])
  end,
  revert = function(args)
    baton().revert(args[1])
  end,
  apply = function(args)
    baton().apply(args[1])
  end,
  runs = function()
    baton().runs()
  end,
  show = function(args)
    baton().show(args[1])
  end,
  answer = function(args)
    local id, rest = take_run_id(args)
    baton().answer(text_of(rest), id)
  end,
  steer = function(args)
    local id, rest = take_run_id(args)
    baton().steer(text_of(rest), id)
  end,
  followup = function(args)
    local id, rest = take_run_id(args)
    baton().followup(text_of(rest), id)
  end,
  trust = function()
    baton().trust()
  end,
}

-- Subcommands whose first argument may be a run id (for completion).
local takes_run = { accept = true, reject = true, revise = true, cancel = true, revert = true, apply = true,
  show = true, answer = true, steer = true, followup = true }

---@param o table the user command's arguments (see nvim_create_user_command)
function M.dispatch(o)
  local fargs = vim.deepcopy(o.fargs or {})
  local name = table.remove(fargs, 1)
  local fn = name and M.subcommands[name]
  if not fn then
    local names = vim.tbl_keys(M.subcommands)
    table.sort(names)
    vim.notify(('Baton: unknown subcommand %q; use one of: %s'):format(name or '', table.concat(names, ', ')),
      vim.log.levels.ERROR)
    return
  end
  fn(fargs, o)
end

function M.complete(arg_lead, cmdline)
  local words = vim.split(cmdline:gsub('^%s*%S+%s*', ''), '%s+')
  if #words <= 1 then
    local names = vim.tbl_keys(M.subcommands)
    table.sort(names)
    return vim.tbl_filter(function(n)
      return vim.startswith(n, arg_lead)
    end, names)
  end
  if #words == 2 and takes_run[words[1]] then
    local ids = {}
    for _, run in ipairs(require('baton.runs').list()) do
      if vim.startswith(run.runId, arg_lead) then
        table.insert(ids, run.runId)
      end
    end
    return ids
  end
  return {}
end

return M
