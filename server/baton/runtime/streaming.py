"""Stream mode: each of the implementer's writes reaches the editor while it goes on working.

The session tells the `Streamer` which file a tool changed, and when all the tool calls of
a model turn are done; the streamer delivers in the background, so the agent's tool call
never waits on the editor. The writes of one turn go in one edit (a rename, written as a
new file and a deletion, is never half delivered), sent as soon as the turn's calls are
done, or `EVERY_S` after the first of them if the turn takes longer (a slow command, a
question). Bounded whatever the model does: one delivery in flight per run, at most one
started every `EVERY_S`, at most `MAX_FILES` files per edit; later writes are coalesced per
file into the next. A conflict with the person's typing is held without a question (the
agent may still be rewriting those lines): the implementer's final delivery asks. If the
editor declines a streamed edit, streaming stops for the run: the rest stays in the shadow
and is offered when the implementer is done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

from .context import RunContext
from .delivery import Delivery
from .recorder import Recorder

log = logging.getLogger(__name__)

EVERY_S = 0.25
MAX_FILES = 64


class Streamer:
    def __init__(self, recorder: Recorder, delivery: Delivery, ctx: RunContext) -> None:
        self.recorder = recorder
        self.delivery = delivery
        self.ctx = ctx
        self.dirty: set[str] = set()
        self._due = asyncio.Event()  # what is dirty should go now
        self._cap: asyncio.TimerHandle | None = None
        self._last = float("-inf")
        self._inflight: asyncio.Task[None] | None = None
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"stream-{ctx.run.id}")
        self._task.add_done_callback(self._ended)

    def written(self, rel: str | None) -> None:
        """A tool changed `rel` in the shadow (None: a command, which may have changed any
        file the run touched)."""
        if self.ctx.declined:
            return
        if rel is None:
            self.dirty.update(self.ctx.shadow.touched)
        else:
            self.dirty.add(rel)
        if self._cap is None:  # never later than this, however long the turn takes
            self._cap = asyncio.get_running_loop().call_later(EVERY_S, self._due.set)

    def turn_done(self) -> None:
        """Every tool call of a model turn is done: its writes go now."""
        if self.dirty:
            self._due.set()

    async def _run(self) -> None:
        while not self.ctx.declined:
            await self._due.wait()
            await asyncio.sleep(max(0.0, self._last + EVERY_S - time.monotonic()))
            self._due.clear()
            if self._cap is not None:
                self._cap.cancel()
                self._cap = None
            batch = sorted(self.dirty)[:MAX_FILES]
            self.dirty.difference_update(batch)
            if self.dirty:
                self._due.set()
            if not batch:
                continue
            self._last = time.monotonic()
            # Its own task, shielded: closing the stream lets it finish (see close).
            self._inflight = asyncio.get_running_loop().create_task(self._deliver(batch))
            await asyncio.shield(self._inflight)

    async def _deliver(self, batch: list[str]) -> None:
        held = self.ctx.held
        if not await self.delivery.deliver(self.ctx, batch, ask=False):
            self.ctx.declined = True
            await self.recorder.notify(self.ctx, "the editor declined a streamed edit: "
                                       f"{self.delivery.last_failure}; the rest is offered "
                                       "when the implementer is done")
        elif self.ctx.held != held:
            await self.recorder.notify(self.ctx, f"{self.ctx.held} hunk(s) held: you changed "
                                       "the same lines; Baton asks when the implementer is done")

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning("run %s: streaming edits stopped: %s (they are delivered when the "
                        "implementer is done)", self.ctx.run.id, task.exception())

    async def close(self) -> None:
        """Stop streaming; a delivery under way finishes first, so its bookkeeping holds."""
        if self._cap is not None:
            self._cap.cancel()
        self._task.cancel()
        with suppress(asyncio.CancelledError, Exception):  # a failure was logged by _ended
            await self._task
        if self._inflight is not None:
            with suppress(Exception):
                await self._inflight
