"""Builds the pygls server from its features. No logic lives here.

This process only answers the editor. The engine (runs, agents, journal) lives in a
child process started on `initialized` (lsp/engine_process.py, reached through
lsp/engine_link.py), so agent work never holds the interpreter an editor request waits
on; when the client named no root, it starts with the first document opened in a project
(lsp/workspace_root.py), and until then every command answers why. Start-up is what an
editor waits for: only pygls and lsprotocol are imported here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from .. import __version__
from .client_support import ClientSupport, reads_in_chunks, settle_encodings
from .command_names import COMMANDS, NOT_READY
from .logs import MESSAGE_TYPES, to_client
from .stdio import TickWriter
from .workspace_root import NO_ROOT, declared_root, project_of

if TYPE_CHECKING:
    from .engine_link import EngineLink

log = logging.getLogger(__name__)
READY_WAIT_S = 10.0


class BatonProtocol(LanguageServerProtocol):
    @lsp_method(t.INITIALIZE)
    def lsp_initialize(self, params: t.InitializeParams) -> Any:
        settle_encodings(params)  # before pygls negotiates the position encoding from them
        return (yield from super().lsp_initialize(params))

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        super()._send_response(msg_id, result, error)
        if isinstance(self.writer, TickWriter):  # a response ends its write
            self.writer.responded()

    # What the engine process built (an edit, diagnostics) arrives as JSON and leaves as it
    # is: pygls's own send_request and notify want lsprotocol objects for a known method,
    # which would parse the JSON only to write it out again. The client's answer is parsed
    # as pygls parses any answer (the method's result type).
    def send_json_request(self, method: str, params: dict[str, Any]) -> asyncio.Future[Any]:
        msg_id = str(uuid.uuid4())
        future: Future[Any] = Future()
        self._request_futures[msg_id] = future
        self._result_types[msg_id] = self.get_result_type(method)
        self._send_data(JsonRPCRequestMessage(id=msg_id, method=method, params=params,
                                              jsonrpc=self.VERSION))
        return asyncio.wrap_future(future)

    def send_json_notification(self, method: str, params: dict[str, Any]) -> None:
        self._send_data(JsonRPCNotification(method=method, params=params, jsonrpc=self.VERSION))


class BatonServer(LanguageServer):
    protocol: BatonProtocol  # protocol_cls below

    def __init__(self) -> None:
        super().__init__("baton", __version__, protocol_cls=BatonProtocol,
                         text_document_sync_kind=t.TextDocumentSyncKind.Incremental)
        self.link: EngineLink | None = None  # the engine process, once it has a root
        self.init_options: dict[str, Any] = {}
        self.root: Path | None = None  # lsp/workspace_root.py
        self.initialized = False
        self.told_no_root = False
        self.starting: asyncio.Task[None] | None = None


def build() -> BatonServer:
    ls = BatonServer()
    started = asyncio.Event()  # set once the link exists (not once the engine is up)

    @ls.feature(t.INITIALIZE)
    def initialize(ls_: BatonServer, params: t.InitializeParams) -> None:
        ls_.init_options = params.initialization_options or {}
        ls_.root = declared_root(params)
        if isinstance(ls_.protocol.writer, TickWriter):
            ls_.protocol.writer.careful = reads_in_chunks(params)
        to_client(lambda kind, text: ls_.window_log_message(t.LogMessageParams(
            type=MESSAGE_TYPES[kind], message=text)))

    def start(ls_: BatonServer) -> None:
        """Start the engine on the root, once there is one (module lsp/workspace_root.py)."""
        from .engine_link import EngineLink
        assert ls_.root is not None
        enc = ls_.workspace.position_encoding or "utf-16"
        overrides = ls_.init_options.get("config") if isinstance(ls_.init_options, dict) else None
        ls_.link = EngineLink(
            ls_, ls_.root, encoding=getattr(enc, "value", enc),
            support=ClientSupport.of(ls_.client_capabilities),
            config=overrides if isinstance(overrides, dict) else None)
        started.set()
        ls_.starting = asyncio.ensure_future(ls_.link.start())

    @ls.feature(t.INITIALIZED)
    def initialized(ls_: BatonServer, params: t.InitializedParams) -> None:
        ls_.initialized = True
        if ls_.root is None:  # named by the first document opened in a project
            for uri in list(ls_.workspace.text_documents):
                ls_.root = ls_.root or project_of(uri)
        if ls_.root is not None:
            start(ls_)

    async def link() -> EngineLink:
        if ls.link is None:
            if not ls.initialized:
                raise JsonRpcException("Baton is not initialized yet", code=NOT_READY)
            if ls.root is None:
                raise JsonRpcException(NO_ROOT, code=NOT_READY)
            await asyncio.wait_for(started.wait(), READY_WAIT_S)
        assert ls.link is not None
        return ls.link

    # Document sync is pygls's; each change is also forwarded, in order, to the engine's mirror.
    @ls.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls_: BatonServer, params: t.DidOpenTextDocumentParams) -> None:
        if ls_.link is not None:
            ls_.link.did_open(params)
        elif ls_.initialized and ls_.root is None:
            ls_.root = project_of(params.text_document.uri)
            if ls_.root is not None:
                start(ls_)  # it sends the buffers open now, this one included
            elif not ls_.told_no_root:
                ls_.told_no_root = True
                ls_.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning,
                                                            message=NO_ROOT))

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
        return actions.code_actions(ls_.link.runs_dir, ls_.link.actions, ls_.workspace, params,
                                    ls_.link.verified) or None

    @ls.feature(t.SHUTDOWN)
    async def shutdown(ls_: BatonServer, params: Any) -> None:
        if ls_.link is not None:
            await ls_.link.close()

    return ls
