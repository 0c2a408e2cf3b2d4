"""The editor's stdio transport, tuned for a busy server.

Reading: pygls's own stdio loop reads through a thread pool, one executor round trip per
header line and per body, so under load each message waits for several turns of a busy
event loop. Reading stdin as an asyncio pipe takes a whole message from the buffer in one
turn. Anything that is not a pipe (a file, a closed stdin) keeps pygls's reader.

Writing: the messages pygls sends in one turn of the loop leave in one write, so the
editor wakes once for a burst (a run's notice, progress and edit), not once per message.

Emacs's clients are handled with care. Their JSON-RPC readers (jsonrpc.el under Eglot,
lsp-mode's filter) stop reading a chunk at the response a synchronous request waits for:
lsp-mode drops what came after it in the same read, Eglot leaves it unprocessed until more
data arrives, so a request Baton sent then (an edit to apply, a prompt) would never be
answered. For them (`careful`) a response ends its write, other messages wait until
RESPONSE_GAP_S after the last response so that it is read alone, and whatever follows a
response within NUDGE_WINDOW_S is followed, NUDGE_AFTER_S later, by an empty
`telemetry/event` (which every client ignores): new data that makes a client that stopped
read on. Responses themselves are never delayed.
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

RESPONSE_GAP_S = 0.05
NUDGE_WINDOW_S = 2.0
NUDGE_AFTER_S = (0.2, 2.0)
_NUDGE_BODY = b'{"jsonrpc":"2.0","method":"telemetry/event","params":{}}'
NUDGE = b"Content-Length: %d\r\n\r\n%s" % (len(_NUDGE_BODY), _NUDGE_BODY)


class TickWriter:
    def __init__(self, out: BinaryIO, on_broken: Any) -> None:
        self.out = out
        self.on_broken = on_broken
        self.careful = False  # set at initialize for Emacs's clients (lsp/client_support.py)
        self._parts: list[bytes] = []
        self._ends: list[int] = []  # careful: where each response ends in the parts
        self._responded = float("-inf")  # careful: when the last response was written
        self._nudges: list[asyncio.TimerHandle] = []
        self._held: asyncio.TimerHandle | None = None  # careful: a flush waiting for the gap

    def write(self, data: bytes) -> None:
        if not self._parts and self._held is None:
            asyncio.get_running_loop().call_soon(self.flush)
        self._parts.append(data)

    def responded(self) -> None:
        """The part written last is a response (lsp/server.py's protocol says so)."""
        if self.careful:
            if self._held is not None:  # a response is never delayed
                self._held.cancel()
                self._held = None
                asyncio.get_running_loop().call_soon(self.flush)
            self._ends.append(len(self._parts))

    def flush(self) -> None:
        self._held = None
        if not self.careful:
            data, self._parts = b"".join(self._parts), []
            if data:
                self._send(data)
            return
        if self._ends:  # up to and with the first response, at once
            cut = self._ends.pop(0)
            parts, self._parts = self._parts[:cut], self._parts[cut:]
            self._ends = [e - cut for e in self._ends]
            self._responded = time.monotonic()
        else:
            wait = self._responded + RESPONSE_GAP_S - time.monotonic()
            if wait > 0:
                if self._parts:
                    self._held = asyncio.get_running_loop().call_later(wait, self.flush)
                return
            parts, self._parts = self._parts, []
            if parts and time.monotonic() - self._responded < NUDGE_WINDOW_S:
                self._nudge()
        if self._parts and self._held is None:
            self._held = asyncio.get_running_loop().call_later(0, self.flush)
        if parts:
            self._send(b"".join(parts))

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
        for handle in [*self._nudges, self._held]:
            if handle is not None:
                handle.cancel()
        data, self._parts, self._ends = b"".join(self._parts), [], []
        if data:
            self._send(data)
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
