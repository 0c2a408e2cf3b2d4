"""The MCP servers of one run (`[mcp.servers]`, PROTOCOL §2): started on the run's first
use, each at most MAX_STARTS times; stopped with `stop()` when the run no longer needs
them (it waits for the person, or it ended), started again on its next use.

A stdio server runs in the run's command sandbox, on the run's shadow
(sandbox/services.py): every call brings its view up to date, and what it wrote during
the call is folded into the shadow, checked against the run's write grant (`may_write`)
like a command's writes. A streamable-HTTP server is a process of the person's own that
Baton only talks to: its address must be on this machine unless the server has
`network = true`, and what it does is outside Baton's sandbox (`baton doctor` says so).

A server that cannot start, answers with an error, crashes or stalls gives the model an
error result and the log a line; the run goes on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from ..config import McpServerConfig
from ..display import visible
from ..errors import ToolRefused
from ..sandbox.environment import child_env
from ..sandbox.isolation import Layer
from ..sandbox.services import ServiceProcess
from ..sandbox.shadow import Shadow
from . import elicit
from .connection import CallFailed, Connection, Progress
from .results import as_text
from .tools import McpTool, offered

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 120.0  # without a sign of life (progress) from the server
MAX_STARTS = 3


class Outcome(BaseModel):
    text: str
    is_error: bool = False
    changed: list[str] = Field(default_factory=list)  # folded into the run's shadow
    denied: list[str] = Field(default_factory=list)  # outside the write grant, discarded


def check_url(url: str, network: bool) -> str:
    """A streamable-HTTP server's address, or ToolRefused: on this machine (loopback)
    unless the person allowed the network for that server."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolRefused(f"{visible(url, limit=200)} is not an http(s) address")
    if network:
        return url
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ToolRefused(f"{visible(url, limit=200)} is not on this machine; a server "
                          "elsewhere needs `network = true` in its [mcp.servers] table")
    return url


class _Server:
    def __init__(self, name: str, config: McpServerConfig) -> None:
        self.name = name
        self.config = config
        self.service: ServiceProcess | None = None
        self.conn: Connection | None = None
        self.tools: list[McpTool] = []
        self.left_out: list[str] = []
        self.problem: str | None = None
        self.starts = 0
        self.lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self.conn is not None and self.conn.alive



class RunServers:
    def __init__(self, servers: Mapping[str, McpServerConfig], shadow: Shadow, *,
                 provider_keys: Sequence[str | None] = (), allow_unsandboxed: bool = False,
                 layer: Layer | None = None) -> None:
        self.shadow = shadow
        self.provider_keys = list(provider_keys)
        self.allow_unsandboxed = allow_unsandboxed
        self.layer = layer
        self._servers = {name: _Server(name, cfg) for name, cfg in servers.items()}

    @property
    def problems(self) -> dict[str, str]:
        return {s.name: s.problem for s in self._servers.values() if s.problem}

    async def tools(self, role: str) -> list[McpTool]:
        """The tools `role` is offered, starting the servers it sees that are not running."""
        seen = [s for s in self._servers.values() if s.config.sees(role)]
        await asyncio.gather(*(self._ensure(s) for s in seen))  # each start waits its own
        return [t for s in seen for t in s.tools]

    async def start(self, server: str) -> list[McpTool]:
        """Start one server (if it is not running) and return its tools."""
        srv = self._servers[server]
        await self._ensure(srv)
        return srv.tools

    def left_out(self, server: str) -> list[str]:
        """Why each tool the server listed and models are not offered was left out."""
        return list(self._servers[server].left_out)

    def tool(self, name: str) -> McpTool | None:
        return next((t for s in self._servers.values() for t in s.tools if t.name == name), None)

    async def _ensure(self, srv: _Server) -> None:
        async with srv.lock:
            if srv.alive:
                return
            await self._stop(srv)
            if srv.starts >= MAX_STARTS:
                srv.problem = srv.problem or "it was started too often"
                return
            srv.starts += 1
            try:
                await self._start(srv)
            except (CallFailed, ToolRefused, OSError, ValueError) as e:
                srv.problem = str(e)
                log.warning("MCP server %s does not start: %s", srv.name, srv.problem)
                await self._stop(srv)

    async def _start(self, srv: _Server) -> None:
        cfg = srv.config
        if cfg.url:
            srv.conn = Connection(srv.name, url=check_url(cfg.url, cfg.network))
        else:
            env = {**child_env(allow=cfg.env.keys(), provider_keys=self.provider_keys), **cfg.env}
            srv.service = ServiceProcess(self.shadow, srv.name, cfg.command, env, network=cfg.network,
                                         allow_unsandboxed=self.allow_unsandboxed, layer=self.layer)
            async with self.shadow.command_lock:
                await srv.service.start()
            srv.conn = Connection(srv.name, process=srv.service.proc)
        listed = await srv.conn.open(START_TIMEOUT_S)
        srv.tools, srv.left_out = offered(srv.name, listed, cfg.allow)
        srv.problem = None
        for why in srv.left_out:
            log.warning("MCP server %s: tool left out: %s", srv.name, why)
        log.info("MCP server %s started (%s): %d tools", srv.name,
                 srv.service.layer if srv.service else "HTTP", len(srv.tools))

    async def call(self, name: str, arguments: dict[str, Any], *,
                   may_write: Callable[[str], bool] | None = None,
                   progress: Progress | None = None, ask: elicit.Ask | None = None) -> Outcome:
        """Call an offered tool; every failure is an error Outcome, never an exception."""
        tool = self.tool(name)
        if tool is None:
            return Outcome(text=f"{name} is not a tool of a running MCP server", is_error=True)
        srv = self._servers[tool.server]
        await self._ensure(srv)
        if not srv.alive or srv.conn is None:
            return Outcome(text=f"The MCP server {srv.name} is not available: {srv.problem}", is_error=True)
        if srv.service is None:
            return await self._call(srv, tool, arguments, progress, ask)
        async with self.shadow.command_lock:
            try:
                await srv.service.sync()
            except ToolRefused as e:
                return Outcome(text=f"The MCP server {srv.name} cannot run: {e}", is_error=True)
            try:
                out = await self._call(srv, tool, arguments, progress, ask)
            finally:
                fold = await srv.service.fold(may_write)
        out.changed, out.denied = sorted(fold.changed), sorted(set(fold.denied))
        notes = []
        if out.changed:
            notes.append("files changed (now part of your changes): " + ", ".join(out.changed))
        if out.denied:
            notes.append("changes discarded (outside the write grant): " + ", ".join(out.denied))
        if notes:
            out.text += "\n" + "\n".join(notes)
        return out

    async def _call(self, srv: _Server, tool: McpTool, arguments: dict[str, Any],
                    progress: Progress | None, ask: elicit.Ask | None) -> Outcome:
        assert srv.conn is not None
        try:
            result = await srv.conn.call(tool.tool, arguments, timeout_s=CALL_TIMEOUT_S,
                                         progress=progress, ask=ask)
        except CallFailed as e:
            log.warning("MCP server %s: %s failed: %s", srv.name, visible(tool.tool), e)
            return Outcome(text=f"The MCP server {srv.name} failed: {e}", is_error=True)
        return Outcome(text=as_text(result), is_error=result.is_error)

    async def stop(self) -> None:
        """Stop every server; each starts again on its next use."""
        for srv in self._servers.values():
            async with srv.lock:
                await self._stop(srv)

    async def _stop(self, srv: _Server) -> None:
        conn, srv.conn = srv.conn, None
        if conn is not None:
            await conn.close()
        if srv.service is not None:
            await srv.service.stop()
            srv.service = None
