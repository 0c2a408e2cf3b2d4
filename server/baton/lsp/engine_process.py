"""The engine process: agent work, apart from the editor's process.

`baton serve` answers the editor; every run steps here, in a child process it starts
(`baton engine --fd N`), so no run ever holds the interpreter the editor's requests wait
on. The two talk over a socket pair (lsp/channel.py): the LSP process forwards document
sync and commands; this process calls back for everything the editor must see or answer.
When the LSP process goes away (its end of the socket closes) this one closes the
journal and exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.workspace import Workspace

from ..config import Config, WorkspaceTrust
from ..errors import ConfigError
from ..providers.base import Provider
from ..providers.registry import FailoverProvider, Registry
from ..runtime.actions import allowed
from ..runtime.engine import Engine
from .channel import LINE_LIMIT, Channel, ChannelError
from .channel_messages import (Change, Choose, Command, DidChange, DidClose, DidOpen, Init, Message,
                               Started)
from .client_support import ClientSupport
from .channel_host import ChannelHost
from .config_reload import ConfigReload, stopped
from .logs import to_client

log = logging.getLogger(__name__)

# When the machine is saturated (a build, a test run), the editor and its language
# servers get the CPU before agent work does. Commands that agents run inherit it.
NICE = 10
CLOSE_GRACE_S = 5.0
# The actions of the untrusted-workspace prompt (PROTOCOL §2 "Workspace trust").
TRUST_ACTION, NOT_NOW = "Trust this configuration", "Not now"


def _change(c: Change) -> t.TextDocumentContentChangeEvent:
    r = c.get("range")
    if r is None:
        return t.TextDocumentContentChangeWholeDocument(text=c["text"])
    a, b, x, y = r
    return t.TextDocumentContentChangePartial(
        range=t.Range(start=t.Position(line=a, character=b), end=t.Position(line=x, character=y)),
        text=c["text"])


class EngineSide:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.engine: Engine | None = None
        self.host: ChannelHost | None = None
        self.ready = asyncio.get_running_loop().create_future()
        self.workspace: Workspace | None = None
        self.params: Init | None = None
        self._commands: dict[str, Any] = {}
        self._probe: asyncio.Task[Any] | None = None
        self._trust_offer: asyncio.Task[Any] | None = None
        self._trust_declined = False  # "Not now": not asked again until the next start
        self.config: ConfigReload | None = None

    def handlers(self) -> dict[str, Any]:
        return {"init": self.init, "start": self.start, "command": self.command, "shutdown": self.shutdown,
                "didOpen": self.did_open, "didChange": self.did_change, "didClose": self.did_close}

    # -- notifications, applied in order ----------------------------------------------
    def init(self, p: Init) -> None:
        """First of all: the buffers forwarded next land in this mirror."""
        self.params = p
        self.workspace = Workspace(Path(p["root"]).resolve().as_uri(),
                                   position_encoding=p.get("encoding") or "utf-16")

    def did_open(self, p: DidOpen) -> None:
        assert self.workspace is not None, "init comes first"
        self.workspace.put_text_document(t.TextDocumentItem(
            uri=p["uri"], language_id=p.get("languageId") or "", version=p["version"], text=p["text"]))

    def did_change(self, p: DidChange) -> None:
        assert self.workspace is not None
        doc = t.VersionedTextDocumentIdentifier(uri=p["uri"], version=p["version"])
        for c in p["changes"]:
            self.workspace.update_text_document(doc, _change(c))
        if self.host is not None:
            self.host.changed(p["uri"])

    def did_close(self, p: DidClose) -> None:
        assert self.workspace is not None
        self.workspace.remove_text_document(p["uri"])

    # -- requests ---------------------------------------------------------------------
    async def start(self, _: Any) -> Started:
        p = self.params
        assert p is not None and self.workspace is not None, "init comes first"
        root = Path(p["root"]).resolve()
        messages: list[Message] = []
        registry: Registry | None = None
        overrides = p.get("config")
        reload = self.config = ConfigReload(root, overrides if isinstance(overrides, dict) else None,
                                            say=lambda m: self.channel.request("message", m),
                                            offer_trust=self._offer_trust)
        config, problem = await reload.initial()
        if problem is not None:
            # Never other settings (the defaults would be the offline demo script, run on the
            # person's workspace): the engine starts held. What needs no configuration works
            # (the runs, their files, cancel, revert); runs wait in their states until the
            # files load (watched: a fix applies without a command or a restart).
            messages.append(Message(type="error", message=stopped(problem)))
            registry = Unconfigured(stopped(problem))
        if config.offline and any("offline" in o for o in config.origin):
            messages.append(Message(type="log", message="Baton: " + config.origin[-1]))
        host = self.host = ChannelHost(self.channel, root, self.workspace,
                                       ClientSupport.from_json(p.get("client")))
        engine = Engine(root, config, host, registry)
        reload.attach(engine)
        await engine.start()
        self.engine = engine
        self.ready.set_result(engine)
        self._probe = asyncio.ensure_future(self._probe_isolation(engine))
        if config.workspace_file is not None:
            self._offer_trust(config.workspace_file)
        reload.watch()
        return Started(runsDir=str(engine.runs_dir),
                       actions={rid: [str(a) for a in allowed(ctx.run)]
                                for rid, ctx in engine.contexts.items()},
                       timeoutS=config.limits.client_request_timeout_s, messages=messages)

    async def _probe_isolation(self, engine: Engine) -> None:
        isolation = await engine.probe_isolation()
        if isolation.layer == "none":
            await self.channel.request("message", Message(
                type="warning",
                message="Baton: commands from agents will be refused: no sandbox is available "
                        f"here. {isolation.fix} (see `baton doctor`)"))

    async def check_config(self) -> None:
        """Before Baton starts agent work for the person (lsp/commands.py says which
        commands): the configuration as its files say now, refused with the file, line and
        key until it loads (lsp/config_reload.py)."""
        await asyncio.shield(self.ready)
        assert self.config is not None
        await self.config.check()

    async def reload_config(self) -> None:
        await asyncio.shield(self.ready)
        assert self.config is not None
        await self.config.reload()

    def _offer_trust(self, ws_file: WorkspaceTrust) -> None:
        """What the workspace file may not do yet, said with an action that trusts it: at
        start, and when a reload finds it untrusted again (edited since it was trusted).
        One question at a time, and none after "Not now" until the next start, however
        often a repository rewrites its file."""
        notice = ws_file.notice()
        if not notice:
            return
        log.warning("%s", notice)
        if self._trust_declined or self.engine is None or \
                (self._trust_offer is not None and not self._trust_offer.done()):
            return
        self._trust_offer = asyncio.ensure_future(self._ask_trust(self.engine, notice, ws_file))

    async def _ask_trust(self, engine: Engine, notice: str, ws_file: WorkspaceTrust) -> None:
        try:
            # No time limit: a person may read the file first; nothing waits on this answer.
            answer = await self.channel.request("choose", Choose(
                message=notice, options=[TRUST_ACTION, NOT_NOW], warning=True, timeoutS=None))
            if answer != TRUST_ACTION:
                self._trust_declined = True
                return
            from ..display import visible
            from ..errors import BatonError
            from .commands import trust_workspace
            try:
                result = await trust_workspace(engine, self.reload_config, ws_file.digest)
            except BatonError as e:
                await self.channel.request("message", Message(type="error", message=f"Baton: {e}"))
                return
            await self.channel.request("message", Message(
                type="info", message=f"Baton trusts {visible(result['path'])} now: all of it applies."))
        except ChannelError:
            pass  # the editor went away; the next start asks again

    async def command(self, p: Command) -> Any:
        if not self._commands:
            from . import commands

            async def get_engine() -> Engine:
                return await asyncio.shield(self.ready)
            self._commands = commands.handlers(get_engine, self.check_config, self.reload_config)
        handler = self._commands.get(p["name"])
        if handler is None:
            from pygls.exceptions import JsonRpcMethodNotFound
            raise JsonRpcMethodNotFound(f"unknown command {p['name']}")
        return await handler(*p.get("args", []))

    async def shutdown(self, p: Any = None) -> None:
        await self.close()

    async def close(self) -> None:
        for task in (self._probe, self._trust_offer):
            if task is not None and not task.done():
                task.cancel()
        if self.config is not None:
            await self.config.close()
        if self.engine is not None:
            engine, self.engine = self.engine, None
            await engine.close()


class Unconfigured(Registry):
    """The engine's providers until the configuration first loads. The held engine starts no
    step meanwhile (runs wait); this is the floor under that: whatever asked for a model
    would fail with the mistake, never reach a provider the person did not configure."""

    def __init__(self, error: str) -> None:
        super().__init__(Config())
        self.error = error

    def provider(self, name: str) -> Provider:
        raise ConfigError(self.error)

    def for_role(self, role: str) -> FailoverProvider:
        raise ConfigError(self.error)


async def serve(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=sock, limit=LINE_LIMIT)
    handlers: dict[str, Any] = {}
    channel = Channel(reader, writer, handlers)
    side = EngineSide(channel)
    handlers.update(side.handlers())

    def log_to_client(kind: str, text: str) -> None:
        if not channel.closed:
            channel.notify("logMessage", {"type": kind, "message": text})
    to_client(log_to_client)
    try:
        await channel.serve()
    finally:
        # The server is gone, so this process goes too, whatever a run is waiting on: a run
        # that does not stop within the grace period is abandoned here and resumes from the
        # journal on the next start, instead of keeping the workspace's engine lock (the
        # next engine could never start) and living on as an orphan.
        # asyncio.wait, not wait_for: wait_for would wait for a cancelled close to finish.
        closing = asyncio.ensure_future(side.close())
        done, _ = await asyncio.wait({closing}, timeout=CLOSE_GRACE_S)
        if not done:
            log.warning("the engine did not close within %ss; exiting anyway", CLOSE_GRACE_S)
        elif closing.exception() is not None:
            log.warning("closing the engine failed: %s", closing.exception())
        logging.shutdown()
        os._exit(0)


def main(fd: int) -> int:
    try:
        os.nice(NICE)
    except OSError:
        pass
    try:
        asyncio.run(serve(fd))
    except KeyboardInterrupt:
        pass
    return 0
