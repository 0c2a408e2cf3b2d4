"""Creates and drives runs: owns their asyncio tasks, cancellation and concurrency.

Each run has one driver task that moves it through its states (PROTOCOL §3). Every
change is an event appended to the journal and folded into the in-memory `Run`, so a
restarted engine rebuilds the same runs and resumes their drivers where they stopped.
The engine knows nothing of LSP: it talks to a `Host`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import BatonError, RunFailed, UnknownRun, UserInputError, WrongState
from ..providers.registry import Registry
from ..sandbox.grants import Grants, literal
from ..sandbox.paths import PathPolicy
from ..sandbox.shadow import Shadow
from . import workspace_lock
from .host import Host, RunNotice
from .journal import Journal
from .planfile import granted_files
from .runs import (TERMINAL, WAITING, Approval, Created, Event, Route, Run, State, StateChanged,
                   Steered,
                   legal)
from .session import RunContext
from .watcher import Watcher
from .workflow import Workflow

log = logging.getLogger(__name__)
LOCK_WAIT_S = 10.0  # a restarted server's old engine may still be closing


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class Engine:
    def __init__(self, workspace: Path, config: Config, host: Host,
                 registry: Registry | None = None) -> None:
        self.root = workspace.resolve()
        self.config = config
        self.host = host
        self.registry = registry or Registry(config)
        self.policy = PathPolicy(self.root)
        self.baton_dir = self.root / ".baton"
        self.runs_dir = self.baton_dir / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.baton_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
        self.redact = _redactor(config)
        self.journal = Journal(self.baton_dir / "journal.sqlite3", self.runs_dir,
                               redact=self.redact)
        self.contexts: dict[str, RunContext] = {}
        self.workflow = Workflow(self)
        self._closing = False
        self._lock: int | None = None
        # One lock per workspace file, shared by all runs: deliveries never interleave.
        self.file_locks: dict[str, asyncio.Lock] = {}
        self.watcher: Watcher | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, lock_wait_s: float = LOCK_WAIT_S) -> None:
        """Rebuild runs from the journal and resume every run that is not over."""
        self._lock = await asyncio.to_thread(workspace_lock.acquire,
                                             self.baton_dir / "engine.lock", lock_wait_s)
        runs = await asyncio.to_thread(self.journal.load)

        for run in sorted(runs.values(), key=lambda r: r.created_at):
            ctx = self._context(run)
            if not run.terminal:
                log.info("resuming run %s (%s)", run.id, run.state)
                ctx.resumed = True
                self._spawn(ctx)
        self.watcher = Watcher(self)
        self.watcher.start()

    def file_lock(self, rel: str) -> asyncio.Lock:
        return self.file_locks.setdefault(rel, asyncio.Lock())

    def reconfigure(self, config: Config) -> None:
        """A configuration loaded again (the person trusted the workspace's file): the steps
        that start from now on use it. Keys of the old one stay redacted too."""
        old, new = self.redact, _redactor(config)
        self.config = config
        self.registry = Registry(config)
        self.redact = self.journal.redact = lambda text: new(old(text))

    async def probe_isolation(self) -> Any:
        """Probe command isolation once, off the loop; a missing layer is said, never silent."""
        result = await asyncio.to_thread(_probe_isolation)
        if result.layer == "none":
            log.warning("commands from agents will be refused: no isolation layer (%s). %s",
                        "; ".join(result.reasons.values()), result.fix)
        return result

    async def close(self) -> None:
        """Stop drivers without ending their runs: they resume on the next start."""
        self._closing = True
        if self.watcher is not None:
            await self.watcher.close()
        tasks = [c.task for c in self.contexts.values() if c.task and not c.task.done()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.journal.flush()
        self.journal.close()
        if self._lock is not None:
            workspace_lock.release(self._lock)
            self._lock = None

    def _context(self, run: Run) -> RunContext:
        folder = self.runs_dir / run.id
        shadow = Shadow(self.policy, folder / "shadow", self._open_text, self.config.limits)
        plan_files = granted_files(run.accepted_plan) if run.accepted_plan else []
        if run.route == Route.EDIT and run.uri:
            target = self.rel_from_uri(run.uri)
            plan_files = [literal(target)] if target else []
        for_run = [p for p in run.permissions if p.answer == "Allow for this run"]
        grants = Grants(plan_files, self.config.permissions.write,
                        [p.subject for p in for_run if not p.command],
                        command_prefixes=self.config.permissions.commands,
                        allowed_commands=[p.subject for p in for_run if p.command])
        ctx = RunContext(run=run, folder=folder, shadow=shadow, grants=grants)
        self.contexts[run.id] = ctx
        return ctx

    def rel_from_uri(self, uri: str) -> str | None:
        """The workspace-relative path of a file: URI, or None if it is not in the workspace."""
        from urllib.parse import unquote, urlparse
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            return None
        try:
            return Path(unquote(parsed.path)).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _open_text(self, path: Path) -> str | None:
        doc = self.host.open_document(path)
        return doc.text if doc else None

    def _spawn(self, ctx: RunContext) -> None:
        ctx.task = asyncio.get_running_loop().create_task(self._drive(ctx), name=f"run-{ctx.run.id}")

    async def _drive(self, ctx: RunContext) -> None:
        run = ctx.run
        await self.host.progress(run.id, "begin", f"{run.state}: {run.task[:60]}")
        try:
            await self.workflow.drive(ctx)
        except asyncio.CancelledError:
            if self._closing:
                return
            if not run.terminal:
                await self.set_state(ctx, State.CANCELLED, "cancelled by the person")
        except BatonError as e:
            log.info("run %s failed: %s", run.id, e)
            if not run.terminal:
                await self.set_state(ctx, State.FAILED, str(e))
        except Exception as e:  # a bug must end the run visibly, never the daemon
            log.exception("run %s: internal error", run.id)
            if not run.terminal:
                await self.set_state(ctx, State.FAILED, f"internal error: {type(e).__name__}: {e}")
        finally:
            if run.terminal or not self._closing:
                await self.host.progress(run.id, "end", f"{run.state}"
                                         + (f": {self.redact(run.error)}" if run.error else "")
                                         + f" · {usage_line(run)}")

    # -- events -----------------------------------------------------------------------
    def emit(self, ctx: RunContext, ev: Event) -> None:
        ev.ts = ev.ts or time.time()
        self.journal.append(ctx.run.id, ev)
        ctx.run.apply(ev)

    async def set_state(self, ctx: RunContext, state: State, reason: str = "") -> None:
        run = ctx.run
        if not legal(run.state, state):
            raise RunFailed(f"internal: illegal transition {run.state} → {state}")
        self.emit(ctx, StateChanged(state=state, reason=reason))
        if state in WAITING or state in TERMINAL:
            # What the person is told (a plan awaits you, the run is over) survives a crash.
            await self.journal.flush()
        await self.notify(ctx, reason)
        if state not in TERMINAL:
            await self.host.progress(run.id, "report", f"{state}" + (f": {reason}" if reason else ""))

    async def notify(self, ctx: RunContext, reason: str = "") -> None:
        await self.host.run_changed(self.notice(ctx, reason))

    def notice(self, ctx: RunContext, reason: str = "") -> RunNotice:
        run = ctx.run
        plan = ctx.folder / "plan.md"
        answer = ctx.folder / "answer.md"
        return RunNotice(
            runId=run.id, state=run.state, route=run.route,
            routeReason=run.route_reason or None, task=run.task,
            planUri=plan.as_uri() if plan.exists() else None,
            answerUri=answer.as_uri() if answer.exists() else None,
            question=run.question.question if run.question and run.state == State.AWAITING_INPUT else None,
            error=self.redact(run.error) or None, usage=_usage(run), held=ctx.held or None,
            reason=self.redact(reason) or None)

    # -- commands (PROTOCOL §4) -------------------------------------------------------
    def get(self, run_id: Any) -> RunContext:
        if not isinstance(run_id, str) or not run_id:
            raise UserInputError("runId must be a non-empty string")
        ctx = self.contexts.get(run_id)
        if ctx is None:
            raise UnknownRun(run_id)
        return ctx

    def create(self, task: str, *, uri: str | None = None, range: dict[str, Any] | None = None,
               route: Route | None = None, parent_run_id: str | None = None,
               diagnostic: str | None = None) -> str:
        if not task.strip():
            raise UserInputError("task must say what to do (it is blank)")
        if parent_run_id is not None:
            self.get(parent_run_id)
        run = Run(id=new_run_id())
        ctx = self._context(run)
        gathered = self.workflow.gather_context(uri, range, parent_run_id)
        self.emit(ctx, Created(task=task, uri=uri, range=range, route=route,
                               parent_run_id=parent_run_id, edit_mode=self.config.edits.mode,
                               diagnostic=diagnostic, **gathered))
        self._spawn(ctx)
        return run.id

    def _expect(self, ctx: RunContext, action: str, *states: State) -> None:
        if ctx.run.state not in states:
            raise WrongState(ctx.run.id, ctx.run.state, action, " or ".join(states))

    def decide(self, run_id: str, action: str, states: tuple[State, ...], value: Any) -> None:
        ctx = self.get(run_id)
        self._expect(ctx, action, *states)
        if ctx.decision is None:
            if ctx.early is not None:
                raise WrongState(ctx.run.id, ctx.run.state, action, "not already decided")
            ctx.early = value  # the driver picks it up as soon as it waits
        elif ctx.decision.done():
            raise WrongState(ctx.run.id, ctx.run.state, action, "not already decided")
        else:
            ctx.decision.set_result(value)

    def accept(self, run_id: str) -> None:
        ctx = self.get(run_id)
        self._expect(ctx, "Accept plan", State.AWAITING_APPROVAL)
        plan = ctx.folder / "plan.md"
        doc = self.host.open_document(plan)
        text = doc.text if doc else plan.read_text(encoding="utf-8")
        self.decide(run_id, "Accept plan", (State.AWAITING_APPROVAL,), Approval(decision="accept", text=text))

    def reject(self, run_id: str, reason: str = "") -> None:
        self.decide(run_id, "Reject", (State.AWAITING_APPROVAL, State.AWAITING_APPLY),
                    Approval(decision="reject", text=reason))

    def revise(self, run_id: str, feedback: str) -> None:
        if not feedback.strip():
            raise UserInputError("feedback must say what to change in the plan")
        self.decide(run_id, "Revise plan", (State.AWAITING_APPROVAL,),
                    Approval(decision="revise", text=feedback))

    def apply(self, run_id: str) -> None:
        self.decide(run_id, "Apply changes", (State.AWAITING_APPLY,), Approval(decision="accept"))

    def answer(self, run_id: str, answer: str) -> None:
        self.decide(run_id, "Answer", (State.AWAITING_INPUT,), answer)

    def steer(self, run_id: str, message: str) -> None:
        ctx = self.get(run_id)
        if ctx.run.terminal:
            raise WrongState(run_id, ctx.run.state, "Steer", "still running")
        if not message.strip():
            raise UserInputError("message must not be empty")
        self.emit(ctx, Steered(message=message))

    def cancel(self, run_id: str) -> None:
        ctx = self.get(run_id)
        if ctx.run.terminal:
            raise WrongState(run_id, ctx.run.state, "Cancel", "not finished")
        if ctx.task and not ctx.task.done():
            ctx.task.cancel()

    def revert(self, run_id: str) -> None:
        ctx = self.get(run_id)
        if not any(d.applied and not d.revert for d in ctx.run.deliveries):
            raise WrongState(run_id, ctx.run.state, "Revert", "a run that applied changes")
        if ctx.run.reverted:
            raise WrongState(run_id, "already reverted", "Revert", "a run not yet reverted")
        if not ctx.run.terminal:
            raise WrongState(run_id, ctx.run.state, "Revert", "finished (cancel it first)")
        if ctx.side_task and not ctx.side_task.done():
            raise WrongState(run_id, "reverting", "Revert", "not already reverting")
        ctx.side_task = asyncio.get_running_loop().create_task(self.workflow.revert(ctx))
        ctx.side_task.add_done_callback(lambda t: t.cancelled() or t.exception() is None or
                                        log.error("revert of %s failed: %s", run_id, t.exception()))

    def list(self) -> list[dict[str, Any]]:
        return [{"runId": c.run.id, "task": c.run.task, "route": c.run.route, "state": c.run.state,
                 "createdAt": c.run.created_at, "parentRunId": c.run.parent_run_id,
                 "usage": _usage(c.run)}
                for c in sorted(self.contexts.values(), key=lambda c: c.run.created_at)]

    def show(self, run_id: str) -> dict[str, Any]:
        return self.workflow.describe(self.get(run_id))


def _probe_isolation() -> Any:
    from ..sandbox.isolation import active
    return active()


def usage_line(run: Run) -> str:
    total = run.total_usage()
    line = f"{total.input_tokens + total.output_tokens} tokens"
    if total.cached_tokens:
        line += f" ({total.cached_tokens} cached)"
    if total.cost_usd:
        line += f", ${total.cost_usd:.4f}"
    return line


def _usage(run: Run) -> dict[str, dict[str, float]] | None:
    if not run.usage:
        return None
    return {role: u.model_dump() for role, u in run.usage.items()}


def _redactor(config: Config):
    keys = [k.get_secret_value() for p in config.providers.values()
            if (k := p.api_key()) is not None and len(k.get_secret_value()) >= 8]

    def redact(text: str) -> str:
        for k in keys:
            text = text.replace(k, "[redacted]")
        return text
    return redact

