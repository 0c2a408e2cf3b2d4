-- Defines :Baton and nothing else; the plugin's modules load on first use.
if vim.g.loaded_baton then
  return
end
vim.g.loaded_baton = true

vim.api.nvim_create_user_command('Baton', function(o)
  require('baton.commands').dispatch(o)
end, {
  nargs = '*',
  range = true,
  desc = 'Baton: run AI coding agents (:Baton run|accept|reject|revise|cancel|revert|runs|answer|steer|followup|trust)',
  complete = function(arg_lead, cmdline)
    return require('baton.commands').complete(arg_lead, cmdline)
  end,
})
