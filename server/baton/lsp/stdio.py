"""The editor's stdio transport, tuned for a busy server.

Reading: pygls's own stdio loop reads through a thread pool, one executor round trip per
header line and per body, so under load each message waits for several turns of a busy
event loop. Reading stdin as an asyncio pipe takes a whole message from the buffer in one
turn. Anything that is not a pipe (a file, a closed stdin) keeps pygls's reader.

Writing: the messages pygls sends in one turn of the loop leave in one write, so the
editor wakes once for a burst (a run's notice, progress and edit), not once per message.

Except after a response. Emacs's jsonrpc (Eglot) and lsp-mode stop reading a chunk at the
response a synchronous request waits for: what arrived after it in the same read stays
unprocessed until more data comes, so a request Baton sent then (an edit to apply, a
prompt) would wait for ever. A response therefore ends its write, and whatever follows a
response within NUDGE_WINDOW_S is followed, NUDGE_AFTER_S later, by an empty
`telemetry/event` (which every client ignores): new data that makes such a client read on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
import time
from typing import Any, BinaryIO

from pygls.io_ import run_async

log = logging.getLogger(__name__)

NUDGE_WINDOW_S = 2.0
NUDGE_AFTER_S = (0.2, 2.0)
_NUDGE_BODY = b'{"jsonrpc":"2.0","method":"telemetry/event","params":{}}'
NUDGE = b"Content-Length: %d\r\n\r\n%s" % (len(_NUDGE_BODY), _NUDGE_BODY)


class TickWriter:
    def __init__(self, out: BinaryIO, on_broken: Any) -> None:
        self.out = out
        self.on_broken = on_broken
        self._parts: list[bytes] = []
        self._ends: list[int] = []  # each response's end in the parts: a write ends there
        self._responded = float("-inf")  # when the last response was written
        self._nudges: list[asyncio.TimerHandle] = []

    def write(self, data: bytes) -> None:
        if not self._parts:
            asyncio.get_running_loop().call_soon(self.flush)
        self._parts.append(data)

    def responded(self) -> None:
        """The part written last is a response (lsp/server.py's protocol says so)."""
        self._ends.append(len(self._parts))

    def flush(self) -> None:
        parts, self._parts = self._parts, []
        response = bool(self._ends)
        if response:  # up to the first response; the rest leaves in writes of its own
            cut = self._ends.pop(0)
            parts, self._parts = parts[:cut], parts[cut:]
            self._ends = [e - cut for e in self._ends]
            if self._parts:
                asyncio.get_running_loop().call_soon(self.flush)
        data = b"".join(parts)
        if not data:
            return
        if response:
            self._responded = time.monotonic()
        elif time.monotonic() - self._responded < NUDGE_WINDOW_S:
            self._nudge()
        self._send(data)

    def _send(self, data: bytes) -> None:
        try:
            self.out.write(data)
            self.out.flush()
        except (BrokenPipeError, ValueError):
            log.error("the connection to the editor is lost; stopping")
            self.on_broken()

    def _nudge(self) -> None:
        for handle in self._nudges:
            handle.cancel()
        loop = asyncio.get_running_loop()
        self._nudges = [loop.call_later(delay, self._send, NUDGE) for delay in NUDGE_AFTER_S]

    def close(self) -> None:
        while self._parts:
            self.flush()
        for handle in self._nudges:
            handle.cancel()
        self.out.close()


def serve_stdio(server: Any) -> None:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        mode = 0
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
        server.start_io()
        return

    async def main() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 30, loop=loop)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader, loop=loop), sys.stdin.buffer)
        server.protocol.set_writer(TickWriter(sys.stdout.buffer, on_broken=transport.close))
        try:
            await run_async(stop_event=server._stop_event, reader=reader, protocol=server.protocol,
                            logger=logging.getLogger("pygls.server"),
                            error_handler=server.report_server_error)
        except asyncio.IncompleteReadError:  # the editor went away mid-message
            pass

    server._stop_event = threading.Event()
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
