-- :checkhealth baton reports Neovim, the server and what `baton doctor` says.
local H = dofile(vim.fs.dirname(arg[0]) .. '/helpers.lua')
H.init()

local _, config = H.workspace({ ['a.py'] = 'x = 1\n' }, {
  classifier = { { tool_calls = { { name = 'classify', arguments = { route = 'ask', reason = 'test' } } } } },
  planner = { { text = 'hi' } },
})
require('baton').setup({ config = config })

vim.cmd('checkhealth baton')
local text = H.buf_text(0)
io.stdout:write(text .. '\n')
local v = vim.version()
for _, want in ipairs({
  ('OK Neovim %d.%d.%d'):format(v.major, v.minor, v.patch),
  'OK server command: baton serve',
  'OK Baton ',
  'provider offline: kind=scripted',
  'role planner: offline',
  'isolation layer for commands: ',
  'edits mode: stream',
}) do
  H.check(text:find(want, 1, true), ('the health report contains %q:\n%s'):format(want, text))
end
H.check(not text:find('ERROR', 1, true), 'the health report has no ERROR:\n' .. text)

-- A server that is not installed is an error with the fix.
require('baton').setup({ cmd = { 'baton-not-installed', 'serve' } })
vim.cmd('checkhealth baton')
text = H.buf_text(0)
H.check(text:find('ERROR server command "baton-not-installed" not found', 1, true)
  and text:find('cmd = {', 1, true), 'the report of a missing server:\n' .. text)
H.done()
