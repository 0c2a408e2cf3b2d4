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

from ..config import Config, load_config
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
from .logs import to_client

log = logging.getLogger(__name__)

# When the machine is saturated (a build, a test run), the editor and its language
# servers get the CPU before agent work does. Commands that agents run inherit it.
NICE = 10
CLOSE_GRACE_S = 5.0
# The actions of the untrusted-workspace prompt (PROTOCOL §2 "Workspace trust").
TRUST_ACTION, NOT_NOW = "Trust this configuration", "Not now"


def _change(c: Change) -> t.TextDocumentContentChangeEvent:
    if c.get("range") is None:
        return t.TextDocumentContentChangeWholeDocument(text=c["text"])
    a, b, x, y = c["range"]
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
        # What the editor was told of the configuration's mistake, while there is one: said
        # once, again only when it changes.
        self.config_error: str | None = None

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
    async def _load_config(self) -> Config:
        p = self.params
        assert p is not None, "init comes first"
        overrides = p.get("config")
        return await asyncio.to_thread(load_config, Path(p["root"]).resolve(),
                                       overrides if isinstance(overrides, dict) else None)

    async def start(self, _: Any) -> Started:
        p = self.params
        assert p is not None and self.workspace is not None, "init comes first"
        root = Path(p["root"]).resolve()
        messages: list[Message] = []
        registry: Registry | None = None
        try:
            config = await self._load_config()
        except ConfigError as e:
            # Never other settings (the defaults would be the offline demo script, run on the
            # person's workspace): the engine starts for what needs no configuration (the
            # runs, their files, cancel, revert), and whatever needs one is refused with this.
            self.config_error = stopped(e)
            messages.append(Message(type="error", message=self.config_error))
            config, registry = Config(), Unconfigured(self.config_error)
        if config.offline and any("offline" in o for o in config.origin):
            messages.append(Message(type="log", message="Baton: " + config.origin[-1]))
        ws_file = config.workspace_file
        notice = ws_file.notice() if ws_file is not None else None
        if notice:
            log.warning("%s", notice)
        host = self.host = ChannelHost(self.channel, root, self.workspace,
                                       ClientSupport.from_json(p.get("client")))
        engine = Engine(root, config, host, registry)
        await engine.start()
        self.engine = engine
        self.ready.set_result(engine)
        self._probe = asyncio.ensure_future(self._probe_isolation(engine))
        if notice and ws_file is not None:
            self._trust_offer = asyncio.ensure_future(self._offer_trust(engine, notice, ws_file))
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
        commands): the configuration as its files say now. A mistake refuses the command
        with the file, line and key, and is said in a message once; once fixed (or edited),
        what the files say applies from then on, without a restart."""
        engine = await asyncio.shield(self.ready)
        try:
            config = await self._load_config()
        except ConfigError as e:
            said = stopped(e)
            if said != self.config_error:
                self.config_error = said
                await self.channel.request("message", Message(type="error", message=said))
            raise ConfigError(said) from None
        if self.config_error is not None:
            self.config_error = None
            await self.channel.request("message", Message(
                type="info", message="Baton: the configuration loads again; runs can start."))
        elif _same(config, engine.config):
            return
        engine.reconfigure(config)

    async def _offer_trust(self, engine: Engine, notice: str, ws_file: Any) -> None:
        """Once a start: what the workspace file may not do yet, with an action that trusts
        it (any LSP client shows window/showMessageRequest)."""
        try:
            # No time limit: a person may read the file first; nothing waits on this answer.
            answer = await self.channel.request("choose", Choose(
                message=notice, options=[TRUST_ACTION, NOT_NOW], warning=True, timeoutS=None))
            if answer != TRUST_ACTION:
                return
            from ..display import visible
            from ..errors import BatonError
            from .commands import trust_workspace
            try:
                result = await trust_workspace(engine, ws_file.digest)
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
            self._commands = commands.handlers(get_engine, self.check_config)
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
        if self.engine is not None:
            engine, self.engine = self.engine, None
            await engine.close()


def stopped(e: ConfigError) -> str:
    return f"Baton cannot start runs until its configuration is fixed: {e}"


def _same(a: Config, b: Config) -> bool:
    """Whether two loads say the same (keys are compared by the variables they come from)."""
    return (a.model_dump(mode="json"), a.base_dir, a.workspace_file) == \
        (b.model_dump(mode="json"), b.base_dir, b.workspace_file)


class Unconfigured(Registry):
    """The engine's providers while the configuration does not load: a run resumed in the
    middle of its work, whose next step needs a model, fails with the configuration's
    mistake instead of reaching a provider the person did not configure."""

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
    to_client(lambda kind, text: channel.closed or channel.notify("logMessage", {"type": kind, "message": text}))
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
