"""The stdio transport for a server Baton started itself (sandbox/services.py).

The SDK's `stdio_client` spawns the server, so it cannot put it in the sandbox; this is
the same bridge over pipes Baton already holds, with the bounds a hostile server needs:
one message is at most `services.MESSAGE_LIMIT` bytes (a longer line ends the connection,
said in `problem`), lines that are not JSON-RPC are dropped (after MAX_JUNK of them the
connection ends), and stderr is kept to its last STDERR_KEEP bytes, for the error a crash
becomes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp import types
from mcp.client._transport import TransportStreams
from mcp.shared.message import SessionMessage

MAX_JUNK = 1_000
STDERR_KEEP = 4_000


class Pipes:
    """What the transport learnt about the server, for the error its end becomes."""

    def __init__(self) -> None:
        self.stderr = bytearray()
        self.problem = ""

    def tail(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()


async def _stderr(stream: asyncio.StreamReader, pipes: Pipes) -> None:
    while chunk := await stream.read(65536):
        pipes.stderr += chunk
        del pipes.stderr[:-STDERR_KEEP]


@asynccontextmanager
async def process_streams(proc: asyncio.subprocess.Process, pipes: Pipes) -> AsyncIterator[TransportStreams]:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](0)

    async def reader() -> None:
        junk = 0
        async with read_send:
            while True:
                try:
                    line = await stdout.readline()
                except ValueError:  # over the stream's limit
                    pipes.problem = "it sent a message larger than Baton accepts"
                    return
                if not line:
                    return
                if not line.strip():
                    continue
                try:
                    message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except ValueError as e:
                    junk += 1
                    if junk > MAX_JUNK:
                        pipes.problem = f"it wrote more than {MAX_JUNK} lines that are not MCP messages"
                        return
                    await read_send.send(e)
                    continue
                await read_send.send(SessionMessage(message))

    async def writer() -> None:
        async with write_recv:
            async for m in write_recv:
                data = m.message.model_dump_json(by_alias=True, exclude_unset=True)
                try:
                    stdin.write(data.encode() + b"\n")
                    await stdin.drain()
                except (ConnectionError, OSError):
                    return  # the server is gone; the reader sees its end

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        tg.start_soon(_stderr, stderr, pipes)
        try:
            yield read_recv, write_send
        finally:
            tg.cancel_scope.cancel()
