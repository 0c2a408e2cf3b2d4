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


async def test_a_response_ends_its_write_and_what_follows_it_is_nudged(monkeypatch):
    """Emacs's jsonrpc and lsp-mode leave what follows the answer to a synchronous request
    in the same read unprocessed until more data arrives."""
    from baton.lsp import stdio
    monkeypatch.setattr(stdio, "NUDGE_AFTER_S", (0.05,))
    out = Out()
    w = TickWriter(out, on_broken=lambda: None)  # type: ignore[arg-type]
    w.write(b"note1")
    w.write(b"reply1")
    w.responded()
    w.write(b"request")
    w.write(b"reply2")
    w.responded()
    w.write(b"note2")
    await asyncio.sleep(0.01)
    assert out.writes == [b"note1reply1", b"requestreply2", b"note2"]
    await asyncio.sleep(0.1)
    assert out.writes[3:] == [stdio.NUDGE]  # once, after the last write that followed a reply
    assert stdio.NUDGE.startswith(b"Content-Length: %d\r\n\r\n" % (len(stdio.NUDGE) - stdio.NUDGE.index(b"{")))


async def test_without_responses_nothing_is_split_or_nudged():
    out = Out()
    w = TickWriter(out, on_broken=lambda: None)  # type: ignore[arg-type]
    w.write(b"a")
    w.write(b"b")
    await asyncio.sleep(0.3)
    assert out.writes == [b"ab"]


async def test_close_writes_everything_and_cancels_the_nudges(monkeypatch):
    from baton.lsp import stdio
    monkeypatch.setattr(stdio, "NUDGE_AFTER_S", (0.05,))
    out = Out()
    w = TickWriter(out, on_broken=lambda: None)  # type: ignore[arg-type]
    w.write(b"reply")
    w.responded()
    w.write(b"note")
    w.close()
    await asyncio.sleep(0.1)
    assert out.writes == [b"reply", b"note"] and out.closed
