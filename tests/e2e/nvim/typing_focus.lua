-- While the person types in Insert mode, Baton never takes the cursor: the plan
-- opens in a split but focus and Insert mode stay, and a question waits until
-- they are back in Normal mode before prompting. `nvim -l` cannot be in Insert
-- mode, so this drives a second, embedded Neovim over RPC, feeding real keys.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()
local helpers_path = vim.fs.dirname(arg[0]) .. '/helpers.lua'

local chan = vim.fn.jobstart({ vim.v.progpath, '--embed', '--headless', '--clean' }, { rpc = true })
H.check(chan > 0, 'the embedded Neovim started')

--- Runs Lua in the embedded Neovim and returns its result.
local function child(code, ...)
  return vim.rpcrequest(chan, 'nvim_exec_lua', code, { ... })
end

local function child_mode()
  return vim.rpcrequest(chan, 'nvim_get_mode').mode
end

child([[
  local helpers = ...
  arg = { [0] = helpers }
  _G.H = dofile(helpers)
  H.init({ input = function() return 'seven' end })
  local _, config = H.workspace({ ['a.py'] = 'x = 1\n' }, {
    classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
    planner = { { tool_calls = { { name = 'submit_plan', arguments = { summary = 'Set x', steps = { 'x = 7' }, files = { 'a.py' } } } } } },
    implementer = {
      { tool_calls = { { name = 'ask_user', arguments = { question = 'Which value for x?' } } } },
      { tool_calls = { { name = 'edit_file', arguments = { path = 'a.py', old = 'x = 1', new = 'x = 7' } } } },
      { tool_calls = { { name = 'finish', arguments = { summary = 'done' } } } },
    },
    reviewer = { { tool_calls = { { name = 'submit_review', arguments = { verdict = 'approve', findings = {} } } } } },
  })
  require('baton').setup({ config = config })
  vim.cmd.edit('a.py')
  vim.cmd('normal! G')
]], helpers_path)

H.wait('the Baton client in the embedded Neovim', function()
  return child([[local c = vim.lsp.get_clients({ name = 'baton', bufnr = 0 })[1]; return c and c.initialized]])
end, 20000)
local src_win = child('return vim.api.nvim_get_current_win()')

-- Start typing a new line, then start the run while still in Insert mode.
vim.rpcrequest(chan, 'nvim_input', 'o# typing')
H.wait('Insert mode in the embedded Neovim', function()
  return child_mode() == 'i'
end)
child([[vim.cmd('Baton run Set x')]])
H.wait('plan.md shown in the embedded Neovim', function()
  return child([[return H.window_with('plan.md') ~= nil]])
end)
H.eq('i', child_mode(), 'mode after the plan was shown')
H.eq(src_win, child('return vim.api.nvim_get_current_win()'), 'focused window after the plan was shown')
vim.rpcrequest(chan, 'nvim_input', ' more')

-- Accept while still typing; the implementer's question must not interrupt.
child([[vim.cmd('Baton accept')]])
H.wait('the question in the embedded Neovim', function()
  return child([[local r = require('baton.runs').list()[1]; return r and r.state == 'awaiting_input']])
end)
H.eq(0, child('return #H.inputs'), 'prompts shown while typing')
H.eq('i', child_mode(), 'mode while the question waits')

vim.rpcrequest(chan, 'nvim_input', '<Esc>')
H.wait('the prompt once back in Normal mode', function()
  return child('return #H.inputs') == 1
end)
H.wait('the run done', function()
  return child([[local r = require('baton.runs').list()[1]; return r and r.state == 'done']])
end)
H.wait('the edit in the embedded buffer', function()
  return vim.deep_equal(child([[return vim.api.nvim_buf_get_lines(0, 0, -1, false)]]), { 'x = 7', '# typing more' })
end)
H.eq('Baton asks: Which value for x? ', child('return H.inputs[1].prompt'), 'the question prompt')
vim.fn.jobstop(chan)
H.done()
