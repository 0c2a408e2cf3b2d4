"""Creates runs, wires the runtime, and carries out the person's commands.

This is the one place the runtime's collaborators are built and given what they need
(the recorder, the host, the settings, the path policy, the file locks): nothing else
reaches back into the engine. Each run has one driver task (`Workflow.drive`) that moves
it through its states (PROTOCOL §3); a command decides something the driver waits for,
never a state. The engine knows nothing of LSP: it talks to a `Host`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import UnknownRun, UserInputError, WrongState
from ..providers.registry import Registry
from ..sandbox.grants import Grants, literal
from ..sandbox.paths import PathPolicy
from ..sandbox.shadow import Shadow
from ..state_dir import Locations
from ..wire import RunSummary
from . import workspace_lock
from .actions import Action, allowed, refusal
from .briefing import Briefing, relative_uri
from .context import RunContext
from .delivery import Delivery
from .describe import describe
from .file_locks import FileLocks
from .host import Host
from .journal import Journal
from .planfile import granted_files
from .recorder import Recorder, usage
from .runs import (ChangesApplied, Created, PlanAccepted, Rejected, RevisionAsked, Route, Run,
                   State, Steered)
from .settings import Settings
from .summary import summary
from .verification import Verification
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
        self.host = host
        self.settings = Settings(config, registry or Registry(config))
        self.policy = PathPolicy(self.root)
        self.locations = Locations.of(self.root)
        self.locations.prepare()
        self.runs_dir = self.locations.runs_dir  # the runs' documents
        self._keys = _keys(config)
        redact = _redactor(self._keys)
        self.journal = Journal(self.locations.journal, self.runs_dir, redact=redact)
        self.contexts: dict[str, RunContext] = {}
        self.recorder = Recorder(self.journal, host, redact)
        self.locks = FileLocks()
        self.delivery = Delivery(recorder=self.recorder, host=host, policy=self.policy,
                                 locks=self.locks)
        self.briefing = Briefing(self.root, host=host, delivery=self.delivery, runs=self.contexts)
        self.verification = Verification(recorder=self.recorder, settings=self.settings,
                                         policy=self.policy)
        self.workflow = Workflow(recorder=self.recorder, host=host, settings=self.settings,
                                 policy=self.policy, delivery=self.delivery, briefing=self.briefing,
                                 verification=self.verification)
        self.watcher = Watcher(self.contexts.values, recorder=self.recorder, host=host,
                               policy=self.policy, delivery=self.delivery, locks=self.locks)
        self._lock: int | None = None

    @property
    def config(self) -> Config:
        return self.settings.config

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, lock_wait_s: float = LOCK_WAIT_S) -> None:
        """Rebuild runs from the journal and resume every run that is not over."""
        self._lock = await asyncio.to_thread(workspace_lock.acquire, self.locations.lock,
                                             lock_wait_s)
        if note := self.locations.old_state_note():
            log.warning("%s", note)
        runs = await asyncio.to_thread(self.journal.load)

        for run in sorted(runs.values(), key=lambda r: r.created_at):
            ctx = self._context(run)
            if not run.terminal:
                log.info("resuming run %s (%s)", run.id, run.state)
                ctx.resumed = True
                self._spawn(ctx)
        self.watcher.start()

    def reconfigure(self, config: Config) -> None:
        """The configuration loaded again (the person fixed or trusted a file): the steps
        that start from now on use it, runs that waited for it go on, and the runs under way
        get its [permissions] and [limits] (an untrusted file sets neither). Keys of the old
        one stay redacted too."""
        self._keys |= _keys(config)
        redact = _redactor(self._keys)
        self.settings.replace(config, Registry(config))
        self.recorder.redact = self.journal.redact = redact
        for ctx in self.contexts.values():
            if not ctx.run.terminal:
                ctx.grants.config_globs = list(config.permissions.write)
                ctx.grants.command_prefixes = list(config.permissions.commands)
                ctx.shadow.limits = config.limits

    def hold(self, problem: str) -> None:
        """The configuration's files do not load (`problem` says where): no run starts a
        step until `reconfigure`; they wait in their states (runtime/settings.py)."""
        self.settings.hold(problem)

    async def probe_isolation(self) -> Any:
        """Probe command isolation once, off the loop; a missing layer is said, never silent."""
        result = await asyncio.to_thread(_probe_isolation)
        if result.layer == "none":
            log.warning("commands from agents will be refused: no isolation layer (%s). %s",
                        "; ".join(result.reasons.values()), result.fix)
        return result

    async def close(self) -> None:
        """Stop drivers without ending their runs: they resume on the next start."""
        self.workflow.closing = True
        await self.watcher.close()
        tasks = [t for c in self.contexts.values() for t in (c.task, c.revert_task)
                 if t and not t.done()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.journal.flush()
        self.journal.close()
        if self._lock is not None:
            workspace_lock.release(self._lock)
            self._lock = None

    def _context(self, run: Run) -> RunContext:
        state = self.locations.run_state(run.id)
        shadow = Shadow(self.policy, state / "shadow", self._open_text, self.config.limits)
        plan_files = granted_files(run.accepted_plan) if run.accepted_plan else []
        if run.route == Route.EDIT and run.uri:
            target = relative_uri(self.root, run.uri)
            plan_files = [literal(target)] if target else []
        for_run = [p for p in run.permissions if p.answer == "Allow for this run"]
        grants = Grants(plan_files, self.config.permissions.write,
                        [p.subject for p in for_run if not p.command and not p.tool],
                        command_prefixes=self.config.permissions.commands,
                        allowed_commands=[p.subject for p in for_run if p.command],
                        allowed_tools=[p.subject for p in for_run if p.tool])
        ctx = RunContext(run=run, folder=self.runs_dir / run.id, state=state, shadow=shadow,
                         grants=grants)
        self.contexts[run.id] = ctx
        return ctx

    def _open_text(self, path: Path) -> str | None:
        doc = self.host.open_document(path)
        return doc.text if doc else None

    def _spawn(self, ctx: RunContext) -> None:
        ctx.task = asyncio.get_running_loop().create_task(self.workflow.drive(ctx),
                                                          name=f"run-{ctx.run.id}")

    # -- commands (PROTOCOL §4) -------------------------------------------------------
    def get(self, run_id: Any) -> RunContext:
        if not isinstance(run_id, str) or not run_id:
            raise UserInputError("runId must be a non-empty string")
        ctx = self.contexts.get(run_id)
        if ctx is None:
            raise UnknownRun(run_id)
        return ctx

    def _allowed(self, run_id: str, action: Action, label: str) -> RunContext:
        ctx = self.get(run_id)
        why = refusal(ctx.run, action)
        if why is not None:
            raise WrongState(run_id, why[0], label, why[1])
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
        gathered = self.briefing.gather(uri, range, parent_run_id)
        self.recorder.emit(ctx, Created(task=task, uri=uri, range=range, route=route,
                                        parent_run_id=parent_run_id, edit_mode=self.config.edits.mode,
                                        diagnostic=diagnostic, **gathered))
        self._spawn(ctx)
        return run.id

    def _decide(self, run_id: str, action: Action, label: str, value: Any) -> None:
        ctx = self._allowed(run_id, action, label)
        if not ctx.decide(value):
            raise WrongState(ctx.run.id, ctx.run.state, label, "not already decided")

    def accept(self, run_id: str) -> None:
        ctx = self._allowed(run_id, Action.ACCEPT, "Accept plan")
        plan = ctx.folder / "plan.md"
        doc = self.host.open_document(plan)
        text = doc.text if doc else plan.read_text(encoding="utf-8")
        self._decide(run_id, Action.ACCEPT, "Accept plan", PlanAccepted(text=text))

    def reject(self, run_id: str, reason: str = "") -> None:
        self._decide(run_id, Action.REJECT, "Reject", Rejected(reason=reason))

    def revise(self, run_id: str, feedback: str) -> None:
        if not feedback.strip():
            raise UserInputError("feedback must say what to change in the plan")
        self._decide(run_id, Action.REVISE, "Revise plan", RevisionAsked(feedback=feedback))

    def apply(self, run_id: str) -> None:
        self._decide(run_id, Action.APPLY, "Apply changes", ChangesApplied())

    async def apply_hunk(self, run_id: str, path: str, hunk: str) -> int:
        ctx = self._allowed(run_id, Action.APPLY, "Apply this hunk")
        return self._after_hunk(ctx, await self.delivery.apply_hunk(ctx, path, hunk))

    async def reject_hunk(self, run_id: str, path: str, hunk: str) -> int:
        ctx = self._allowed(run_id, Action.APPLY, "Reject this hunk")
        return self._after_hunk(ctx, await self.delivery.reject_hunk(ctx, path, hunk))

    def _after_hunk(self, ctx: RunContext, left: int) -> int:
        """With no hunk left, the run ends: done if any of it landed, else rejected."""
        if not left:
            took_any = any(d.applied and not d.revert for d in ctx.run.deliveries)
            self._decide(ctx.run.id, Action.APPLY, "Apply changes", ChangesApplied() if took_any
                         else Rejected(reason="every change rejected"))
        return left

    def answer(self, run_id: str, answer: str) -> None:
        """The question of a run awaiting input (an agent's, or a permission), or the one
        Baton asks meanwhile (a conflict). A question with fixed options (a permission, a
        conflict) takes one of them, in any case."""
        ctx = self.get(run_id)
        asked = ctx.asking if ctx.run.state != State.AWAITING_INPUT else None
        if asked is not None and not asked[1].done():
            asked[1].set_result(_one_of(asked[0].options or [], answer))
            return
        question = ctx.run.question
        if question is not None and question.permission is not None:
            answer = _one_of(question.question.options or [], answer)
        self._decide(run_id, Action.ANSWER, "Answer", answer)

    def answer_permission(self, run_id: str, permission_id: str, answer: str) -> None:
        """The permission `permission_id` of a run, answered with one of its options. A
        prompt left from before (answered elsewhere, the run moved on) is refused with
        a message that says so, and changes nothing."""
        ctx = self.get(run_id)
        asked = ctx.run.question
        if refusal(ctx.run, Action.ANSWER_PERMISSION) is not None or asked is None \
                or asked.permission_id != permission_id:
            raise WrongState(run_id, ctx.run.state, "Answer the permission",
                             "waiting for that permission (it is no longer asked: answered, "
                             "or the run moved on)")
        self._decide(run_id, Action.ANSWER, "Answer", _one_of(asked.question.options or [], answer))

    def steer(self, run_id: str, message: str) -> None:
        ctx = self._allowed(run_id, Action.STEER, "Steer")
        if not message.strip():
            raise UserInputError("message must not be empty")
        self.recorder.emit(ctx, Steered(message=message))

    def cancel(self, run_id: str) -> None:
        ctx = self._allowed(run_id, Action.CANCEL, "Cancel")
        if ctx.task and not ctx.task.done():
            ctx.task.cancel()

    def revert(self, run_id: str) -> None:
        ctx = self._allowed(run_id, Action.REVERT, "Revert")
        if ctx.revert_task and not ctx.revert_task.done():
            raise WrongState(run_id, "reverting", "Revert", "not already reverting")
        ctx.revert_task = asyncio.get_running_loop().create_task(self.workflow.revert(ctx))

        def reverted(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                log.error("revert of %s failed: %s", run_id, task.exception())
        ctx.revert_task.add_done_callback(reverted)

    def list(self) -> list[dict[str, Any]]:
        return [RunSummary(runId=c.run.id, task=c.run.task, route=c.run.route, state=c.run.state,
                           createdAt=c.run.created_at, parentRunId=c.run.parent_run_id,
                           usage=usage(c.run), actions=allowed(c.run),
                           summary=summary(c, self.recorder.redact)).model_dump(mode="json")
                for c in sorted(self.contexts.values(), key=lambda c: c.run.created_at)]

    def show(self, run_id: str) -> dict[str, Any]:
        ctx = self.get(run_id)
        children = [c.run.id for c in self.contexts.values() if c.run.parent_run_id == run_id]
        return describe(ctx, children, self.recorder.redact)


def _probe_isolation() -> Any:
    from ..sandbox.isolation import active
    return active()


def _keys(config: Config) -> set[str]:
    return {k.get_secret_value() for p in config.providers.values()
            if (k := p.api_key()) is not None and len(k.get_secret_value()) >= 8}


def _redactor(keys: set[str]) -> Callable[[str], str]:
    # Longest first: a key that contains another is redacted whole.
    ordered = sorted(keys, key=len, reverse=True)

    def redact(text: str) -> str:
        for k in ordered:
            text = text.replace(k, "[redacted]")
        return text
    return redact


def _one_of(options: list[str], answer: str) -> str:
    """`answer` as one of the question's options (case aside), or the person is told them."""
    for option in options:
        if option.casefold() == answer.strip().casefold():
            return option
    raise UserInputError("answer with one of: " + ", ".join(options))
