-- Baton in Neovim 0.11+ with nothing but the built-in client (no plugin).
-- Put this in your init.lua; `baton` must be on your PATH.
-- (The plugin in clients/nvim does more: :Baton commands, prompts, :checkhealth.)

vim.lsp.config('baton', {
  cmd = { 'baton', 'serve' },
  -- Baton works in the project of the file you open; without a .git (or .baton)
  -- above it, Baton says so and works nowhere.
  root_markers = { '.git', '.baton' },
  handlers = {
    -- Every state change of a run. Neovim ignores unknown notifications; this
    -- says the states that need you.
    ['baton/runChanged'] = function(_, run)
      local say = {
        awaiting_approval = 'plan ready: open it, then code action "Accept plan"',
        awaiting_input = 'asks: ' .. (run.question and run.question.text or '')
          .. ' (:BatonAnswer ' .. run.runId .. ' {answer})',
        awaiting_apply = 'changes held: code action "Apply changes" in changes.diff',
        done = 'done', failed = 'failed: ' .. tostring(run.error),
      }
      if say[run.state] then
        vim.notify(('Baton %s %s'):format(run.runId, say[run.state]))
      end
    end,
  },
})
vim.lsp.enable('baton')

--- Runs a Baton command (workspace/executeCommand) with one object argument.
local function baton(command, arg, on_result)
  local client = vim.lsp.get_clients({ name = 'baton' })[1]
  if not client then
    return vim.notify('Baton is not running: open a file of your project', vim.log.levels.WARN)
  end
  client:exec_cmd({ title = command, command = command, arguments = { arg } }, { bufnr = 0 },
    function(err, result)
      if err then
        vim.notify('Baton: ' .. err.message, vim.log.levels.ERROR)
      elseif on_result then
        on_result(result)
      end
    end)
end

-- :[range]BatonRun {task}   a run on this file (the selected lines as context)
vim.api.nvim_create_user_command('BatonRun', function(o)
  local arg = { task = o.args, uri = vim.uri_from_bufnr(0) }
  if o.range > 0 then
    arg.range = { start = { line = o.line1 - 1, character = 0 }, ['end'] = { line = o.line2, character = 0 } }
  end
  baton('baton.run', arg, function(r)
    vim.g.baton_last_run = r.runId
    vim.notify('Baton run ' .. r.runId)
  end)
end, { nargs = '+', range = true })

-- :BatonAnswer {runId} {answer}, :BatonRevert [runId], :BatonCancel [runId]
vim.api.nvim_create_user_command('BatonAnswer', function(o)
  baton('baton.run.answer', { runId = o.fargs[1], answer = table.concat(o.fargs, ' ', 2) })
end, { nargs = '+' })
vim.api.nvim_create_user_command('BatonRevert', function(o)
  baton('baton.run.revert', { runId = o.args ~= '' and o.args or vim.g.baton_last_run })
end, { nargs = '?' })
vim.api.nvim_create_user_command('BatonCancel', function(o)
  baton('baton.run.cancel', { runId = o.args ~= '' and o.args or vim.g.baton_last_run })
end, { nargs = '?' })
