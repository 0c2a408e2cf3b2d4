"""The editor's stdio writer: one write per turn of the loop, in order; a gone editor stops
the server instead of raising into pygls."""

from __future__ import annotations

import asyncio

from baton.lsp.stdio import TickWriter


class Out:
    def __init__(self, broken: bool = False) -> None:
        self.writes: list[bytes] = []
        self.broken = broken
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.broken:
            raise BrokenPipeError()
        self.writes.append(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


async def test_messages_of_one_turn_leave_in_one_write_in_order():
    out = Out()
    w = TickWriter(out, on_broken=lambda: None)  # type: ignore[arg-type]
    for part in (b"a", b"b", b"c"):
        w.write(part)
    assert out.writes == []
    await asyncio.sleep(0)
    w.write(b"d")
    await asyncio.sleep(0)
    assert out.writes == [b"abc", b"d"]


async def test_close_flushes_what_is_left():
    out = Out()
    w = TickWriter(out, on_broken=lambda: None)  # type: ignore[arg-type]
    w.write(b"last")
    w.close()
    assert out.writes == [b"last"] and out.closed


async def test_a_gone_editor_stops_the_server():
    stopped: list[bool] = []
    w = TickWriter(Out(broken=True), on_broken=lambda: stopped.append(True))  # type: ignore[arg-type]
    w.write(b"x")
    await asyncio.sleep(0)
    assert stopped == [True]
