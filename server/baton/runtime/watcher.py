"""Files changed outside the editor while runs work: a git checkout, a formatter, another tool.

watchfiles (inotify here) reports changes under the workspace, tuned to report one within a
few milliseconds (`STEP_MS` of quiet, at most `DEBOUNCE_MS` for a burst) instead of its
default 1.6 s grouping. A file no run has touched needs nothing: shadows read it through.
A file a run touched and the person does not have open (an open buffer is what counts, and
the editor reloads it itself) is merged into the run's shadow at once when the merge is
clean, so the agent works on what is there; either way the run is told in its transcript.
When the outside change overlaps the agent's, the person is asked; with no answer the
question comes again at delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..edits.merge import Choice, MergeResult, merge3, resolve
from ..errors import BatonError
from ..sandbox.paths import PathPolicy
from ..sandbox.shadow import read_text_file
from ..wire import Question
from .context import RunContext
from .delivery import KEEP_MINE, SHOW_BOTH, TAKE_AGENT, Delivery
from .file_locks import FileLocks
from .host import Host
from .recorder import Recorder
from .runs import State, Steered

if TYPE_CHECKING:
    from watchfiles import DefaultFilter

log = logging.getLogger(__name__)

DEBOUNCE_MS = 50  # the longest a burst of changes (a checkout) is grouped before it is reported
STEP_MS = 5  # a change is reported once this long passes without another
IGNORED_DIRS = (".baton", ".direnv", ".ruff_cache", ".nox", ".eggs")


def _filter() -> DefaultFilter:
    from watchfiles import DefaultFilter

    from ..tools.listing import EDITOR_SCRATCH
    return DefaultFilter(ignore_dirs=(*DefaultFilter.ignore_dirs, *IGNORED_DIRS),
                         ignore_entity_patterns=(*DefaultFilter.ignore_entity_patterns,
                                                 *EDITOR_SCRATCH))


class Watcher:
    def __init__(self, runs: Callable[[], Iterable[RunContext]], *, recorder: Recorder,
                 host: Host, policy: PathPolicy, delivery: Delivery, locks: FileLocks) -> None:
        self.runs = runs
        self.recorder = recorder
        self.host = host
        self.policy = policy
        self.delivery = delivery
        self.locks = locks
        self.root: Path = policy.root
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[None]] = set()
        # Called with the workspace-relative paths of each batch (tests measure latency here).
        self.listeners: list[Callable[[set[str]], None]] = []
        self.ready = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="baton-watcher")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning("watching the workspace stopped: %s (outside changes are still merged "
                        "at delivery)", task.exception())

    async def close(self) -> None:
        self._stop.set()
        tasks = [t for t in [self._task, *self._checks] if t and not t.done()]
        for t in self._checks:
            t.cancel()
        if self._task and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 2)
            except (TimeoutError, Exception):
                self._task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self) -> None:
        from watchfiles import awatch
        watching = awatch(self.root, watch_filter=_filter(), debounce=DEBOUNCE_MS, step=STEP_MS,
                          stop_event=self._stop, ignore_permission_denied=True,
                          yield_on_timeout=True, rust_timeout=1000)
        async for changes in watching:
            self.ready.set()  # the first (empty, on timeout) batch: the watch is in place
            if not changes:
                continue
            rels: set[str] = set()
            for _, raw in changes:
                try:
                    rels.add(Path(raw).relative_to(self.root).as_posix())
                except ValueError:
                    continue
            for listener in self.listeners:
                listener(rels)
            for rel in sorted(rels):
                self._changed(rel)

    def _changed(self, rel: str) -> None:
        for ctx in list(self.runs()):
            if ctx.run.terminal or rel not in ctx.shadow.touched:
                continue  # untouched: the shadow reads the new text through
            if self.host.open_document(self.policy.absolute(rel)) is not None:
                continue  # open: the buffer is what the person has; the editor reloads it
            task = asyncio.get_running_loop().create_task(self._check(ctx, rel))
            self._checks.add(task)
            task.add_done_callback(self._checked)

    def _checked(self, task: asyncio.Task[None]) -> None:
        self._checks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("checking an outside change failed: %s", task.exception())

    async def note(self, ctx: RunContext, rel: str, text: str) -> None:
        """Tell the run (its agent sees this at its next turn; it is in the transcript) and
        the editor (a `baton/runChanged` whose reason names the file)."""
        if ctx.run.terminal:
            return
        self.recorder.emit(ctx, Steered(message=text, source="baton"))
        await self.recorder.notify(ctx, f"{rel} changed outside the editor")

    async def _check(self, ctx: RunContext, rel: str) -> None:
        delivery = self.delivery
        async with self.locks.holding([rel]):  # never in the middle of a delivery of this file
            if ctx.run.terminal:
                return
            try:
                now = read_text_file(self.policy.absolute(rel))
            except BatonError as e:
                await self.note(ctx, rel, f"`{rel}` was changed outside the editor and can no "
                                          f"longer be edited: {e}")
                return
            prior, agent = delivery.prior(ctx, rel), delivery.agent_text(ctx, rel)
            if now in (prior, agent) or (delivery.is_landed(ctx, rel)
                                         and now == delivery.delivered_text(ctx, rel)):
                return  # nothing new, or this run's own delivery landing
            log.info("run %s: %s changed outside the editor", ctx.run.id, rel)
            if prior is None or agent is None or now is None:
                gone = "deleted" if now is None else "recreated"
                await self.note(ctx, rel, f"`{rel}` was {gone} outside the editor while you "
                                          "changed it; the person is asked at delivery which "
                                          "version to keep.")
                return
            merged = merge3(prior, agent, now)
            # While the implementer works, a tool may be between reading and writing the file:
            # its copy is left alone and the merge happens at delivery (from the original base).
            settle_now = ctx.run.state != State.IMPLEMENTING and not delivery.is_landed(ctx, rel)
            if merged.clean:
                if settle_now:
                    self._rebase(ctx, rel, now, merged.text)
                await self.note(ctx, rel, f"`{rel}` changed on disk outside the editor (a "
                                "checkout, a formatter…). Your changes merge cleanly onto it"
                                + ("; your copy now includes it: read it again before editing "
                                   "it further." if settle_now else
                                   "; Baton merges them when it delivers."))
                self._refresh(ctx)
                return
            lines = ", ".join(f"{c.base_start_line + 1}-{max(c.base_end_line, c.base_start_line + 1)}"
                              for c in merged.conflicts)
            when = "now" if settle_now else "at delivery"
            await self.note(ctx, rel, f"`{rel}` changed on disk outside the editor where you "
                                      f"changed it too (lines {lines}); the person is asked "
                                      f"{when} which version to keep.")
            if settle_now:
                await self._ask(ctx, rel, now, agent, merged)

    async def _ask(self, ctx: RunContext, rel: str, now: str, agent: str, merged: MergeResult) -> None:
        question = Question(
            text=f"{rel} changed on disk (outside the editor) where Baton run {ctx.run.id} also "
                 "changed the same lines. What should Baton do?",
            options=[KEEP_MINE, TAKE_AGENT, SHOW_BOTH])
        try:
            choice = await self.host.ask_question(ctx.run.id, question)
        except Exception:
            choice = None
        if choice not in (KEEP_MINE, TAKE_AGENT, SHOW_BOTH):
            return  # unanswered: asked again when the change is delivered
        if (read_text_file(self.policy.absolute(rel)) != now
                or self.delivery.agent_text(ctx, rel) != agent
                or ctx.run.state == State.IMPLEMENTING or ctx.run.terminal):
            await self.note(ctx, rel, f"`{rel}` changed again while the person was asked; the "
                                      "merge is settled at delivery.")
            return
        ways: dict[str, Choice] = {KEEP_MINE: "mine", TAKE_AGENT: "agent", SHOW_BOTH: "both"}
        self._rebase(ctx, rel, now, resolve(merged, ways[choice]))
        await self.note(ctx, rel, f"The person chose \"{choice}\" for `{rel}`; your copy is "
                                  "updated: read it again before editing it further.")
        self._refresh(ctx)

    def _rebase(self, ctx: RunContext, rel: str, now: str, text: str) -> None:
        """The run's change to `rel` now starts from what is on disk."""
        ctx.shadow.rebase(rel, now)
        ctx.shadow.write(rel, text)

    def _refresh(self, ctx: RunContext) -> None:
        if ctx.run.state == State.AWAITING_APPLY and (ctx.folder / "changes.diff").exists():
            self.delivery.write_changes(ctx)
