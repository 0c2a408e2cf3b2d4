-- What the person sees: state changes as notifications, the plan in a split that
-- does not take focus, questions as prompts, edits through Neovim's own
-- workspace-edit handler, and run details in a scratch buffer.
local runs = require('baton.runs')

local M = {}

local levels = vim.log.levels

local function opts()
  return require('baton').config
end

---@param msg string
---@param level integer?
function M.notify(msg, level)
  level = level or levels.INFO
  if level < (opts().notify_level or levels.INFO) then
    return
  end
  vim.notify('Baton: ' .. msg, level, { title = 'Baton' })
end

-- How each state is announced; states not listed here (the working phases) go
-- to the LSP progress that fidget.nvim and statuslines show, not to notify.
local announce = {
  awaiting_approval = { levels.INFO, 'plan ready: :Baton accept, :Baton revise {feedback} or :Baton reject' },
  awaiting_apply = { levels.INFO, 'changes ready to apply: :Baton accept (applies) or :Baton reject' },
  awaiting_input = { levels.WARN, 'asks: %s' },
  done = { levels.INFO, 'done' },
  rejected = { levels.WARN, 'rejected' },
  cancelled = { levels.WARN, 'cancelled' },
  failed = { levels.ERROR, 'failed: %s' },
}

local function short(task)
  task = (task or ''):gsub('%s+', ' ')
  if #task > 48 then
    task = vim.fn.strcharpart(task, 0, 45) .. '…'
  end
  return task
end

--- Handles `baton/runChanged`.
---@param notice table
---@param client_id integer?
function M.on_run_changed(notice, client_id)
  if type(notice) ~= 'table' or not notice.runId then
    return
  end
  local before = runs.get(notice.runId)
  local asked = before and before.state == 'awaiting_input' and before.question and before.question.text
  local was_held = before and before.held or 0
  local was_verified = before and before.verify and before.verify.summary
  local run, previous = runs.update(notice, client_id)
  if type(run.verify) == 'table' and run.verify.summary ~= was_verified then
    local verdict = run.verify.passed and 'verify passed' or 'verify did not pass'
    M.notify(('“%s” %s: %s'):format(short(run.task), verdict, run.verify.summary),
      run.verify.passed and levels.INFO or levels.WARN)
  end
  local new_question = run.state == 'awaiting_input' and run.question and run.question.text ~= asked
  local head = ('“%s” '):format(short(run.task))
  local held = run.held and ('%d hunk(s) held back where you changed the same lines'):format(run.held)
  if previous == run.state and not new_question then
    if held and run.held ~= was_held then
      M.notify(head .. held, levels.WARN)
    end
    return
  end
  local spec = announce[run.state]
  if spec then
    local detail = spec[2]
    if run.state == 'awaiting_apply' and held then
      detail = held .. ': apply or reject them in changes.diff (:Baton accept applies all)'
    elseif run.state == 'awaiting_input' then
      detail = detail:format(run.question and run.question.text or '(no question text)')
    elseif run.state == 'failed' then
      detail = detail:format(run.error or run.reason or 'no reason given')
    elseif run.reason and (run.state == 'rejected' or run.state == 'cancelled') then
      detail = detail .. ': ' .. run.reason
    end
    -- What the run did, where the person looks when it ends or waits to be applied.
    local did = M.summary_line(run.summary)
    if did and (runs.TERMINAL[run.state] or run.state == 'awaiting_apply') then
      detail = ('%s — %s (:Baton show for details)'):format(detail, did)
    end
    M.notify(head .. detail, spec[1])
  else
    M.notify(head .. run.state, levels.DEBUG)
  end
  if new_question then
    M.ask_when_idle(run)
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'BatonRunChanged', modeline = false, data = run })
end

--- Prompts for a question's answer, but never while the person is typing: in
--- insert or command-line mode the prompt waits until they are back in normal mode.
---@param run baton.Run
function M.ask_when_idle(run)
  if not opts().prompt_on_question then
    return
  end
  -- With options Baton also asks through window/showMessageRequest, which
  -- Neovim already answers with vim.ui.select; prompting too would ask twice.
  if run.question.options and #run.question.options > 0 then
    return
  end
  local text = run.question.text
  local function ask()
    local current = runs.get(run.runId)
    if not current or current.state ~= 'awaiting_input' or not current.question or current.question.text ~= text then
      return
    end
    M.prompt_answer(current, function(answer)
      if answer then
        require('baton').answer(answer, current.runId)
      else
        M.notify('answer later with :Baton answer {text}', levels.INFO)
      end
    end)
  end
  if vim.api.nvim_get_mode().mode:match('^n') then
    ask()
  else
    vim.api.nvim_create_autocmd('ModeChanged', {
      pattern = '*:n',
      once = true,
      callback = function()
        vim.schedule(ask)
      end,
    })
  end
end

--- Asks the person for the answer to `run.question`: a pick among its options
--- (plus free text), or a line of text.
---@param run baton.Run
---@param on_answer fun(answer: string?)
function M.prompt_answer(run, on_answer)
  local question = run.question or { text = 'Answer' }
  local options = question.options
  if options and options ~= vim.NIL and #options > 0 then
    local other = 'Something else…'
    local items = vim.list_extend(vim.deepcopy(options), { other })
    vim.ui.select(items, { prompt = 'Baton asks: ' .. question.text, kind = 'baton.question' }, function(choice)
      if choice == other then
        vim.ui.input({ prompt = question.text .. ' ' }, on_answer)
      else
        on_answer(choice)
      end
    end)
  else
    vim.ui.input({ prompt = 'Baton asks: ' .. question.text .. ' ' }, function(text)
      on_answer(text ~= nil and text ~= '' and text or nil)
    end)
  end
end

local function window_of(bufnr)
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(win) == bufnr then
      return win
    end
  end
end

--- Reloads an unmodified buffer whose file Baton rewrote (a revised plan), keeping
--- undo history; a buffer the person edited is left alone and they are told.
local function refresh_from_disk(bufnr)
  local fname = vim.api.nvim_buf_get_name(bufnr)
  if vim.fn.filereadable(fname) == 0 then
    return
  end
  local lines = vim.fn.readfile(fname)
  local current = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  if vim.deep_equal(lines, current) then
    return
  end
  if vim.bo[bufnr].modified then
    M.notify(vim.fn.fnamemodify(fname, ':~:.') .. ' changed on disk; your edits are kept (:e! loads it)', levels.WARN)
    return
  end
  -- A real reload, so Neovim also learns the file's new time and a later :w
  -- does not warn that the file changed since it was read.
  vim.bo[bufnr].autoread = true
  vim.cmd('silent! checktime ' .. bufnr)
  if not vim.deep_equal(lines, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) then
    vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
    vim.bo[bufnr].modified = false
  end
end

--- `window/showDocument` for Baton: a plan or answer opens in a split and the
--- cursor stays where the person is working (unless the server asks for focus
--- and they are not typing).
function M.show_document(err, params, ctx, config)
  if params.external then
    return vim.lsp.handlers['window/showDocument'](err, params, ctx, config)
  end
  local bufnr = vim.uri_to_bufnr(params.uri)
  local was_loaded = vim.api.nvim_buf_is_loaded(bufnr)
  vim.fn.bufload(bufnr)
  vim.bo[bufnr].buflisted = true
  if was_loaded then
    refresh_from_disk(bufnr)
  end
  local win = window_of(bufnr)
  if not win then
    local split = opts().split
    local size = (split == 'left' or split == 'right') and math.floor(vim.o.columns / 2)
      or math.max(5, math.floor(vim.o.lines / 3))
    local config_win = { split = split, win = -1 }
    if split == 'left' or split == 'right' then
      config_win.width = size
    else
      config_win.height = size
    end
    win = vim.api.nvim_open_win(bufnr, false, config_win)
  end
  local typing = not vim.api.nvim_get_mode().mode:match('^n')
  if params.takeFocus and not typing then
    vim.api.nvim_set_current_win(win)
  end
  if params.selection then
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    local line = params.selection.start.line
    local col = vim.lsp.util._get_line_byte_from_position
        and vim.lsp.util._get_line_byte_from_position(bufnr, params.selection.start, client and client.offset_encoding or 'utf-16')
      or 0
    pcall(vim.api.nvim_win_set_cursor, win, { line + 1, col })
  end
  return { success = true }
end

--- Tells the person when the server went away unexpectedly.
function M.on_exit(code, signal, _)
  if (code and code ~= 0) or (signal and signal ~= 0) then
    M.notify(('the server exited (code %s, signal %s); see :LspLog'):format(code, signal), levels.ERROR)
  end
end

-- What each state is called on screen (the VS Code extension says the same words).
local STATE_WORDS = {
  classifying = 'reading the task…',
  planning = 'planning…',
  awaiting_input = 'question waiting for you',
  awaiting_approval = 'plan waiting for you',
  implementing = 'implementing…',
  verifying = 'verifying…',
  reviewing = 'reviewing…',
  awaiting_apply = 'changes waiting for you',
}

--- A run's state in words a person uses ("plan waiting for you", not awaiting_approval).
---@param state string?
---@return string
function M.state_words(state)
  return STATE_WORDS[state] or tostring(state or '?'):gsub('_', ' ')
end

--- A run's creation time (epoch seconds) as a person reads it.
---@param epoch number?
---@return string?
function M.date(epoch)
  if type(epoch) ~= 'number' or epoch <= 0 then
    return nil
  end
  return os.date('%Y-%m-%d %H:%M', math.floor(epoch))
end

local function given(value)
  if value == nil or value == vim.NIL or value == '' then
    return nil
  end
  return value
end

local function tokens(n)
  return n >= 1000 and ('%.1fk'):format(n / 1000) or tostring(n)
end

--- "1.2k tokens, $0.0012" for one role's usage; a model with no price is "cost
--- unknown", never $0 (as the server's pricing.cost_text says it).
local function usage_text(u)
  local cost = tonumber(u.cost_usd) or 0
  local unpriced = tonumber(u.unpriced_tokens) or 0
  local costs = {}
  if cost > 0 then
    table.insert(costs, ('$%.4f'):format(cost))
  end
  if unpriced > 0 then
    table.insert(costs, ('cost unknown for %s tokens'):format(tokens(unpriced)))
  end
  local text = tokens((tonumber(u.input_tokens) or 0) + (tonumber(u.output_tokens) or 0)) .. ' tokens'
  return #costs > 0 and (text .. ', ' .. table.concat(costs, ' + ')) or text
end

--- What a run did, in one line: "hello() greets by name. 1 file changed (hello.py) ·
--- review: approved · 1 finding" (the `summary` of runChanged, baton.runs and baton.run.show).
---@param summary table?
---@return string?
function M.summary_line(summary)
  if type(summary) ~= 'table' then
    return nil
  end
  local parts = {}
  local files = type(summary.files) == 'table' and summary.files or {}
  if #files > 0 then
    local names = table.concat(vim.list_slice(files, 1, 3), ', ') .. (#files > 3 and ', …' or '')
    table.insert(parts, ('%d file%s changed (%s)'):format(#files, #files == 1 and '' or 's', names))
  end
  local verdict = given(summary.verdict)
  if verdict then
    table.insert(parts, 'review: ' .. (verdict == 'approve' and 'approved' or 'changes requested'))
  end
  local findings = tonumber(summary.findings) or 0
  if findings > 0 then
    table.insert(parts, ('%d finding%s'):format(findings, findings == 1 and '' or 's'))
  end
  local text = given(summary.text) and vim.trim(tostring(summary.text):gsub('%s+', ' ')) or nil
  local tail = table.concat(parts, ' · ')
  if text and tail ~= '' then
    return (text:match('[.!?]$') and text or text .. '.') .. ' ' .. tail
  end
  return text or (tail ~= '' and tail or nil)
end

local function section(lines, title, body)
  if #body > 0 then
    vim.list_extend(lines, { '', '## ' .. title, '' })
    vim.list_extend(lines, body)
  end
end

--- "- item" lines for a list field of the run (nothing when it is not a list).
local function bullets(list)
  local out = {}
  for _, item in ipairs(type(list) == 'table' and list or {}) do
    table.insert(out, '- ' .. tostring(item))
  end
  return out
end

local function text_lines(text)
  return given(text) and vim.split(tostring(text), '\n', { plain = true }) or {}
end

--- Renders the result of `baton.run.show` as Markdown a person reads: what the run is
--- and did, what waits, its plan or answer, files, findings, usage and steps; no raw
--- fields (times are dates).
---@param run table
---@return string[]
function M.render_run(run)
  local lines = { ('# %s'):format(given(run.task) or run.runId or 'run'), '' }
  local function field(label, value)
    if given(value) then
      table.insert(lines, ('- %s: %s'):format(label, tostring(value)))
    end
  end
  field('State', run.state and M.state_words(run.state))
  local route = given(run.route)
  field('Route', route and (route .. (given(run.routeReason) and (' (' .. run.routeReason .. ')') or '')))
  field('Started', M.date(run.createdAt))
  field('Run', run.runId)
  field('Follow-up of', run.parentRunId)
  field('Error', run.error)
  field('Held back', given(run.held) and run.held ~= 0 and (run.held .. ' hunk(s) in changes.diff') or nil)
  field('Reverted', run.reverted == true and 'yes' or nil)

  local summary = {}
  local line = M.summary_line(run.summary)
  if line then
    table.insert(summary, line)
  end
  section(lines, 'Summary', summary)

  local waiting = {}
  if type(run.question) == 'table' and given(run.question.text) then
    table.insert(waiting, 'Question: ' .. run.question.text)
    if type(run.question.options) == 'table' and #run.question.options > 0 then
      table.insert(waiting, 'Options: ' .. table.concat(run.question.options, ', '))
    end
  end
  section(lines, 'Waiting for you', waiting)
  -- Quoted, so the plan's own headings stay inside its section.
  section(lines, 'Plan', vim.tbl_map(function(l)
    return l == '' and '>' or '> ' .. l
  end, text_lines(run.plan)))
  section(lines, 'Answer', text_lines(run.answer))

  section(lines, 'Files changed', bullets(run.files))

  local findings = {}
  local reviews = type(run.reviews) == 'table' and run.reviews or {}
  local last = reviews[#reviews]
  if type(last) == 'table' then
    table.insert(findings, 'Verdict: ' .. (last.verdict == 'approve' and 'approved' or 'changes requested'))
    for _, f in ipairs(type(last.findings) == 'table' and last.findings or {}) do
      table.insert(findings, ('- %s:%s [%s] %s'):format(f.path, f.line, f.severity, tostring(f.message):gsub('%s+', ' ')))
    end
  end
  section(lines, 'Review', findings)

  if type(run.verify) == 'table' then
    section(lines, 'Verify', { ('%s: %s'):format(run.verify.passed and 'passed' or 'did not pass', run.verify.summary or '') })
  end

  local usage = {}
  local roles = vim.tbl_keys(type(run.usage) == 'table' and run.usage or {})
  table.sort(roles)
  for _, role in ipairs(roles) do
    table.insert(usage, ('- %s: %s'):format(role, usage_text(run.usage[role])))
  end
  section(lines, 'Usage', usage)

  section(lines, 'Follow-ups', bullets(run.children))
  section(lines, 'Steps', bullets(run.events))
  return lines
end

--- Shows a run in a read-only scratch buffer (the person asked for it, so it takes focus).
---@param run table
function M.show_run(run)
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.bo[bufnr].bufhidden = 'wipe'
  local lines = {}
  for _, line in ipairs(M.render_run(run)) do
    vim.list_extend(lines, vim.split(line, '\n', { plain = true }))
  end
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].filetype = 'markdown'
  pcall(vim.api.nvim_buf_set_name, bufnr, 'baton://run/' .. tostring(run.runId or bufnr))
  vim.api.nvim_open_win(bufnr, true, { split = opts().split, win = -1 })
  return bufnr
end

--- Lets the person pick one of `list` (the result of `baton.runs`).
---@param list table[]
---@param on_choice fun(run: table?)
function M.select_run(list, on_choice)
  vim.ui.select(list, {
    prompt = 'Baton runs',
    kind = 'baton.run',
    format_item = function(run)
      return ('%-24s %-5s %-16s %s  (%s)'):format(M.state_words(run.state), run.route ~= vim.NIL and run.route or '-',
        M.date(run.createdAt) or '', short(run.task), run.runId)
    end,
  }, on_choice)
end

return M
