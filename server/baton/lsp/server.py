"""Builds the pygls server from its features. No logic lives here.

This process only answers the editor. The engine (runs, agents, journal) lives in a
child process started on `initialized` (lsp/engine_process.py, reached through
lsp/engine_link.py), so agent work never holds the interpreter an editor request waits
on. Start-up is what an editor waits for: only pygls and lsprotocol are imported here.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from .command_names import COMMANDS

if TYPE_CHECKING:
    from .engine_link import EngineLink

log = logging.getLogger(__name__)
READY_WAIT_S = 10.0


class BatonServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("baton", __version__,
                         text_document_sync_kind=t.TextDocumentSyncKind.Incremental)
        self.link: EngineLink | None = None  # the engine process, once initialized
        self.init_options: dict[str, Any] = {}


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


def build() -> BatonServer:
    ls = BatonServer()
    root_holder: dict[str, Path] = {}
    started = asyncio.Event()  # set once the link exists (not once the engine is up)

    @ls.feature(t.INITIALIZE)
    def initialize(ls_: BatonServer, params: t.InitializeParams) -> None:
        ls_.init_options = params.initialization_options or {}
        root_holder["root"] = _root(ls_, params)

    @ls.feature(t.INITIALIZED)
    async def initialized(ls_: BatonServer, params: t.InitializedParams) -> None:
        from .engine_link import EngineLink
        ws = ls_.client_capabilities.workspace
        enc = ls_.workspace.position_encoding or "utf-16"
        overrides = ls_.init_options.get("config") if isinstance(ls_.init_options, dict) else None
        ls_.link = EngineLink(
            ls_, root_holder.get("root", Path.cwd()).resolve(), encoding=getattr(enc, "value", enc),
            annotations=bool(ws and ws.workspace_edit and ws.workspace_edit.change_annotation_support),
            config=overrides if isinstance(overrides, dict) else None)
        started.set()
        await ls_.link.start()

    async def link() -> EngineLink:
        if ls.link is None:
            if ls.client_capabilities is None:
                raise JsonRpcException("Baton is not initialized yet", code=-32002)
            await asyncio.wait_for(started.wait(), READY_WAIT_S)
        assert ls.link is not None
        return ls.link

    # Document sync is pygls's; each change is also forwarded, in order, to the engine's mirror.
    @ls.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls_: BatonServer, params: t.DidOpenTextDocumentParams) -> None:
        if ls_.link is not None:
            ls_.link.did_open(params)

    @ls.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls_: BatonServer, params: t.DidChangeTextDocumentParams) -> None:
        if ls_.link is not None:
            ls_.link.did_change(params)

    @ls.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls_: BatonServer, params: t.DidCloseTextDocumentParams) -> None:
        if ls_.link is not None:
            ls_.link.did_close(params)

    # Commands are registered by name (clients see them in the capabilities); their
    # arguments are parsed and carried out in the engine process.
    def forward(name: str) -> Any:
        async def handler(ls: Any, *args: Any) -> Any:  # `ls` by name: pygls injects it
            return await (await link()).command(name, list(args))
        return handler

    for name in COMMANDS:
        ls.command(name)(forward(name))

    async def engine_up() -> bool:
        try:
            link_ = await link()
            await asyncio.wait_for(link_.wait_ready(), READY_WAIT_S)
            return True
        except Exception:
            return False

    # A generator handler: answered in the same turn of the loop that read the request
    # (a coroutine would wait for a task step behind whatever else is scheduled). Only
    # right after start-up does it yield, to wait for the engine.
    @ls.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(
        code_action_kinds=[t.CodeActionKind.QuickFix], resolve_provider=False))
    def code_action(ls_: BatonServer, params: t.CodeActionParams) -> Any:
        if ls_.link is None or not ls_.link.ready:
            if not (yield engine_up, (), {}):
                return None
        assert ls_.link is not None
        from . import actions
        return actions.code_actions(ls_.link.runs_dir, ls_.link.states, ls_.workspace, params) or None

    @ls.feature(t.SHUTDOWN)
    async def shutdown(ls_: BatonServer, params: Any) -> None:
        if ls_.link is not None:
            await ls_.link.close()

    return ls
