"""Moving a run's changes out of its shadow and into the person's files, and back.

Every change is computed against the base the agent read. Before delivery it is rebased
onto what the person has now (open buffer, else disk) by a 3-way merge, so their typing
is never overwritten. The host delivers (`workspace/applyEdit` for an editor); a
declined or stale delivery is rebased and retried a bounded number of times.

A conflict (both sides changed the same lines) never holds up the rest: what merges cleanly
is delivered at once and the agent's hunks in the conflicting regions are held. Where the
caller allows, the person is then asked, the question naming the lines; it waits as long as
they take and, for the run's own deliveries, is journaled (a restarted run redoes the
delivery and asks again). The answer settles exactly the regions it named (keep mine, take
the agent's, show both); a dismissed question leaves those hunks held: in changes.diff, to
apply or reject one by one, and counted in `baton/runChanged`'s `held`.

Bookkeeping, in two spaces. The journal's `Delivered` events record what each delivery
did to the person's text (before → after, their typing included): revert undoes exactly
those, newest first. The run's folder keeps, per file, the agent-side text that has landed
or was settled (`landed/`): what is still pending is landed → shadow, so a later delivery
(the next streamed write, a reviewer's round, one hunk after another) sends only the rest
and never undoes what the person typed in between; held hunks are simply still pending.
`landed/index.json` also names the files a delivery left hunks of (held). Deliveries
touching a file hold that file's lock (runtime/file_locks.py), so two runs never
interleave inside one delivery; no lock is held while the person is asked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..edits import hunks as hunks_
from ..edits.diff import unified_diff, with_line_endings_of
from ..edits.merge import Choice, merge3, settle
from ..errors import RunFailed, UserInputError
from ..sandbox.nofollow import write_tree_file
from ..sandbox.paths import PathPolicy
from ..sandbox.shadow import Change, read_text_file
from ..wire import Question
from .context import RunContext
from .file_locks import FileLocks
from .host import ApplyResult, FileEdit, Host
from .planfile import render_changes
from .recorder import Recorder
from .runs import ConflictAnswered, ConflictAsked, Delivered

log = logging.getLogger(__name__)

ATTEMPTS = 3
BIG_TEXT = 256 * 1024
NAMED = 3  # conflict regions a question names before "and N more"
KEEP_MINE, TAKE_AGENT, SHOW_BOTH = "Keep mine", "Take the agent's", "Show both"
REVERT_ANYWAY = "Revert them anyway"

# A conflict's identity: (path, the agent's version, the person's version) of the region.
# An answer settles the regions whose identity is unchanged since the question was asked.
Key = tuple[str, Any, Any]
Decide = Callable[[Key], Choice | None]


def _hold(key: Key) -> Choice | None:
    return None


@dataclass
class Clash:
    """A region both sides changed, left as the person has it and held."""
    key: Key
    where: str  # for the question: "hello.py lines 6–7"
    whole_file: bool


@dataclass
class Rebased:
    """One change rebased onto what the person has now."""
    change: Change  # base: the agent side the person already has; new: what should land
    current: str | None
    version: int | None
    after: str | None  # the person's text once this is delivered
    landed: str | None  # the agent side that reaches them (or was settled)
    clashes: list[Clash] = field(default_factory=list)

    def edit(self) -> FileEdit | None:
        if self.after == self.current:
            return None
        return FileEdit(path=self.change.path, before=self.current, after=self.after,
                        version=self.version)


class Delivery:
    def __init__(self, *, recorder: Recorder, host: Host, policy: PathPolicy,
                 locks: FileLocks) -> None:
        self.recorder = recorder
        self.host = host
        self.policy = policy
        self.locks = locks
        self.last_failure = ""

    # -- what has landed (agent side) -------------------------------------------------
    def _index(self, ctx: RunContext) -> dict[str, Any]:
        path = ctx.state / "landed" / "index.json"
        raw = json.loads(path.read_text()) if path.exists() else {}
        if "files" not in raw:  # written before held files were recorded: path → exists
            raw = {"files": raw, "held": []}
        return raw

    def _landed_index(self, ctx: RunContext) -> dict[str, bool]:
        return self._index(ctx)["files"]

    def _set_landed(self, ctx: RunContext, texts: dict[str, str | None],
                    targets: dict[str, str | None]) -> None:
        """Record what landed per file; a file keeps hunks held while something it was
        meant to get (`targets`) did not land, until all of the agent's text has."""
        store = ctx.state / "landed"
        index = self._index(ctx)
        held = set(index["held"])
        store.mkdir(parents=True, exist_ok=True)
        for rel, text in texts.items():
            if text is not None:
                write_tree_file(store, f"files/{rel}", text.encode("utf-8", "surrogatepass"))
            index["files"][rel] = text is not None
            if text != targets[rel]:
                held.add(rel)
            elif rel in held and text == self.agent_text(ctx, rel):
                held.discard(rel)
        index["held"] = sorted(held)
        self._write_index(store, index)

    def _mark_held(self, ctx: RunContext, paths: list[str]) -> None:
        index = self._index(ctx)
        index["held"] = sorted(set(index["held"]) | set(paths))
        self._write_index(ctx.state / "landed", index)

    @staticmethod
    def _write_index(store: Path, index: dict[str, Any]) -> None:
        store.mkdir(parents=True, exist_ok=True)
        tmp = store / "index.tmp"
        tmp.write_text(json.dumps(index))
        os.replace(tmp, store / "index.json")

    def recount(self, ctx: RunContext) -> int:
        """`ctx.held`: the agent's hunks still pending in files a delivery left hunks of."""
        total = 0
        for rel in self._index(ctx)["held"]:
            prior, new = self.prior(ctx, rel), self.agent_text(ctx, rel)
            if prior != new:
                total += len(hunks_.file_hunks(rel, prior, new))
        ctx.held = total
        return total

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
            return (ctx.state / "landed" / "files" / rel).read_bytes().decode("utf-8")
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

    def pending(self, ctx: RunContext, paths: list[str] | None = None) -> list[Change]:
        """Shadow changes not yet delivered: what landed (or the base) → shadow."""
        out = []
        for rel in sorted(ctx.shadow.touched if paths is None else paths):
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
        path = self.policy.absolute(rel)
        doc = self.host.open_document(path)
        if doc is not None:
            return doc.text, doc.version
        return read_text_file(path), None

    async def _rebase(self, change: Change, decide: Decide) -> Rebased:
        """What the person gets: now + the agent's change, conflicts settled by `decide`
        (None: held, the person's version stays there)."""
        rel = change.path
        current, version = self._now(rel)
        r = Rebased(change=change, current=current, version=version, after=current,
                    landed=change.new)
        if _same(current, change.base):  # the person changed nothing (that the editor kept)
            r.after = change.new
        elif _same(current, change.new):
            pass  # already there (the person or a previous attempt made it)
        elif change.base is None or change.new is None or current is None:
            # A file created or deleted on one side and changed on the other: no lines to
            # merge, the whole file is the conflict.
            key = (rel, change.new, current)
            choice = decide(key)
            if choice == "agent":
                r.after = change.new
            elif choice != "mine":
                r.landed = change.base
                r.clashes.append(Clash(key, f"{rel} (the whole file)", whole_file=True))
        else:
            if len(current) > BIG_TEXT:  # a multi-megabyte merge must not stall the editor's requests
                merged = await asyncio.to_thread(merge3, change.base, change.new, current)
            else:
                merged = merge3(change.base, change.new, current)
            choices = [decide((rel, c.agent, c.current)) for c in merged.conflicts]
            r.after, r.landed = settle(merged, choices)
            r.clashes = [Clash((rel, c.agent, c.current), f"{rel} {_lines(c)}", whole_file=False)
                         for c, choice in zip(merged.conflicts, choices) if choice is None]
        return r

    # -- delivering -------------------------------------------------------------------
    async def deliver(self, ctx: RunContext, paths: list[str] | None = None, *,
                      ask: bool = True, durable: bool = True) -> bool:
        """Deliver what is pending (of `paths`, else everything); False (with
        `last_failure`) if the editor declined. Conflicting hunks are held; with `ask`
        the person is asked about them (a `durable` question is journaled)."""
        async with ctx.lock:
            wanted = [c.path for c in self.pending(ctx, paths)]
            async with self.locks.holding(wanted):
                ok, rebased = await self._deliver(ctx, lambda: self.pending(ctx, wanted))
        if ok and ask:
            if durable and ctx.run.conflict is not None and not any(r.clashes for r in rebased):
                # Asked before a restart, and settled since (the person changed the lines).
                self.recorder.emit(ctx, ConflictAnswered(answer=None, reason="no longer in conflict"))
            targets = {r.change.path: r.change.new for r in rebased if r.clashes}
            ok = await self._settle(ctx, rebased, durable=durable, revert=False, changes=lambda: [
                Change(path=p, base=self.prior(ctx, p), new=new) for p, new in targets.items()])
        self.recount(ctx)
        return ok

    async def _deliver(self, ctx: RunContext, changes: Callable[[], list[Change]], *,
                       decide: Decide = _hold, revert: bool = False) -> tuple[bool, list[Rebased]]:
        """Rebase and send `changes()` (recomputed per attempt) until the editor takes them."""
        previous: list[FileEdit] | None = None
        rebased: list[Rebased] = []
        for attempt in range(ATTEMPTS):
            rebased = [await self._rebase(c, decide) for c in changes()]
            edits = [e for r in rebased if (e := r.edit()) is not None]
            if edits and edits == previous:
                # Nothing moved since the editor said no: the person declined (a preview
                # cancelled), so asking again would only repeat the question.
                break
            if not edits or await self._send(ctx, edits, revert=revert, attempt=attempt):
                if not revert:
                    self._record_present(ctx, [r for r in rebased if r.edit() is None])
                    self._set_landed(ctx, {r.change.path: r.landed for r in rebased},
                                     {r.change.path: r.change.new for r in rebased})
                return True, rebased
            previous = edits
        if not revert:
            self._mark_held(ctx, [r.change.path for r in rebased])
        return False, rebased

    def _record_present(self, ctx: RunContext, unchanged: list[Rebased]) -> None:
        """Changes that needed no edit because the person already has them: recorded as
        delivered, so revert knows them."""
        present = [FileEdit(path=r.change.path, before=r.change.base, after=r.change.new)
                   for r in unchanged if r.current == r.change.new != r.change.base]
        if present:
            self.recorder.emit(ctx, Delivered(edits=present, applied=True, reason="already present"))

    async def _settle(self, ctx: RunContext, rebased: list[Rebased], *, durable: bool,
                      revert: bool, changes: Callable[[], list[Change]]) -> bool:
        """Ask about the clashes a delivery held, then deliver `changes()` again with the
        regions the question named settled the way the person chose."""
        clashes = [c for r in rebased for c in r.clashes]
        if not clashes:
            return True
        choice = await self._ask(ctx, clashes, durable=durable, revert=revert)
        if choice is None:
            return True
        named = {c.key for c in clashes}
        paths = sorted({k[0] for k in named})
        async with ctx.lock, self.locks.holding(paths):
            ok, _ = await self._deliver(ctx, changes, revert=revert,
                                        decide=lambda key: choice if key in named else None)
        return ok

    async def _ask(self, ctx: RunContext, clashes: list[Clash], *, durable: bool,
                   revert: bool) -> Choice | None:
        run = ctx.run
        places = ", ".join(c.where for c in clashes[:NAMED])
        if len(clashes) > NAMED:
            places += f" and {len(clashes) - NAMED} more place(s)"
        if revert:
            text = (f"You changed {places} after Baton run {run.id} changed them; reverting "
                    "would undo your change there. What should Baton do?")
            ways: dict[str, Choice] = {KEEP_MINE: "mine", REVERT_ANYWAY: "agent"}
        else:
            text = (f"You changed {places} where Baton run {run.id} also changed them. "
                    "What should Baton do?")
            ways = {KEEP_MINE: "mine", TAKE_AGENT: "agent"}
        if not any(c.whole_file for c in clashes):
            ways[SHOW_BOTH] = "both"
        question = Question(text=text, options=list(ways))
        if durable:
            if run.conflict != question:
                self.recorder.emit(ctx, ConflictAsked(question=question))
            await self.recorder.flush()  # asked again after a restart
        await self.recorder.progress(run.id, "report", "waiting for your answer: " + places[:80])
        answer = await self._answer(ctx, question)
        choice = ways.get(answer) if answer is not None else None
        if durable:
            self.recorder.emit(ctx, ConflictAnswered(answer=answer if choice else None,
                                                     reason="" if choice else "dismissed"))
        return choice

    async def _answer(self, ctx: RunContext, question: Question) -> str | None:
        """The person's answer, as long as they take: through the host's prompt or
        `baton.run.answer` (runChanged carries the question meanwhile). None: dismissed."""
        by_command: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        ctx.asking = (question, by_command)
        await self.recorder.notify(ctx, "a question for you")
        direct = asyncio.ensure_future(self.host.ask_question(ctx.run.id, question))
        try:
            either: set[asyncio.Future[Any]] = {direct, by_command}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if by_command.done():
                return by_command.result()
            return direct.result()
        except Exception as e:
            log.info("run %s: asking about a conflict failed: %s", ctx.run.id, e)
            return None
        finally:
            direct.cancel()
            ctx.asking = None

    async def _send(self, ctx: RunContext, edits: list[FileEdit], *, revert: bool,
                    attempt: int) -> bool:
        label = f"Baton run {ctx.run.id}" + (" (revert)" if revert else "")
        await self.recorder.flush()  # the intent is durable before the side effect
        try:
            result = await self.host.apply_edits(ctx.run.id, label, _with_renames(edits))
        except Exception as e:
            log.warning("run %s: delivering edits failed: %s", ctx.run.id, e)
            result = ApplyResult(applied=False, reason=f"{type(e).__name__}: {e}")
        self.recorder.emit(ctx, Delivered(edits=edits, applied=result.applied, reason=result.reason,
                                          revert=revert))
        if not result.applied:
            self.last_failure = ("the editor did not apply the edit"
                                 + (f": {result.reason}" if result.reason else "")
                                 + f" (attempt {attempt + 1} of {ATTEMPTS})")
            log.info("run %s: %s", ctx.run.id, self.last_failure)
        return result.applied

    # -- what is held, offered in changes.diff ----------------------------------------
    def offer(self, ctx: RunContext) -> int:
        """Everything still pending is held, in changes.diff; returns how many hunks."""
        self._mark_held(ctx, [c.path for c in self.pending(ctx)])
        self.write_changes(ctx)
        return self.recount(ctx)

    # -- one hunk of changes.diff -----------------------------------------------------
    async def _hunk(self, ctx: RunContext, rel: str, hunk_id: str) -> tuple[Change, hunks_.Hunk]:
        pending = self.pending(ctx, [rel])
        change = pending[0] if pending else None
        found = None
        if change is not None:  # diffing a big file happens off the event loop
            found = hunks_.find(await asyncio.to_thread(hunks_.file_hunks, rel, change.base,
                                                        change.new), rel, hunk_id)
        if change is None or found is None:
            raise UserInputError(f"that hunk of {rel} is no longer in changes.diff (it was applied "
                                 "or rejected, or the diff was rewritten): reload changes.diff")
        return change, found

    async def apply_hunk(self, ctx: RunContext, rel: str, hunk_id: str) -> int:
        """Deliver exactly one hunk of the held changes, rebased onto what the person has now
        (a conflict there is asked about); returns how many hunks are left."""
        async with ctx.lock, self.locks.holding([rel]):
            change, h = await self._hunk(ctx, rel, hunk_id)
            target = hunks_.apply_hunk(change.base, change.new, h)
            ok, rebased = await self._deliver(ctx, lambda: [Change(path=rel, base=change.base,
                                                                   new=target)])
        if ok:
            ok = await self._settle(ctx, rebased, durable=False, revert=False, changes=lambda: [
                Change(path=rel, base=self.prior(ctx, rel), new=target)])
        if not ok:
            raise RunFailed(f"the hunk was not applied: {self.last_failure}")
        return await self._after_hunk(ctx)

    async def reject_hunk(self, ctx: RunContext, rel: str, hunk_id: str) -> int:
        """Drop exactly one hunk from the run's changes (its shadow): it is never delivered;
        returns how many hunks are left."""
        async with ctx.lock, self.locks.holding([rel]):
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
        left = self.pending_diff(ctx) if left is None else left
        (ctx.folder / "changes.diff").write_text(render_changes(ctx.run, left), encoding="utf-8")
        return left

    async def _after_hunk(self, ctx: RunContext) -> int:
        """changes.diff shows what is left (with nothing left, the caller ends the run)."""
        diff = await asyncio.to_thread(self.pending_diff, ctx)
        left = len(hunks_.parse(self.write_changes(ctx, diff)))
        self.recount(ctx)
        if left:
            await self.recorder.notify(ctx, f"changes.diff updated: {left} hunk(s) left to apply")
        return left

    # -- revert -----------------------------------------------------------------------
    async def revert(self, ctx: RunContext) -> bool:
        """Send the inverse of exactly what the run applied, merged onto what is there now.
        Where the person changed the run's lines since, they are asked; unanswered, their
        text stays."""
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
        async with ctx.lock, self.locks.holding(paths):
            ok, rebased = await self._deliver(ctx, lambda: changes, revert=True)
        if ok and not any(r.edit() for r in rebased):
            self.recorder.emit(ctx, Delivered(edits=[], applied=True, revert=True,
                                            reason="nothing left to revert"))
        if ok:
            ok = await self._settle(ctx, rebased, durable=False, revert=True,
                                    changes=lambda: changes)
        return ok


def _lines(c: Any) -> str:
    """Where a conflict is in the person's text, for a question: "lines 6–7", "line 3"."""
    first, last = c.start_line + 1, c.end_line
    return f"line {first}" if last <= first else f"lines {first}–{last}"


def _same(a: str | None, b: str | None) -> bool:
    """`a` and `b` are the same text, modulo what editors normalise on their own: line
    endings, and the final newline (Neovim gives a new buffer one). So a file the editor
    created, or a line end it fixed, never reads as the person's change."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    a, b = a.replace("\r\n", "\n"), b.replace("\r\n", "\n")
    return a.removesuffix("\n") == b.removesuffix("\n")


def _undo(e: FileEdit, text: str | None) -> str | None:
    """`text` with delivery `e` (before → after) taken back; what else changed stays."""
    if _same(text, e.after):
        return e.before
    if e.before is None or e.after is None or text is None:
        return text  # the file was recreated or removed since: leave it to the merge onto now
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
