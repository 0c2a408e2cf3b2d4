"""One connection to one MCP server: the SDK's `ClientSession` over the stdio pipes of a
sandboxed process, or over streamable HTTP.

The session lives in a task of its own (the SDK's task groups must be entered and left by
one task), which the connection owns; calls are made from the agent's task. A call ends
with its result, or with `CallFailed` saying what happened: the server did not answer
within `timeout_s` of its last sign of life (progress counts, a question waiting for the
person does not), it exited, or it sent something Baton does not accept. Progress and
elicitation go to the callbacks of the call in flight; outside a call a server's
question is declined.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp import ClientSession, MCPError, types

from .. import __version__
from ..display import visible
from . import elicit
from .stdio import Pipes, process_streams

log = logging.getLogger(__name__)

MAX_PAGES = 10  # of tools/list
PROGRESS_EVERY_S = 0.25
Progress = Callable[[str], None]


class CallFailed(Exception):
    """The call has no result; the message is for the model and the log."""


class _Call:
    def __init__(self, progress: Progress | None, ask: elicit.Ask | None) -> None:
        self.progress = progress
        self.ask = ask
        self.last_sign = time.monotonic()
        self.asking = 0
        self.last_report = 0.0


class Connection:
    def __init__(self, name: str, *, process: asyncio.subprocess.Process | None = None,
                 url: str | None = None) -> None:
        assert (process is None) != (url is None)
        self.name = name
        self.process = process
        self.url = url
        self.pipes = Pipes()
        self.session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._call: _Call | None = None
        self._gone = False

    # -- life ---------------------------------------------------------------------
    async def open(self, timeout_s: float) -> list[types.Tool]:
        """Initialize and list the tools; raises CallFailed."""
        ready: asyncio.Future[list[types.Tool]] = asyncio.get_running_loop().create_future()
        self._owner = asyncio.create_task(self._own(ready), name=f"mcp server {self.name}")
        try:
            return await asyncio.wait_for(asyncio.shield(ready), timeout_s)
        except asyncio.TimeoutError:
            await self.close()
            raise CallFailed(self._why(f"it did not start within {timeout_s:g} s")) from None
        except CallFailed:
            await self.close()
            raise

    async def _own(self, ready: asyncio.Future[list[types.Tool]]) -> None:
        try:
            async with self._streams() as (read, write), ClientSession(
                    read, write, elicitation_callback=self._elicit, logging_callback=self._log,
                    message_handler=self._message,
                    client_info=types.Implementation(name="baton", version=__version__)) as session:
                await session.initialize()
                tools: list[types.Tool] = []
                cursor = None
                for _ in range(MAX_PAGES):
                    page = await session.list_tools(
                        params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
                    tools += page.tools
                    cursor = page.next_cursor
                    if not cursor:
                        break
                self.session = session
                ready.set_result(tools)
                await self._closing.wait()
        except Exception as e:  # the server's failure is the connection's, never the run's
            if not ready.done():
                ready.set_exception(CallFailed(self._why(_brief(e))))
            else:
                log.info("MCP server %s: the connection ended: %s", self.name, _brief(e))
        finally:
            self.session = None
            if not ready.done():
                ready.set_exception(CallFailed(self._why("it closed the connection")))

    @asynccontextmanager
    async def _streams(self) -> AsyncIterator[Any]:
        if self.process is not None:
            async with process_streams(self.process, self.pipes) as streams:
                yield streams
            return
        import httpx2
        from mcp.client.streamable_http import streamable_http_client
        assert self.url is not None
        # No proxies from the environment, no redirects off the origin (the SDK's rule).
        client = httpx2.AsyncClient(trust_env=False, timeout=httpx2.Timeout(30.0, read=300.0))
        async with client, streamable_http_client(self.url, http_client=client) as streams:
            yield streams

    @property
    def alive(self) -> bool:
        return self.session is not None and self._owner is not None and not self._owner.done() \
            and not self._gone and (self.process is None or self.process.returncode is None)

    async def close(self) -> None:
        self._closing.set()
        owner, self._owner = self._owner, None
        if owner is not None and not owner.done() and self.session is None:
            owner.cancel()  # still starting: there is nothing to close politely
        elif owner is not None and not owner.done():
            try:
                await asyncio.wait_for(asyncio.shield(owner), 5.0)
            except (asyncio.TimeoutError, Exception):
                owner.cancel()

    async def _ended(self) -> None:
        """The server closed the connection: it is not alive any more, whatever its process
        is doing; give that a moment to exit, so its status can be said."""
        self._gone = True
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), 2.0)
            except asyncio.TimeoutError:
                pass

    def _why(self, what: str) -> str:
        """What ended the server, with what it said last on stderr, for a person and a model."""
        parts = [what]
        if self.pipes.problem:
            parts.append(self.pipes.problem)
        if self.process is not None and self.process.returncode is not None:
            parts.append(f"exit status {self.process.returncode}")
        tail = self.pipes.tail()
        if tail:
            parts.append("its last output: " + visible(tail[-600:], limit=600))
        return "; ".join(parts)

    # -- calls --------------------------------------------------------------------
    async def call(self, tool: str, arguments: dict[str, Any], *, timeout_s: float,
                   progress: Progress | None = None, ask: elicit.Ask | None = None
                   ) -> types.CallToolResult:
        session = self.session
        if session is None or not self.alive:
            raise CallFailed(self._why("the server is not running"))
        call = self._call = _Call(progress, ask)

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            call.last_sign = time.monotonic()
            now = time.monotonic()
            if call.progress is None or now - call.last_report < PROGRESS_EVERY_S:
                return
            call.last_report = now
            share = f" {progress:g}/{total:g}" if total else ""
            call.progress(visible(f"{self.name}{share}" + (f": {message}" if message else ""), limit=120))

        task = asyncio.ensure_future(session.call_tool(tool, arguments, progress_callback=on_progress))
        try:
            while not task.done():
                idle = time.monotonic() - call.last_sign
                if not call.asking and idle >= timeout_s:
                    task.cancel()
                    raise CallFailed(self._why(f"the server did not answer within {timeout_s:g} s"))
                await asyncio.wait({task}, timeout=max(timeout_s - idle, 0.05) if not call.asking else 1.0)
            try:
                return task.result()
            except MCPError as e:
                if e.error.code == types.CONNECTION_CLOSED:
                    await self._ended()
                raise CallFailed(self._why(visible(e.error.message, limit=500))) from None
            except asyncio.CancelledError:
                raise CallFailed(self._why("the call was abandoned")) from None
            except Exception as e:
                raise CallFailed(self._why(_brief(e))) from None
        finally:
            self._call = None
            if not task.done():
                task.cancel()

    async def _elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        call = self._call
        if call is None or call.ask is None:
            return types.ElicitResult(action="decline")
        call.asking += 1
        try:
            return await elicit.answer(self.name, params, call.ask)
        finally:
            call.asking -= 1
            call.last_sign = time.monotonic()

    async def _log(self, params: types.LoggingMessageNotificationParams) -> None:
        log.debug("MCP server %s (%s): %s", self.name, params.level,
                  visible(str(params.data), limit=500))

    async def _message(self, message: Any) -> None:
        if isinstance(message, Exception):
            log.debug("MCP server %s sent something that is not MCP: %s", self.name,
                      visible(str(message), limit=200))


def _brief(e: BaseException) -> str:
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(_brief(x) for x in e.exceptions)
    if isinstance(e, MCPError):
        return visible(e.error.message, limit=500)
    return visible(f"{type(e).__name__}: {e}", limit=500)
