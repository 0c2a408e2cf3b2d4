"""The engine process as the LSP process sees it: started on `initialized`, fed the
editor's document sync and commands, restarted (runs resume from the journal) if it
dies, stopped on `shutdown`.

The LSP process keeps only what a code action needs to be answered from memory: each
run's state, from the `baton/runChanged` notices it forwards.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException

from ..display import visible
from .bridge import Bridge
from .channel import LINE_LIMIT, Channel, ChannelError
from .channel_messages import Change, Command, DidChange, DidClose, DidOpen, Init, Message, Started
from .client_support import ClientSupport
from .command_names import NOT_READY

if TYPE_CHECKING:
    from .server import BatonServer

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
RESTARTS, RESTART_WINDOW_S = 3, 60.0  # more deaths than this in the window: stay down


class EngineLink:
    def __init__(self, ls: BatonServer, root: Path, *, encoding: str, support: ClientSupport,
                 config: dict[str, Any] | None) -> None:
        self.ls = ls
        self.root = root
        self.init = Init(root=str(root), encoding=encoding, client=support.to_json(),
                         config=config)
        self.bridge = Bridge(ls, support, DEFAULT_TIMEOUT_S, self._on_notice)
        self.actions: dict[str, list[str]] = {}  # run → what it allows, for code actions
        self.verified: dict[str, dict[str, Any]] = {}  # runChanged's verify, per run
        self.runs_dir = root / ".baton" / "runs"
        self.channel: Channel | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closing = False
        self._deaths: list[float] = []
        self._serving: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._ready.done() and self._ready.exception() is None

    async def wait_ready(self) -> None:
        await asyncio.shield(self._ready)

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self._start()
        except Exception as e:
            log.exception("Baton could not start its engine")
            self.ls.window_show_message(t.ShowMessageParams(
                type=t.MessageType.Error, message=f"Baton could not start: {e}"))
            if not self._ready.done():
                self._ready.set_exception(JsonRpcException(f"Baton could not start: {e}", code=NOT_READY))

    async def _start(self) -> None:
        ours, theirs = socket.socketpair()
        argv = [sys.executable, "-m", "baton"]
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            argv.append("--verbose")
        argv += ["engine", "--fd", str(theirs.fileno())]
        try:
            # Its stdout goes to our stderr: our stdout is the editor's channel.
            self.proc = await asyncio.create_subprocess_exec(
                *argv, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno(), cwd=self.root)
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours, limit=LINE_LIMIT)
        channel = Channel(reader, writer, {**self.bridge.handlers(), "message": self._message})
        self._serving = asyncio.create_task(self._serve(channel, self.proc))
        # In order, with no await between: the mirror, the buffers open now, then every
        # later document notification as it comes.
        channel.notify("init", self.init)
        for doc in list(self.ls.workspace.text_documents.values()):
            channel.notify("didOpen", DidOpen(uri=doc.uri, languageId=doc.language_id or "",
                                              version=doc.version, text=doc.source))
        self.channel = channel
        result: Started = await channel.request("start", {})
        self.runs_dir = Path(result["runsDir"])
        self.actions.update(result["actions"])
        self.bridge.timeout_s = result["timeoutS"]
        for m in result["messages"]:
            self._message(m)
        if not self._ready.done():
            self._ready.set_result(None)

    async def _serve(self, channel: Channel, proc: asyncio.subprocess.Process) -> None:
        await channel.serve()
        if self.channel is channel:
            self.channel = None
        if self._closing:
            return
        code = await proc.wait()
        now = time.monotonic()
        self._deaths = [d for d in self._deaths if now - d < RESTART_WINDOW_S] + [now]
        log.error("Baton's engine process stopped (exit code %s)", code)
        if self._ready.done():
            self._ready = asyncio.get_running_loop().create_future()
        if len(self._deaths) > RESTARTS:
            message = (f"Baton's engine stopped {len(self._deaths)} times in a minute (last exit code "
                       f"{code}); it stays stopped. Restart the language server to try again.")
            self.ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Error, message=message))
            self._ready.set_exception(JsonRpcException(message, code=NOT_READY))
            return
        self.ls.window_show_message(t.ShowMessageParams(
            type=t.MessageType.Warning,
            message=f"Baton's engine stopped (exit code {code}); restarting it. Runs resume where "
                    "the journal left them."))
        await self.start()

    async def close(self) -> None:
        self._closing = True
        channel, proc = self.channel, self.proc
        if channel is not None and not channel.closed:
            try:
                await asyncio.wait_for(channel.request("shutdown", {}), 15)
            except (ChannelError, TimeoutError) as e:
                log.warning("the engine did not shut down cleanly: %s", e)
            channel.close()
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._serving is not None:
            await asyncio.gather(self._serving, return_exceptions=True)

    # -- from the engine --------------------------------------------------------------
    def _on_notice(self, notice: dict[str, Any]) -> None:
        self.actions[notice["runId"]] = notice.get("actions") or []
        if notice.get("verify"):
            self.verified[notice["runId"]] = notice["verify"]

    def _message(self, m: Message) -> None:
        # Engine messages quote configuration and repository text (a config error, a file
        # name): shown, never interpreted, by the editor.
        message = visible(m["message"], multiline=True, limit=4000)
        if m["type"] == "log":
            self.ls.window_log_message(t.LogMessageParams(type=t.MessageType.Info, message=message))
            return
        kind = {"error": t.MessageType.Error, "warning": t.MessageType.Warning}.get(m["type"], t.MessageType.Info)
        self.ls.window_show_message(t.ShowMessageParams(type=kind, message=message))

    # -- to the engine ----------------------------------------------------------------
    def _forward(self, method: str, params: DidOpen | DidChange | DidClose) -> None:
        # Without a channel there is nothing to keep in step: a (re)start sends every
        # open buffer as it is then.
        if self.channel is not None and not self.channel.closed:
            self.channel.notify(method, params)

    def did_open(self, p: t.DidOpenTextDocumentParams) -> None:
        d = p.text_document
        self._forward("didOpen", DidOpen(uri=d.uri, languageId=d.language_id, version=d.version,
                                         text=d.text))

    def did_change(self, p: t.DidChangeTextDocumentParams) -> None:
        changes = []
        for c in p.content_changes:
            r = getattr(c, "range", None)
            changes.append(Change(text=c.text, range=None if r is None else
                                  [r.start.line, r.start.character, r.end.line, r.end.character]))
        self._forward("didChange", DidChange(uri=p.text_document.uri,
                                             version=p.text_document.version, changes=changes))

    def did_close(self, p: t.DidCloseTextDocumentParams) -> None:
        self._forward("didClose", DidClose(uri=p.text_document.uri))

    async def command(self, name: str, args: list[Any]) -> Any:
        await self.wait_ready()
        channel = self.channel
        if channel is None:
            raise JsonRpcException("Baton's engine is restarting; try again in a moment", code=NOT_READY)
        try:
            return await channel.request("command", Command(name=name, args=args))
        except ChannelError as e:
            raise JsonRpcException(e.message, code=e.code) from None
