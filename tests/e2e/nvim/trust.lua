-- A workspace whose own .baton/config.toml names its provider (no BATON_CONFIG):
-- Baton starts on it untrusted, says so through window/showMessageRequest, which
-- Neovim asks with vim.ui.select; "Trust this configuration" makes the file's
-- provider apply at once (the run plays the workspace's script, not the demo).
-- Changed afterwards, `:Baton trust` trusts the new content.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init({
  select = function(labels, opts)
    if opts.prompt and opts.prompt:find('not trusted', 1, true) then
      return H.index_of(labels, '^Trust this configuration$')
    end
  end,
})

local ws = H.tmp .. '/ws'
vim.fn.mkdir(ws .. '/.git', 'p')
vim.fn.mkdir(ws .. '/.baton', 'p')
local function write(path, text)
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
end
write(ws .. '/a.py', 'x = 1\n')
write(ws .. '/.baton/script.json', vim.json.encode({
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'plan', reason = 'test' } } } } },
  planner = { { tool_calls = { { name = 'submit_plan', arguments = {
    summary = 'The workspace script plans this', steps = { 'x = 2' }, files = { 'a.py' } } } } } },
}))
local config = ws .. '/.baton/config.toml'
write(config, '[providers.mine]\nkind = "scripted"\nscript = "script.json"\n')
vim.cmd.cd(ws)
H.ws = ws
require('baton').setup({})

vim.cmd.edit('a.py')
H.client()
H.wait('the trust prompt', function()
  return vim.iter(H.selects):any(function(s)
    return s.prompt and s.prompt:find('not trusted', 1, true)
  end)
end)
local prompt = vim.iter(H.selects):find(function(s)
  return s.prompt and s.prompt:find('not trusted', 1, true)
end)
H.check(prompt.prompt:find(config, 1, true), 'the prompt names the file: ' .. prompt.prompt)
H.check(prompt.prompt:find('[providers]', 1, true), 'the prompt names what is ignored: ' .. prompt.prompt)
H.eq({ 'Trust this configuration', 'Not now' }, prompt.items, 'the prompt actions')
-- Neovim shows window/showMessage in :messages.
H.wait('the confirmation', function()
  local messages = vim.api.nvim_exec2('messages', { output = true }).output
  return messages:find('Baton trusts ' .. config, 1, true)
end)

vim.cmd('Baton run Change x')
local run = H.expect_state('awaiting_approval')
local shown = H.show(run.runId)
H.check(vim.inspect(shown):find('The workspace script plans this', 1, true),
  'the run used the trusted workspace provider: ' .. vim.inspect(shown))

-- A change (say, a git pull) and :Baton trust records the new content.
local changed = '[providers.mine]\nkind = "scripted"\nscript = "script.json"\n# pulled\n'
write(config, changed)
local before = #H.notes
vim.cmd('Baton trust')
H.wait(':Baton trust to confirm', function()
  for i = before + 1, #H.notes do
    if H.notes[i].msg:find('trusts', 1, true) then
      return true
    end
  end
end)
local store = vim.json.decode(H.read(os.getenv('XDG_CONFIG_HOME') .. '/baton/trusted.json'))
H.eq(vim.fn.sha256(changed), store.files[config].sha256, 'the trusted digest is the new content')
H.no_failures()
H.done()
