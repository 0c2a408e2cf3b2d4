"""Builds the pygls server from its features. No logic lives here.

Start-up is what an editor waits for, so only pygls and lsprotocol are imported before
`initialize` is answered: the engine, configuration and command models load on
`initialized` (or on the first command), off the editor's critical path.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from .command_names import COMMANDS

if TYPE_CHECKING:
    from ..config import Config
    from ..runtime.engine import Engine

log = logging.getLogger(__name__)
READY_WAIT_S = 10.0


class BatonServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("baton", __version__,
                         text_document_sync_kind=t.TextDocumentSyncKind.Incremental)
        self.engine: Engine | None = None
        self.ready: asyncio.Future[Engine] | None = None
        self.init_options: dict[str, Any] = {}
        self.worker: Any = None  # the engine's thread (lsp/worker.py), once initialized


def _root(ls: BatonServer, params: t.InitializeParams) -> Path:
    if params.workspace_folders:
        path = to_fs_path(params.workspace_folders[0].uri)
        if path:
            return Path(path)
    if params.root_uri and (path := to_fs_path(params.root_uri)):
        return Path(path)
    if params.root_path:
        return Path(params.root_path)
    return Path.cwd()


def _config(ls: BatonServer, root: Path) -> Config:
    from ..config import defaults, load_config
    from ..errors import ConfigError
    overrides = ls.init_options.get("config") if isinstance(ls.init_options, dict) else None
    try:
        return load_config(root, overrides if isinstance(overrides, dict) else None)
    except ConfigError as e:
        # A bad setting is shown to the person and the defaults are used.
        ls.window_show_message(t.ShowMessageParams(
            type=t.MessageType.Error, message=f"Baton: {e}. Using the defaults."))
        return defaults()


def build() -> BatonServer:
    ls = BatonServer()
    root_holder: dict[str, Path] = {}

    @ls.feature(t.INITIALIZE)
    def initialize(ls_: BatonServer, params: t.InitializeParams) -> None:
        ls_.init_options = params.initialization_options or {}
        root_holder["root"] = _root(ls_, params)
        ls_.ready = asyncio.get_running_loop().create_future()

    @ls.feature(t.INITIALIZED)
    async def initialized(ls_: BatonServer, params: t.InitializedParams) -> None:
        from ..runtime.engine import Engine
        from .host import LspHost
        from .worker import CrossLoopHost, Worker
        root = root_holder.get("root", Path.cwd())
        try:
            config = await asyncio.to_thread(_config, ls_, root)
            host = CrossLoopHost(LspHost(ls_, root.resolve(), config.limits.client_request_timeout_s),
                                 asyncio.get_running_loop())
            worker = Worker()
            worker.start()
            ls_.worker = worker

            async def start() -> Engine:  # on the engine loop: its tasks and locks live there
                engine = Engine(root, config, host)
                await engine.start()
                return engine
            engine = await worker.run(start())
        except Exception as e:
            log.exception("Baton could not start")
            ls_.window_show_message(t.ShowMessageParams(type=t.MessageType.Error,
                                                        message=f"Baton could not start: {e}"))
            if ls_.ready and not ls_.ready.done():
                ls_.ready.set_exception(e)
            return
        ls_.engine = engine
        if config.offline and any("offline" in o for o in config.origin):
            ls_.window_log_message(t.LogMessageParams(
                type=t.MessageType.Info, message="Baton: " + config.origin[-1]))
        if ls_.ready and not ls_.ready.done():
            ls_.ready.set_result(engine)
        try:
            isolation = await worker.run(engine.probe_isolation())
        except asyncio.CancelledError:  # shut down before the probe finished
            return
        if isolation.layer == "none":
            ls_.window_show_message(t.ShowMessageParams(
                type=t.MessageType.Warning,
                message="Baton: commands from agents will be refused: no sandbox is available "
                        f"here. {isolation.fix} (see `baton doctor`)"))

    async def get_engine() -> Engine:
        if ls.engine is not None:
            return ls.engine
        if ls.ready is None:
            from ..errors import UserInputError  # noqa: PLC0415
            raise UserInputError("Baton is not initialized yet")
        return await asyncio.shield(ls.ready)

    async def on_engine(fn: Any, engine: Engine, arg: Any) -> Any:
        """A command's work runs on the engine loop, like everything that changes runs."""
        async def call() -> Any:
            result = fn(engine, arg)
            return await result if hasattr(result, "__await__") else result
        return await ls.worker.run(call())

    # Each command is registered by name at once (clients see them in the capabilities);
    # the module with their argument models is imported on the first call.
    handlers: dict[str, Any] = {}

    class _Collect:
        def command(self, name: str) -> Any:
            def keep(fn: Any) -> Any:
                handlers[name] = fn
                return fn
            return keep

    def lazy(name: str) -> Any:
        async def handler(ls: Any, *args: Any) -> Any:  # `ls` by name: pygls injects it
            if not handlers:
                from . import commands
                commands.register(_Collect(), get_engine, on_engine)
            return await handlers[name](ls, *args)
        return handler

    for name in COMMANDS:
        ls.command(name)(lazy(name))

    @ls.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(
        code_action_kinds=[t.CodeActionKind.QuickFix], resolve_provider=False))
    async def code_action(ls_: BatonServer, params: t.CodeActionParams) -> list[t.CodeAction] | None:
        # Only right after start-up can this wait (for the engine); later it answers from memory.
        if ls_.engine is None:
            try:
                await asyncio.wait_for(get_engine(), READY_WAIT_S)
            except Exception:
                return None
        if ls_.engine is None:
            return None
        from . import actions
        return actions.code_actions(ls_.engine, params) or None

    @ls.feature(t.SHUTDOWN)
    async def shutdown(ls_: BatonServer, params: Any) -> None:
        if ls_.engine is not None:
            engine, ls_.engine = ls_.engine, None
            await ls_.worker.run(engine.close())
            await ls_.worker.stop()

    return ls
