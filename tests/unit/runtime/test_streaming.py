"""The streamer: a turn's writes reach the delivery as soon as the turn's calls are done (or
after EVERY_S at the latest) while the agent goes on, bounded however many writes there
are; a declined edit stops streaming; closing lets a delivery under way finish."""

from __future__ import annotations

import asyncio
from pathlib import Path

from baton.runtime import streaming
from baton.runtime.context import RunContext
from baton.runtime.runs import Run
from baton.runtime.streaming import Streamer


class FakeDelivery:
    def __init__(self, answer: bool = True, seconds: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.answer, self.seconds = answer, seconds
        self.last_failure = "declined by the test"
        self.finished = 0

    async def deliver(self, ctx, paths, *, ask=True, durable=True) -> bool:
        assert ask is False  # streamed deliveries never ask: the agent may still be writing
        self.calls.append(paths)
        await asyncio.sleep(self.seconds)
        self.finished += 1
        return self.answer


class FakeRecorder:
    def __init__(self) -> None:
        self.notices: list[str] = []

    async def notify(self, ctx, reason: str = "") -> None:
        self.notices.append(reason)


class Touched:
    """The shadow's files a command may have changed."""

    def __init__(self) -> None:
        self.touched = {"a.py": None, "b.py": None}


def context() -> RunContext:
    return RunContext(run=Run(id="r"), folder=Path("/nonexistent"), state=Path("/nonexistent"), shadow=Touched(),  # type: ignore[arg-type]
                      grants=None)  # type: ignore[arg-type]


async def test_a_turns_writes_go_together_once_its_calls_are_done(monkeypatch):
    monkeypatch.setattr(streaming, "EVERY_S", 0.2)
    delivery, ctx = FakeDelivery(), context()
    s = Streamer(FakeRecorder(), delivery, ctx)  # type: ignore[arg-type]
    s.written("new.py")
    s.written("old.py")  # a rename: a new file and a deletion, in one turn
    await asyncio.sleep(0.05)
    assert delivery.calls == []  # the turn is not over
    s.turn_done()
    await asyncio.sleep(0.02)
    assert delivery.calls == [["new.py", "old.py"]]  # at once, in one edit
    s.written("slow.py")  # then a turn that takes long (a command, a question)
    await asyncio.sleep(0.1)
    assert len(delivery.calls) == 1
    await asyncio.sleep(0.2)
    assert delivery.calls[1:] == [["slow.py"]]  # EVERY_S after the write at the latest
    await s.close()


async def test_a_flood_of_writes_is_coalesced(monkeypatch):
    monkeypatch.setattr(streaming, "EVERY_S", 0.2)
    delivery, ctx = FakeDelivery(), context()
    s = Streamer(FakeRecorder(), delivery, ctx)  # type: ignore[arg-type]
    for i in range(5000):  # a hostile model's tiny edits, one per turn, as fast as it can
        s.written(f"f{i % 3}.py")
        s.turn_done()
        if i % 500 == 0:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    await s.close()
    # Every file delivered, in a few edits: at most one started per EVERY_S.
    assert {p for call in delivery.calls for p in call} == {"f0.py", "f1.py", "f2.py"}
    assert len(delivery.calls) <= 1 + 0.75 / 0.2


async def test_a_command_marks_every_touched_file_and_batches_are_capped(monkeypatch):
    monkeypatch.setattr(streaming, "MAX_FILES", 1)
    delivery, ctx = FakeDelivery(), context()
    s = Streamer(FakeRecorder(), delivery, ctx)  # type: ignore[arg-type]
    s.written(None)
    s.turn_done()
    await asyncio.sleep(0.4)
    await s.close()
    assert delivery.calls == [["a.py"], ["b.py"]]


async def test_a_declined_edit_stops_streaming_and_says_so():
    delivery, engine, ctx = FakeDelivery(answer=False), FakeRecorder(), context()
    s = Streamer(engine, delivery, ctx)  # type: ignore[arg-type]
    s.written("a.py")
    s.turn_done()
    await asyncio.sleep(0.05)
    s.written("b.py")
    s.turn_done()
    await asyncio.sleep(0.4)
    await s.close()
    assert ctx.declined and delivery.calls == [["a.py"]]
    assert "declined" in engine.notices[0]


async def test_close_lets_the_delivery_under_way_finish():
    delivery, ctx = FakeDelivery(seconds=0.2), context()
    s = Streamer(FakeRecorder(), delivery, ctx)  # type: ignore[arg-type]
    s.written("a.py")
    s.turn_done()
    await asyncio.sleep(0.05)
    await s.close()
    assert delivery.finished == 1
