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


def careful_writer(monkeypatch) -> tuple[TickWriter, Out]:
    from baton.lsp import stdio
    monkeypatch.setattr(stdio, "NUDGE_AFTER_S", (0.15,))
    monkeypatch.setattr(stdio, "RESPONSE_GAP_S", 0.05)
    out = Out()
    w = TickWriter(out, on_broken=lambda: None)  # type: ignore[arg-type]
    w.careful = True
    return w, out


async def test_for_emacs_a_response_is_read_alone_and_what_follows_is_nudged(monkeypatch):
    """Emacs's jsonrpc and lsp-mode stop reading a chunk at the answer to a synchronous
    request: what follows it must arrive in a read of its own."""
    from baton.lsp import stdio
    w, out = careful_writer(monkeypatch)
    w.write(b"note1")
    w.write(b"reply1")
    w.responded()
    w.write(b"request")
    await asyncio.sleep(0.01)
    assert out.writes == [b"note1reply1"]  # the request waits for the gap
    w.write(b"reply2")
    w.responded()  # a response never waits: it takes what is pending with it
    await asyncio.sleep(0.01)
    assert out.writes == [b"note1reply1", b"requestreply2"]
    w.write(b"note2")
    await asyncio.sleep(0.03)
    assert out.writes[2:] == []
    await asyncio.sleep(0.05)
    assert out.writes[2:] == [b"note2"]
    await asyncio.sleep(0.2)
    assert out.writes[3:] == [stdio.NUDGE]  # once, after the last write that followed a reply
    assert stdio.NUDGE.startswith(b"Content-Length: %d\r\n\r\n" % (len(stdio.NUDGE) - stdio.NUDGE.index(b"{")))


async def test_other_clients_get_one_write_per_turn_responses_included():
    out = Out()
    w = TickWriter(out, on_broken=lambda: None)  # type: ignore[arg-type]
    w.write(b"reply")
    w.responded()
    w.write(b"note")
    await asyncio.sleep(0.3)
    assert out.writes == [b"replynote"]


async def test_close_writes_everything_and_cancels_the_nudges(monkeypatch):
    w, out = careful_writer(monkeypatch)
    w.write(b"reply")
    w.responded()
    await asyncio.sleep(0.01)
    w.write(b"note")  # held for the gap
    w.close()
    await asyncio.sleep(0.2)
    assert out.writes == [b"reply", b"note"] and out.closed
