-- The LSP side: how Baton is started and attached to buffers, which handlers the
-- client gets, and how commands reach the server. Nothing here decides what a
-- person sees; that is ui.lua.
local M = {}

M.name = 'baton'

local has_lsp_config = vim.fn.has('nvim-0.11') == 1 and type(vim.lsp.config) == 'table'

--- The buffer's workspace root, or nil when Baton should not attach to it: only
--- real files (not scratch, terminal or `scheme://` buffers) inside a project
--- (a root marker above them). Baton keeps its journal in `<root>/.baton/`, so
--- opening a stray file must not start it in whatever directory that is.
---@param bufnr integer
---@param markers string[]
---@return string?
function M.root_for(bufnr, markers)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or name:match('^%a[%w+.-]*://') then
    return nil
  end
  return vim.fs.root(bufnr, markers)
end

--- Handlers of this client only; other language servers keep Neovim's defaults.
---@param opts table the merged setup options
local function handlers(opts)
  local ui = require('baton.ui')
  return {
    ['baton/runChanged'] = function(_, notice, ctx)
      ui.on_run_changed(notice, ctx.client_id)
    end,
    ['window/showDocument'] = function(err, params, ctx, config)
      return ui.show_document(err, params, ctx, config)
    end,
    ['workspace/applyEdit'] = function(err, params, ctx, config)
      return require('baton.edits').apply(err, params, ctx, config)
    end,
  }
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  -- Baton shows plans through window/showDocument and delivers edits as
  -- documentChanges with file operations; say so even where defaults differ.
  caps.window = caps.window or {}
  caps.window.showDocument = { support = true }
  caps.window.workDoneProgress = true
  caps.workspace = caps.workspace or {}
  caps.workspace.applyEdit = true
  caps.workspace.workspaceEdit = vim.tbl_extend('force', caps.workspace.workspaceEdit or {}, {
    documentChanges = true,
    resourceOperations = { 'create', 'rename', 'delete' },
  })
  return caps
end

--- The client configuration built from setup options.
---@param opts table
---@return table
function M.lsp_config(opts)
  local env = vim.tbl_extend('force', {}, opts.cmd_env or {})
  if opts.config then
    env.BATON_CONFIG = vim.fn.fnamemodify(vim.fn.expand(opts.config), ':p')
  end
  local init_options = opts.settings and { config = opts.settings } or nil
  return {
    name = M.name,
    cmd = opts.cmd,
    cmd_env = next(env) and env or nil,
    root_markers = opts.root_markers,
    init_options = init_options,
    capabilities = capabilities(),
    handlers = handlers(opts),
    commands = M.commands,
    on_exit = function(code, signal, client_id)
      vim.schedule(function()
        require('baton.ui').on_exit(code, signal, client_id)
      end)
    end,
  }
end

--- Starts (or reuses) Baton for one buffer with an explicit root.
---@param config table
---@param bufnr integer
---@param root string
---@return integer? client_id
local function start_for(config, bufnr, root)
  config = vim.tbl_extend('force', vim.deepcopy(config), { root_dir = root })
  return vim.lsp.start(config, { bufnr = bufnr })
end

--- Registers Baton with Neovim so it attaches to every file buffer.
---@param opts table
function M.register(opts)
  local config = M.lsp_config(opts)
  local markers = opts.root_markers
  local group = vim.api.nvim_create_augroup('baton.attach', { clear = true })

  if has_lsp_config then
    config.root_dir = function(bufnr, on_dir)
      local root = M.root_for(bufnr, markers)
      if root then
        on_dir(root)
      end
    end
    vim.lsp.config(M.name, config)
    vim.lsp.enable(M.name)
    -- vim.lsp.enable attaches on FileType; files with no detected type never
    -- fire it, and Baton works on any file.
    vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
      group = group,
      callback = function(args)
        vim.schedule(function()
          if not vim.api.nvim_buf_is_valid(args.buf) or vim.bo[args.buf].filetype ~= '' then
            return
          end
          local root = M.root_for(args.buf, markers)
          if root and #vim.lsp.get_clients({ bufnr = args.buf, name = M.name }) == 0 then
            local resolved = vim.lsp.config[M.name]
            resolved.root_dir = nil
            start_for(resolved, args.buf, root)
          end
        end)
      end,
    })
  else
    vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile', 'FileType' }, {
      group = group,
      callback = function(args)
        local root = M.root_for(args.buf, markers)
        if root then
          start_for(config, args.buf, root)
        end
      end,
    })
    -- Buffers already open when setup() runs (lazy loading).
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      local root = vim.api.nvim_buf_is_loaded(bufnr) and M.root_for(bufnr, markers)
      if root then
        start_for(config, bufnr, root)
      end
    end
  end
  M._config = config
end

--- The Baton client for `bufnr` (else the one whose root holds the current
--- directory, else any), or nil when none runs.
---@param bufnr integer?
---@return vim.lsp.Client?
function M.get(bufnr)
  local clients = vim.lsp.get_clients({ name = M.name, bufnr = bufnr or 0 })
  if #clients > 0 then
    return clients[1]
  end
  clients = vim.lsp.get_clients({ name = M.name })
  local cwd = vim.fn.getcwd()
  for _, client in ipairs(clients) do
    if client.root_dir and vim.startswith(cwd .. '/', client.root_dir .. '/') then
      return client
    end
  end
  return clients[1]
end

--- The client for `bufnr`, started when none runs yet (`:Baton run` from an
--- empty buffer still needs a server, rooted at the current directory).
---@param bufnr integer?
---@return vim.lsp.Client?
function M.ensure(bufnr)
  local client = M.get(bufnr)
  if client or not M._config then
    return client
  end
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local config = has_lsp_config and vim.deepcopy(vim.lsp.config[M.name]) or vim.deepcopy(M._config)
  local root = M.root_for(bufnr, M._config.root_markers)
  -- An explicit command outside any project: the current directory's project,
  -- else the current directory itself.
  config.root_dir = root or vim.fs.root(vim.fn.getcwd(), M._config.root_markers) or vim.fn.getcwd()
  local attach = root ~= nil
  local id = vim.lsp.start(config, { bufnr = bufnr, attach = attach })
  return id and vim.lsp.get_client_by_id(id) or nil
end

--- Calls `fn(client)` once the client has finished initializing, without
--- blocking the editor; reports a client that never gets there.
---@param client vim.lsp.Client
---@param fn fun(client: vim.lsp.Client)
---@param timeout_ms integer?
function M.when_ready(client, fn, timeout_ms)
  if client.initialized then
    return fn(client)
  end
  local deadline = vim.uv.now() + (timeout_ms or 20000)
  local timer = assert(vim.uv.new_timer())
  timer:start(20, 20, vim.schedule_wrap(function()
    if client.initialized then
      timer:close()
      fn(client)
    elseif client:is_stopped() or vim.uv.now() > deadline then
      timer:close()
      require('baton.ui').notify('the Baton server did not start; see :LspLog and :checkhealth baton',
        vim.log.levels.ERROR)
    end
  end))
end

local function result_handler(command, on_result)
  return function(err, result)
    if err then
      require('baton.ui').notify(
        ('%s failed: %s'):format(command, err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end
end

--- Sends `workspace/executeCommand` straight to the server (not through the
--- client-side commands below, which call this after prompting).
---@param client vim.lsp.Client
---@param command string
---@param argument table
---@param on_result fun(result: any)?
function M.request(client, command, argument, on_result)
  local params = { command = command, arguments = { argument } }
  local handler = result_handler(command, on_result)
  if vim.fn.has('nvim-0.11') == 1 then
    client:request('workspace/executeCommand', params, handler)
  else
    client.request('workspace/executeCommand', params, handler)
  end
end

--- Sends one Baton command (PROTOCOL §4: one object argument) and calls
--- `on_result(result)` on success; errors are shown to the person.
---@param client vim.lsp.Client
---@param command string
---@param argument table
---@param on_result fun(result: any)?
function M.exec(client, command, argument, on_result)
  M.when_ready(client, function()
    -- The typing of every buffer first (Neovim sends only the current one's before a
    -- request): `:Baton accept` typed in the code accepts plan.md as the person left it.
    local ok, changetracking = pcall(require, 'vim.lsp._changetracking')
    if ok and changetracking.flush then
      pcall(changetracking.flush, client)
    end
    if client.exec_cmd then
      local cmd = { title = command, command = command, arguments = { argument } }
      client:exec_cmd(cmd, { bufnr = vim.api.nvim_get_current_buf() }, result_handler(command, on_result))
    else
      M.request(client, command, argument, on_result)
    end
  end)
end

--- Remembers a run the moment the server names it, before its first notice.
local function started(client_id, task)
  return function(result)
    if type(result) == 'table' and result.runId and not require('baton.runs').get(result.runId) then
      require('baton.runs').update({ runId = result.runId, state = 'queued', task = task or '' }, client_id)
    end
  end
end

--- Client-side halves of the selection code actions: Baton's server leaves the
--- text to the client ("clients prompt for the text"), so prompt, then send.
local function selection_command(prompt, required)
  return function(command, ctx)
    local c = vim.lsp.get_client_by_id(ctx.client_id)
    if not c then
      return
    end
    local argument = vim.deepcopy(command.arguments and command.arguments[1] or {})
    vim.ui.input({ prompt = prompt }, function(text)
      if text == nil or (required and vim.trim(text) == '') then
        return
      end
      argument.task = vim.trim(text) ~= '' and text or nil
      M.request(c, command.command, argument, started(c.id, argument.task))
    end)
  end
end

M.commands = {
  ['baton.selection.edit'] = selection_command('Baton: edit this selection: ', true),
  ['baton.selection.ask'] = selection_command('Baton: ask about this selection (empty: explain it): ', false),
}

return M
