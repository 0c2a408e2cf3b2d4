"""A small JSON-RPC-like channel between the LSP process and the engine process.

One JSON object per line over a socket pair, in both directions: requests (`id`,
`method`, `params`), their responses (`id`, `result` or `error`), notifications (no
`id`) and `$/cancel`. Messages are handled in the order they arrive, so what the engine
says in order reaches the editor in order. Whole files travel here, so the line limit
is large.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

LINE_LIMIT = 1 << 30
INTERNAL_ERROR = -32603
METHOD_NOT_FOUND = -32601

Handler = Callable[[Any], Awaitable[Any] | Any]


class ChannelError(Exception):
    """The other side answered a request with an error (or went away)."""

    def __init__(self, message: str, code: int = INTERNAL_ERROR) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChannelClosed(ChannelError):
    def __init__(self) -> None:
        super().__init__("the engine process is gone", INTERNAL_ERROR)


class Channel:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 handlers: dict[str, Handler]) -> None:
        self.reader = reader
        self.writer = writer
        self.handlers = handlers
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._serving: dict[Any, asyncio.Task[Any]] = {}  # incoming request id → its task
        self.closed = False
        self._outbox: list[bytes] = []

    # -- sending ----------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        """Messages sent in one turn of the loop leave in one write: the other process
        wakes once for them, not once each."""
        if self.closed:
            raise ChannelClosed()
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def _flush(self) -> None:
        data, self._outbox = b"".join(self._outbox), []
        if data and not self.closed:
            try:
                self.writer.write(data)
            except (ConnectionError, RuntimeError):  # the other side is gone: serve() ends
                pass

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"method": method, "params": params})

    async def request(self, method: str, params: Any = None) -> Any:
        msg_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            self._send({"id": msg_id, "method": method, "params": params})
            return await fut
        except asyncio.CancelledError:
            if not self.closed:
                self._send({"method": "$/cancel", "params": {"id": msg_id}})
            raise
        finally:
            self._pending.pop(msg_id, None)

    # -- receiving --------------------------------------------------------------------
    async def serve(self) -> None:
        """Read and dispatch until the other side closes; then fail what still waits."""
        try:
            while line := await self.reader.readline():
                try:
                    message = json.loads(line)
                except ValueError:
                    log.error("dropped a malformed message from the other process")
                    continue
                self._dispatch(message)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.close()

    def _dispatch(self, m: dict[str, Any]) -> None:
        if "method" not in m:
            fut = self._pending.get(m.get("id", 0))  # ids start at 1: no id, no request
            if fut is None or fut.done():
                return  # an answer to a request we stopped waiting for
            if "error" in m:
                err = m["error"] or {}
                fut.set_exception(ChannelError(err.get("message", "error"), err.get("code", INTERNAL_ERROR)))
            else:
                fut.set_result(m.get("result"))
            return
        method, params = m["method"], m.get("params")
        if method == "$/cancel":
            task = self._serving.get((params or {}).get("id"))
            if task is not None:
                task.cancel()
            return
        if "id" not in m:
            handler = self.handlers.get(method)
            if handler is None:
                log.error("no handler for notification %s", method)
                return
            try:
                result = handler(params)
                if asyncio.iscoroutine(result):
                    asyncio.ensure_future(result)
            except Exception:
                log.exception("notification %s failed", method)
            return
        msg_id = m["id"]
        task = asyncio.ensure_future(self._answer(msg_id, method, params))
        self._serving[msg_id] = task
        task.add_done_callback(lambda _: self._serving.pop(msg_id, None))

    async def _answer(self, msg_id: Any, method: str, params: Any) -> None:
        handler = self.handlers.get(method)
        try:
            if handler is None:
                raise ChannelError(f"unknown method {method}", METHOD_NOT_FOUND)
            result = handler(params)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            reply: dict[str, Any] = {"id": msg_id, "result": result}
        except asyncio.CancelledError:
            return  # the other side stopped waiting
        except Exception as e:
            code = getattr(e, "code", None)
            message = getattr(e, "message", None) or str(e) or type(e).__name__
            if not isinstance(code, int):  # not an error meant for the other side: a bug
                log.exception("%s failed", method)
                code = INTERNAL_ERROR
            reply = {"id": msg_id, "error": {"code": code, "message": str(message)}}
        if not self.closed:
            self._send(reply)

    def close(self) -> None:
        if self.closed:
            return
        self._flush()  # what was said before closing still leaves
        self.closed = True
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ChannelClosed())
        for task in list(self._serving.values()):
            task.cancel()
        try:
            self.writer.close()
        except Exception:
            pass
