"""Moving a run's changes out of its shadow and into the person's files, and back.

Every change is computed against the base the agent read. Before delivery it is rebased
onto what the person has now (open buffer, else disk) by a 3-way merge, so their typing
is never overwritten. The host delivers (`workspace/applyEdit` for an editor); a
declined or stale delivery is rebased and retried a bounded number of times.

Bookkeeping, in two spaces. The journal's `Delivered` events record what each delivery
did to the person's text (before → after, their typing included): revert undoes exactly
those, newest first. The run's folder keeps, per file, the agent-side text delivered so
far (`landed/`): what is still pending is landed → shadow, so a second delivery (a
reviewer's round, one hunk after another) sends only the rest and never undoes what the
person typed in between. Deliveries touching a file hold the engine's lock for that file,
so two runs never interleave inside one delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from ..edits import hunks as hunks_
from ..edits.diff import unified_diff, with_line_endings_of
from ..errors import RunFailed, UserInputError
from ..sandbox.nofollow import write_tree_file
from ..sandbox.shadow import Change, read_text_file
from .host import ApplyResult, FileEdit, Question
from .runs import Approval, Delivered
from .session import RunContext

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

ATTEMPTS = 3
BIG_TEXT = 256 * 1024
KEEP_MINE, TAKE_AGENT, SHOW_BOTH = "Keep mine", "Take the agent's", "Show both"


class Delivery:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.last_failure = ""

    # -- what has landed (agent side) -------------------------------------------------
    def _landed_index(self, ctx: RunContext) -> dict[str, bool]:
        index = ctx.folder / "landed" / "index.json"
        return json.loads(index.read_text()) if index.exists() else {}

    def _set_landed(self, ctx: RunContext, texts: dict[str, str | None]) -> None:
        store = ctx.folder / "landed"
        index = self._landed_index(ctx)
        store.mkdir(parents=True, exist_ok=True)
        for rel, text in texts.items():
            if text is not None:
                write_tree_file(store, f"files/{rel}", text.encode("utf-8", "surrogatepass"))
            index[rel] = text is not None
        tmp = store / "index.tmp"
        tmp.write_text(json.dumps(index))
        os.replace(tmp, store / "index.json")

    def is_landed(self, ctx: RunContext, rel: str) -> bool:
        return rel in self._landed_index(ctx) or rel in self._delivered(ctx)

    def delivered_text(self, ctx: RunContext, rel: str) -> str | None:
        """What the person had right after this run's last delivery to `rel` (None: none)."""
        return self._delivered(ctx).get(rel)

    def prior(self, ctx: RunContext, rel: str) -> str | None:
        """The agent-side text of `rel` the person already has: landed, else the base."""
        index = self._landed_index(ctx)
        if rel in index:
            if not index[rel]:
                return None
            return (ctx.folder / "landed" / "files" / rel).read_bytes().decode("utf-8")
        legacy = self._delivered(ctx)  # a run delivered before `landed/` existed
        return legacy[rel] if rel in legacy else ctx.shadow.base(rel)

    def _delivered(self, ctx: RunContext) -> dict[str, str | None]:
        """Per path, the person's text right after the run's last delivery to it."""
        out: dict[str, str | None] = {}
        for d in ctx.run.deliveries:
            if d.applied and not d.revert:
                for e in d.edits:
                    out[e.path] = e.after
        return out

    def agent_text(self, ctx: RunContext, rel: str) -> str | None:
        """The shadow's text, with the line ends of the file the agent read (models write \\n)."""
        new = ctx.shadow.read(rel)
        base = ctx.shadow.base(rel)
        return with_line_endings_of(base, new) if base is not None and new is not None else new

    def pending(self, ctx: RunContext) -> list[Change]:
        """Shadow changes not yet delivered: what landed (or the base) → shadow."""
        out = []
        for rel in sorted(ctx.shadow.touched):
            prior, new = self.prior(ctx, rel), self.agent_text(ctx, rel)
            if new != prior:
                out.append(Change(path=rel, base=prior, new=new))
        return out

    def full_changes(self, ctx: RunContext) -> list[Change]:
        """The run's whole change: the base the agent read → shadow."""
        out = []
        for rel in sorted(ctx.shadow.touched):
            base, new = ctx.shadow.base(rel), self.agent_text(ctx, rel)
            if base != new:
                out.append(Change(path=rel, base=base, new=new))
        return out

    def pending_diff(self, ctx: RunContext) -> str:
        return "".join(unified_diff(c.path, c.base, c.new) for c in self.pending(ctx))

    # -- merging onto what the person has now -----------------------------------------
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
            if len(current) > BIG_TEXT:  # a multi-megabyte merge must not stall the editor's requests
                merged = await asyncio.to_thread(merge3, change.base, change.new, current)
            else:
                merged = merge3(change.base, change.new, current)
            after = merged.text
            if merged.conflicts:
                after = await self._conflict(ctx, change.path, current, change.new,
                                             whole_file=False, merged=merged)
        if after == current:
            return None
        return FileEdit(path=change.path, before=current, after=after, version=version)

    async def _conflict(self, ctx: RunContext, rel: str, current: str | None, agent: str | None,
                        *, whole_file: bool, merged=None, outside: bool = False) -> str | None:
        where = "the whole file" if whole_file else "the same lines"
        who = "The file on disk changed (outside the editor)" if outside else "You changed"
        question = Question(text=f"{who} {rel} where Baton run {ctx.run.id} also changed "
                                 f"{where}. What should Baton do?",
                            options=[KEEP_MINE, TAKE_AGENT] + ([SHOW_BOTH] if merged else []))
        try:
            choice = await self.engine.host.ask_question(ctx.run.id, question)
        except Exception:
            choice = None
        from ..edits.merge import resolve
        if choice == TAKE_AGENT:
            return agent if merged is None else resolve(merged, "agent")
        if choice == SHOW_BOTH and merged is not None:
            return resolve(merged, "both")
        # No answer keeps what the person has: never a silent overwrite.
        return current if merged is None else resolve(merged, "mine")

    @asynccontextmanager
    async def holding(self, paths: list[str]) -> AsyncIterator[None]:
        """The engine's per-file locks for `paths`, taken in one order (no deadlock)."""
        async with AsyncExitStack() as stack:
            for rel in sorted(set(paths)):
                await stack.enter_async_context(self.engine.file_lock(rel))
            yield

    # -- delivering -------------------------------------------------------------------
    async def deliver(self, ctx: RunContext) -> bool:
        """Deliver every pending change; False (with `last_failure`) if the editor declined."""
        async with ctx.lock:
            paths = [c.path for c in self.pending(ctx)]
            async with self.holding(paths):
                return await self._deliver(ctx, lambda: [c for c in self.pending(ctx)
                                                         if c.path in paths])

    async def _deliver(self, ctx: RunContext, changes) -> bool:
        """Rebase and send `changes()` (recomputed per attempt) until the editor takes them."""
        previous: list[FileEdit] | None = None
        for attempt in range(ATTEMPTS):
            wanted = changes()
            edits: list[FileEdit] = []
            settled: list[Change] = []
            for c in wanted:
                e = await self._rebase(ctx, c)
                (edits if e else settled).append(e or c)
            if edits and edits == previous:
                # Nothing moved since the editor said no: the person declined (a preview
                # cancelled), so asking again would only repeat the question.
                return False
            if not edits or await self._send(ctx, edits, revert=False, attempt=attempt):
                self._settle(ctx, settled)
                self._set_landed(ctx, {c.path: c.new for c in wanted})
                return True
            previous = edits
        return False

    def _settle(self, ctx: RunContext, settled: list[Change]) -> None:
        """Changes that needed no edit: the person already has them (recorded as delivered,
        so revert knows them), or kept their own text in a conflict (nothing delivered)."""
        present = [FileEdit(path=c.path, before=c.base, after=c.new) for c in settled
                   if self._now(c.path)[0] == c.new]
        if present:
            self.engine.emit(ctx, Delivered(edits=present, applied=True, reason="already present"))

    async def _send(self, ctx: RunContext, edits: list[FileEdit], *, revert: bool,
                    attempt: int) -> bool:
        label = f"Baton run {ctx.run.id}" + (" (revert)" if revert else "")
        await self.engine.journal.flush()  # the intent is durable before the side effect
        try:
            # In review mode the person asked to see changes before they land: the editor
            # may confirm them once more in its own preview (VS Code's Refactor Preview).
            confirm = ctx.run.edit_mode == "review" and not revert
            result = await self.engine.host.apply_edits(ctx.run.id, label, _with_renames(edits),
                                                        confirm=confirm)
        except Exception as e:
            log.warning("run %s: delivering edits failed: %s", ctx.run.id, e)
            result = ApplyResult(applied=False, reason=f"{type(e).__name__}: {e}")
        self.engine.emit(ctx, Delivered(edits=edits, applied=result.applied, reason=result.reason,
                                        revert=revert))
        if not result.applied:
            self.last_failure = ("the editor did not apply the edit"
                                 + (f": {result.reason}" if result.reason else "")
                                 + f" (attempt {attempt + 1} of {ATTEMPTS})")
            log.info("run %s: %s", ctx.run.id, self.last_failure)
        return result.applied

    # -- one hunk of changes.diff -----------------------------------------------------
    async def _hunk(self, ctx: RunContext, rel: str, hunk_id: str) -> tuple[Change, hunks_.Hunk]:
        change = next((c for c in self.pending(ctx) if c.path == rel), None)
        found = None
        if change is not None:  # diffing a big file happens off the event loop
            found = hunks_.find(await asyncio.to_thread(hunks_.file_hunks, rel, change.base,
                                                        change.new), rel, hunk_id)
        if change is None or found is None:
            raise UserInputError(f"that hunk of {rel} is no longer in changes.diff (it was applied "
                                 "or rejected, or the diff was rewritten): reload changes.diff")
        return change, found

    async def apply_hunk(self, ctx: RunContext, rel: str, hunk_id: str) -> int:
        """Deliver exactly one hunk of the held changes, rebased onto what the person has now;
        returns how many hunks are left."""
        async with ctx.lock, self.holding([rel]):
            change, h = await self._hunk(ctx, rel, hunk_id)
            part = Change(path=rel, base=change.base, new=hunks_.apply_hunk(change.base, change.new, h))
            if not await self._deliver(ctx, lambda: [part]):
                raise RunFailed(f"the hunk was not applied: {self.last_failure}")
        return await self._after_hunk(ctx)

    async def reject_hunk(self, ctx: RunContext, rel: str, hunk_id: str) -> int:
        """Drop exactly one hunk from the run's changes (its shadow): it is never delivered;
        returns how many hunks are left."""
        async with ctx.lock, self.holding([rel]):
            change, h = await self._hunk(ctx, rel, hunk_id)
            kept = hunks_.drop_hunk(change.base, change.new, h)
            if kept is None:
                ctx.shadow.delete(rel)
            else:
                ctx.shadow.write(rel, kept)
            log.info("run %s: hunk %s of %s rejected", ctx.run.id, hunk_id, rel)
        return await self._after_hunk(ctx)

    def write_changes(self, ctx: RunContext, left: str | None = None) -> str:
        """Rewrite changes.diff with what is left to apply; returns that diff."""
        from .planfile import render_changes
        left = self.pending_diff(ctx) if left is None else left
        (ctx.folder / "changes.diff").write_text(render_changes(ctx.run, left), encoding="utf-8")
        return left

    async def _after_hunk(self, ctx: RunContext) -> int:
        """changes.diff shows what is left; with nothing left the run ends."""
        from .runs import State
        diff = await asyncio.to_thread(self.pending_diff, ctx)
        left = len(hunks_.parse(self.write_changes(ctx, diff)))
        if left:
            await self.engine.notify(ctx, f"changes.diff updated: {left} hunk(s) left to apply")
            return left
        took_any = any(d.applied and not d.revert for d in ctx.run.deliveries)
        approval = (Approval(decision="accept") if took_any else
                    Approval(decision="reject", text="every change rejected"))
        self.engine.decide(ctx.run.id, "Apply changes", (State.AWAITING_APPLY,), approval)
        return 0

    # -- revert -----------------------------------------------------------------------
    async def revert(self, ctx: RunContext) -> bool:
        """Send the inverse of exactly what the run applied, merged onto what is there now."""
        applied = [d for d in ctx.run.deliveries if d.applied and not d.revert]
        paths = sorted({e.path for d in applied for e in d.edits})
        changes = []
        for rel in paths:
            steps = [e for d in applied for e in d.edits if e.path == rel]
            last = steps[-1].after
            # Undo each delivery, newest first, keeping what the person typed in between.
            text = last
            for e in reversed(steps):
                text = _undo(e, text)
            changes.append(Change(path=rel, base=last, new=text))
        async with self.holding(paths):
            for attempt in range(ATTEMPTS):
                edits = [e for c in changes if (e := await self._rebase(ctx, c))]
                if not edits:
                    self.engine.emit(ctx, Delivered(edits=[], applied=True, revert=True,
                                                    reason="nothing left to revert"))
                    return True
                if await self._send(ctx, edits, revert=True, attempt=attempt):
                    return True
        return False


def _undo(e: FileEdit, text: str | None) -> str | None:
    """`text` with delivery `e` (before → after) taken back; what else changed stays."""
    if text == e.after:
        return e.before
    if e.before is None or e.after is None or text is None:
        return text  # the file was recreated or removed since: leave it to the merge onto now
    from ..edits.merge import merge3
    return merge3(e.after, e.before, text).text


def _with_renames(edits: list[FileEdit]) -> list[FileEdit]:
    """A file deleted and another created with the same text is a rename: the editor moves
    the file (its open tab follows) instead of deleting one and writing the other. The
    journal keeps the two edits, so revert pairs them back the same way."""
    deleted = {e.before: e for e in edits if e.after is None and e.before is not None}
    out: list[FileEdit] = []
    moved_away: set[str] = set()
    for e in edits:
        if e.before is None and e.after is not None and e.after in deleted:
            old = deleted.pop(e.after)
            moved_away.add(old.path)
            e = FileEdit(path=e.path, before=e.after, after=e.after, rename_from=old.path)
        out.append(e)
    return [e for e in out if e.path not in moved_away]
