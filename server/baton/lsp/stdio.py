"""The editor's stdio transport, tuned for a busy server.

Reading: pygls's own stdio loop reads through a thread pool, one executor round trip per
header line and per body, so under load each message waits for several turns of a busy
event loop. Reading stdin as an asyncio pipe takes a whole message from the buffer in one
turn. Anything that is not a pipe (a file, a closed stdin) keeps pygls's reader.

Writing: the messages pygls sends in one turn of the loop leave in one write, so the
editor wakes once for a burst (a run's notice, progress and edit), not once per message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from typing import Any, BinaryIO

from pygls.io_ import run_async

log = logging.getLogger(__name__)


class TickWriter:
    def __init__(self, out: BinaryIO, on_broken: Any) -> None:
        self.out = out
        self.on_broken = on_broken
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._parts:
            asyncio.get_running_loop().call_soon(self.flush)
        self._parts.append(data)

    def flush(self) -> None:
        data, self._parts = b"".join(self._parts), []
        if not data:
            return
        try:
            self.out.write(data)
            self.out.flush()
        except (BrokenPipeError, ValueError):
            log.error("the connection to the editor is lost; stopping")
            self.on_broken()

    def close(self) -> None:
        self.flush()
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
