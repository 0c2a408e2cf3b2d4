"""Moving a run's changes out of its shadow and into the person's files, and back.

Every change is computed against the base the agent read. Before delivery it is rebased
onto what the person has now (open buffer, else disk) by a 3-way merge, so their typing
is never overwritten. The host delivers (`workspace/applyEdit` for an editor); a
declined or stale delivery is rebased and retried a bounded number of times.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..sandbox.shadow import Change, read_text_file
from .host import FileEdit, Question
from .runs import Delivered
from .session import RunContext

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

ATTEMPTS = 3
KEEP_MINE, TAKE_AGENT, SHOW_BOTH = "Keep mine", "Take the agent's", "Show both"


class Delivery:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.last_failure = ""

    def _delivered(self, ctx: RunContext) -> dict[str, str | None]:
        """Per path, the text the run last put in the person's file."""
        out: dict[str, str | None] = {}
        for d in ctx.run.deliveries:
            if d.applied and not d.revert:
                for e in d.edits:
                    out[e.path] = e.after
        return out

    def pending(self, ctx: RunContext) -> list[Change]:
        """Shadow changes not yet delivered: (what was delivered or the base) → shadow."""
        delivered = self._delivered(ctx)
        out = []
        for rel in sorted(ctx.shadow.touched):
            prior = delivered[rel] if rel in delivered else ctx.shadow.base(rel)
            new = ctx.shadow.read(rel)
            if new != prior:
                out.append(Change(path=rel, base=prior, new=new))
        return out

    def full_changes(self, ctx: RunContext) -> list[Change]:
        return ctx.shadow.changes()

    def _now(self, rel: str) -> tuple[str | None, int | None]:
        path = self.engine.policy.absolute(rel)
        doc = self.engine.host.open_document(path)
        if doc is not None:
            return doc.text, doc.version
        return read_text_file(path), None

    async def _rebase(self, ctx: RunContext, change: Change) -> FileEdit | None:
        """The edit that turns what the person has now into now + the agent's change."""
        current, version = self._now(change.path)
        if current == change.base:
            after = change.new
        elif current == change.new:
            return None  # already there (the person or a previous attempt made it)
        elif change.base is None or change.new is None or current is None:
            after = await self._conflict(ctx, change.path, current, change.new, whole_file=True)
        else:
            from ..edits.merge import merge3
            merged = merge3(change.base, change.new, current)
            after = merged.text
            if merged.conflicts:
                after = await self._conflict(ctx, change.path, current, change.new,
                                             whole_file=False, merged=merged)
        if after == current:
            return None
        return FileEdit(path=change.path, before=current, after=after, version=version)

    async def _conflict(self, ctx: RunContext, rel: str, current: str | None, agent: str | None,
                        *, whole_file: bool, merged=None) -> str | None:
        where = "the whole file" if whole_file else "the same lines"
        question = Question(text=f"You changed {rel} where Baton run {ctx.run.id} also changed "
                                 f"{where}. What should Baton do?",
                            options=[KEEP_MINE, TAKE_AGENT] + ([SHOW_BOTH] if merged else []))
        try:
            choice = await self.engine.host.ask_question(ctx.run.id, question)
        except Exception:
            choice = None
        if choice == TAKE_AGENT:
            if merged is None:
                return agent
            from ..edits.merge import resolve
            return resolve(merged, "agent")
        if choice == SHOW_BOTH and merged is not None:
            from ..edits.merge import resolve
            return resolve(merged, "both")
        # No answer keeps what the person has: never a silent overwrite.
        if merged is None:
            return current
        from ..edits.merge import resolve
        return resolve(merged, "mine")

    async def deliver(self, ctx: RunContext) -> bool:
        """Deliver every pending change; False (with `last_failure`) if the editor declined."""
        async with ctx.lock:
            for attempt in range(ATTEMPTS):
                edits = [e for c in self.pending(ctx) if (e := await self._rebase(ctx, c))]
                if not edits:
                    self._mark_current(ctx)
                    return True
                if await self._send(ctx, edits, revert=False, attempt=attempt):
                    return True
            return False

    def _mark_current(self, ctx: RunContext) -> None:
        # Pending changes the person already has count as delivered, so revert knows them.
        done = [FileEdit(path=c.path, before=c.base, after=c.new) for c in self.pending(ctx)]
        if done:
            self.engine.emit(ctx, Delivered(edits=done, applied=True, reason="already present"))

    async def _send(self, ctx: RunContext, edits: list[FileEdit], *, revert: bool,
                    attempt: int) -> bool:
        label = f"Baton run {ctx.run.id}" + (" (revert)" if revert else "")
        await self.engine.journal.flush()  # the intent is durable before the side effect
        try:
            result = await self.engine.host.apply_edits(ctx.run.id, label, edits)
        except Exception as e:
            log.warning("run %s: delivering edits failed: %s", ctx.run.id, e)
            from .host import ApplyResult
            result = ApplyResult(applied=False, reason=f"{type(e).__name__}: {e}")
        self.engine.emit(ctx, Delivered(edits=edits, applied=result.applied, reason=result.reason,
                                        revert=revert))
        if not result.applied:
            self.last_failure = (f"the editor did not apply the edit"
                                 + (f": {result.reason}" if result.reason else "")
                                 + f" (attempt {attempt + 1} of {ATTEMPTS})")
            log.info("run %s: %s", ctx.run.id, self.last_failure)
        return result.applied

    async def revert(self, ctx: RunContext) -> bool:
        """Send the inverse of exactly what the run applied, merged onto what is there now."""
        original: dict[str, str | None] = {}
        for d in ctx.run.deliveries:
            if d.applied and not d.revert:
                for e in d.edits:
                    original.setdefault(e.path, e.before)
        last = self._delivered(ctx)
        changes = [Change(path=p, base=last[p], new=original[p]) for p in sorted(original)]
        for attempt in range(ATTEMPTS):
            edits = [e for c in changes if (e := await self._rebase(ctx, c))]
            if not edits:
                self.engine.emit(ctx, Delivered(edits=[], applied=True, revert=True,
                                                reason="nothing left to revert"))
                return True
            if await self._send(ctx, edits, revert=True, attempt=attempt):
                return True
        return False
