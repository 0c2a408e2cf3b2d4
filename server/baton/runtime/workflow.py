"""The routes of PROTOCOL §3 as state handlers: what a run does in each state.

`Workflow.drive` loops until the run is terminal, calling the handler of the current
state. Handlers are re-entrant: after a restart the same handler runs again and picks
up from the journal (an agent's conversation, a pending decision).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..agents import context as agent_context
from ..agents.loop import run_agent
from ..agents.routing import fast_route, promote_edit
from ..agents.roles import ANSWERER, CLASSIFIER, IMPLEMENTER, PLANNER, REVIEWER, RoleSpec
from ..edits.diff import unified_diff
from ..errors import RunFailed
from ..providers.base import Message
from ..sandbox.grants import is_glob, literal
from ..sandbox.shadow import read_text_file
from ..tools import specs
from ..tools.listing import iter_files
from .delivery import Delivery
from .host import Finding
from .planfile import (granted_files, render_answer, render_changes, render_edit_proposal,
                       render_plan)
from .runs import (EVENT, AgentMessage, Answer, Answered, Approval, Asked, ConflictAnswered,
                   ConflictAsked, Delivered, Permission, PlanSubmitted, Reviewed, Route, Routed,
                   State, StateChanged, Steered, ToolDone)
from .session import RoleSession, RunContext
from .streaming import Streamer

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

CONTEXT_LINES = 20  # lines around a selection given to agents


class Workflow:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.delivery = Delivery(engine)
        self._handlers: dict[State, Callable[[RunContext], Awaitable[None]]] = {
            State.QUEUED: self._queued,
            State.CLASSIFYING: self._classifying,
            State.PLANNING: self._planning,
            State.AWAITING_APPROVAL: self._awaiting_approval,
            State.AWAITING_INPUT: self._awaiting_input,
            State.IMPLEMENTING: self._implementing,
            State.REVIEWING: self._reviewing,
            State.AWAITING_APPLY: self._awaiting_apply,
        }

    async def drive(self, ctx: RunContext) -> None:
        while not ctx.run.terminal:
            await self._handlers[ctx.run.state](ctx)

    # -- helpers ----------------------------------------------------------------------
    async def _agent(self, ctx: RunContext, role: RoleSpec) -> Any:
        session = RoleSession(self.engine, ctx, role.name)
        if not session.conversation():
            session.record(Message(role="user", text=await self._first_message(ctx, role.name)))
        provider = self.engine.registry.for_role(role.name)
        max_turns = self.engine.config.limits.max_turns.get(role.name, 30)
        return await run_agent(role, provider, session, max_turns=max_turns)

    def _write(self, ctx: RunContext, name: str, text: str) -> Path:
        path = ctx.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    async def _first_message(self, ctx: RunContext, role: str) -> str:
        """The role's deliberate context (agents/context.py): the stable part first
        (project instructions, repository map) so provider prompt caching applies."""
        run = ctx.run
        route = run.route or Route.PLAN
        budget = agent_context.default_budget(role, route)
        root = self.engine.root

        def stable() -> tuple[str, str]:
            if role == "classifier":
                return "", ""
            instructions = agent_context.project_instructions(root)
            repo = agent_context.repo_map(root, agent_context.repo_map_budget(role, budget, instructions))
            return instructions, repo
        instructions, repo = await asyncio.to_thread(stable)
        task = run.task + (f"\n\n{run.context}" if run.context else "")
        prefix, part = agent_context.build_context(
            role, task=task, selection=run.selection, selection_path=run.selection_path,
            diagnostic=run.diagnostic, open_buffers=self._open_buffers(run.selection_path),
            instructions=instructions, repo_map=repo, plan=run.accepted_plan,
            diff=self.run_diff(ctx) if role in ("implementer", "reviewer") else None,
            budget_chars=budget)
        return f"{prefix}\n\n{part}" if prefix else part

    def _open_buffers(self, first: str | None, limit: int = 8) -> dict[str, str]:
        out: dict[str, str] = {}
        for path in self.engine.host.open_paths():
            if len(out) >= limit:
                break
            try:
                rel = path.resolve().relative_to(self.engine.root).as_posix()
            except ValueError:
                continue
            if rel.startswith(".baton/"):
                continue
            doc = self.engine.host.open_document(path)
            if doc is not None:
                out[rel] = doc.text
        return out

    def run_diff(self, ctx: RunContext) -> str:
        """The whole change of the run so far: original base → shadow, per touched file."""
        return "".join(unified_diff(c.path, c.base, c.new) for c in self.delivery.full_changes(ctx))

    # -- states -----------------------------------------------------------------------
    async def _queued(self, ctx: RunContext) -> None:
        run = ctx.run
        if run.forced_route is not None:
            self.engine.emit(ctx, Routed(route=run.forced_route, reason="chosen by you",
                                         source="caller"))
            await self._after_route(ctx)
            return
        await self.engine.set_state(ctx, State.CLASSIFYING)

    async def _classifying(self, ctx: RunContext) -> None:
        run = ctx.run
        guess = fast_route(run.task, has_selection=bool(run.selection),
                           has_diagnostic=bool(run.diagnostic))
        if guess.route is not None:
            self.engine.emit(ctx, Routed(route=Route(guess.route), source="rules",
                                         reason=f"{guess.reason} (fast path, confidence "
                                                f"{guess.confidence:.2f})"))
            await self._after_route(ctx)
            return
        out = await self._agent(ctx, CLASSIFIER)
        args = specs.Classify.model_validate(out.call.arguments)
        self.engine.emit(ctx, Routed(route=Route(args.route), reason=args.reason, source="model"))
        await self._after_route(ctx)

    async def _after_route(self, ctx: RunContext) -> None:
        run = ctx.run
        if run.route == Route.EDIT and run.uri:
            target = self.engine.rel_from_uri(run.uri)
            if target:
                ctx.grants.plan_files = [literal(target)]  # that file, whatever its name
        state = State.IMPLEMENTING if run.route == Route.EDIT else State.PLANNING
        await self.engine.set_state(ctx, state, f"route {run.route}: {run.route_reason}")

    async def _planning(self, ctx: RunContext) -> None:
        run = ctx.run
        if run.route == Route.ASK:
            out = await self._agent(ctx, ANSWERER)
            self.engine.emit(ctx, Answer(text=out.text))
            path = self._write(ctx, "answer.md", render_answer(run, out.text))
            await self.engine.set_state(ctx, State.DONE, "answered")
            await self.engine.host.show_document(path, take_focus=False)
            return
        out = await self._agent(ctx, PLANNER)
        args = specs.SubmitPlan.model_validate(out.call.arguments)
        files = []
        for f in args.files:  # a plan cannot grant what the path policy refuses
            try:
                files.append(self.engine.policy.relative(f) if not any(c in f for c in "*?[") else f)
            except Exception as e:
                raise RunFailed(f"the plan lists a path that is not allowed: {e}") from e
        plan = PlanSubmitted(summary=args.summary, steps=args.steps, files=files, text="")
        perms = self.engine.config.permissions
        listing = None  # lets plan.md say how many files each glob covers; walked only for one
        if any(is_glob(f) for f in (*files, *perms.write)):
            listing = await asyncio.to_thread(lambda: list(iter_files(self.engine.root)))
        plan.text = render_plan(run, plan, perms.write, perms.commands, listing)
        self.engine.emit(ctx, plan)
        await self._propose(ctx, plan.text, "plan ready for your approval")

    async def _propose(self, ctx: RunContext, text: str, reason: str) -> None:
        """Write plan.md, ask for approval, then show it: by the time the person sees the
        plan, Accept already works."""
        path = self._write(ctx, "plan.md", text)
        await self.engine.set_state(ctx, State.AWAITING_APPROVAL, reason)
        await self.engine.host.show_document(path, take_focus=False)

    def _was_asking(self, ctx: RunContext) -> bool:
        """Restarted while the delivery of an accepted change asked about a conflict: the
        person's decision stands, the delivery is done again and asks again."""
        if ctx.resumed and ctx.run.conflict is not None:
            ctx.resumed = False
            return True
        return False

    async def _awaiting_approval(self, ctx: RunContext) -> None:
        run = ctx.run
        if self._was_asking(ctx):
            approval = Approval(decision="accept", text=run.accepted_plan or "")
        else:
            decision = ctx.new_decision()
            if ctx.resumed:  # after a restart: show the person again what awaits them
                ctx.resumed = False
                await self.engine.host.show_document(ctx.folder / "plan.md", take_focus=False)
                await self.engine.notify(ctx)
            approval = await decision
            ctx.decision = None
            self.engine.emit(ctx, approval)
        if approval.decision == "reject":
            await self.engine.set_state(ctx, State.REJECTED, approval.text or "rejected by you")
        elif approval.decision == "revise":
            agent = "implementer" if run.route == Route.EDIT else "planner"
            RoleSession(self.engine, ctx, agent).record(Message(
                role="user", text=f"The person asks for a revision: {approval.text}\n"
                "Revise accordingly and submit again."))
            nxt = State.IMPLEMENTING if run.route == Route.EDIT else State.PLANNING
            await self.engine.set_state(ctx, nxt, "revising")
        elif run.route == Route.EDIT:
            await self._apply_and_finish(ctx)
        elif run.promoted:  # the accepted diff is the plan; it is reviewed like one
            if run.edit_mode == "stream" and not await self.delivery.deliver(ctx):
                ctx.declined = True  # offered once the review is done
            await self.engine.set_state(ctx, State.REVIEWING, "change accepted")
        else:
            ctx.grants.plan_files = granted_files(approval.text)
            await self.engine.set_state(ctx, State.IMPLEMENTING, "plan accepted")

    async def _awaiting_input(self, ctx: RunContext) -> None:
        # Restarted while a question waited: the agent's loop re-enters its pending
        # ask_user call, which waits for the answer without asking twice.
        resume = ctx.run.resume_state or State.IMPLEMENTING
        await self._handlers[resume](ctx)

    async def _implementing(self, ctx: RunContext) -> None:
        run = ctx.run
        # Stream mode on the plan route: each write goes to the editor while the agent works
        # (an edit route's change is the proposal, so nothing lands before it is accepted).
        if run.edit_mode == "stream" and run.route == Route.PLAN and not ctx.declined:
            ctx.stream = Streamer(self.engine, self.delivery, ctx)
        try:
            out = await self._agent(ctx, IMPLEMENTER)
        finally:
            if ctx.stream is not None:
                stream, ctx.stream = ctx.stream, None
                await stream.close()
        summary = specs.Finish.model_validate(out.call.arguments).summary
        if run.route == Route.EDIT:
            diff = self.run_diff(ctx)
            if not diff:
                raise RunFailed(f"the implementer made no change ({summary})")
            changes = self.delivery.full_changes(ctx)
            lines = sum(1 for line in diff.splitlines()
                        if line[:1] in "+-" and not line.startswith(("+++", "---")))
            why = promote_edit(len(changes), lines, run.selection_path,
                               [c.path for c in changes], self.engine.config.limits.edit_max_lines)
            if why:
                self.engine.emit(ctx, Routed(route=Route.PLAN, source="promotion",
                                             reason=f"promoted from edit: {why}"))
            await self._propose(ctx, render_edit_proposal(run, summary, diff),
                                "change ready for your approval")
            return
        # What the stream has not delivered yet; conflicts held while the agent worked are
        # asked about now. Whatever stays held is offered once the review is done.
        if run.edit_mode == "stream" and not ctx.declined and not await self.delivery.deliver(ctx):
            ctx.declined = True
        await self.engine.set_state(ctx, State.REVIEWING)

    async def _reviewing(self, ctx: RunContext) -> None:
        run = ctx.run
        diff = self.run_diff(ctx) or "(no changes)"
        session = RoleSession(self.engine, ctx, "reviewer")
        if session.conversation():  # a later round: the reviewer sees the new diff
            session.record(Message(role="user", text=f"The implementer revised. The changes now:"
                                                     f"\n\n```diff\n{diff}\n```"))
        out = await self._agent(ctx, REVIEWER)
        args = specs.SubmitReview.model_validate(out.call.arguments)
        findings = [Finding(**f.model_dump()) for f in args.findings]
        self.engine.emit(ctx, Reviewed(verdict=args.verdict, findings=findings))
        await self.engine.host.publish_findings(run.id, findings)
        rounds = sum(1 for r in run.reviews if r.verdict == "request_changes")
        if args.verdict == "request_changes" and rounds <= self.engine.config.limits.review_rounds:
            listed = "\n".join(f"- {f.path}:{f.line} [{f.severity}] {f.message}" for f in findings)
            RoleSession(self.engine, ctx, "implementer").record(Message(
                role="user", text=f"The reviewer requested changes:\n{listed}\n"
                "Address them, then call finish again."))
            await self.engine.set_state(ctx, State.IMPLEMENTING, "the reviewer requested changes")
            return
        note = "review: " + args.verdict + ("" if args.verdict == "approve" else
                                            " (review rounds exhausted; see the findings)")
        if run.edit_mode == "review" and self.delivery.pending(ctx):
            path = self._write(ctx, "changes.diff", render_changes(run, self.run_diff(ctx)))
            await self.engine.set_state(ctx, State.AWAITING_APPLY, "changes ready to apply")
            await self.engine.host.show_document(path, take_focus=False)
            return
        if self.delivery.pending(ctx):  # stream mode: held back, never claimed as landed
            await self._offer(ctx, f"{note}; {self.delivery.last_failure}" if ctx.declined
                              else note)
            return
        await self.engine.set_state(ctx, State.DONE, note)

    async def _offer(self, ctx: RunContext, why: str) -> None:
        """What is still held waits in changes.diff, hunk by hunk, for Apply or Reject."""
        held = self.delivery.offer(ctx)
        reason = f"{why}; {held} hunk(s) held back: apply or reject them in changes.diff"
        if ctx.run.state == State.AWAITING_APPLY:
            await self.engine.notify(ctx, reason)
            return
        await self.engine.set_state(ctx, State.AWAITING_APPLY, reason)
        await self.engine.host.show_document(ctx.folder / "changes.diff", take_focus=False)

    async def _awaiting_apply(self, ctx: RunContext) -> None:
        if self._was_asking(ctx):
            await self._apply_and_finish(ctx)
            return
        decision = ctx.new_decision()
        if ctx.resumed:
            ctx.resumed = False
            self.delivery.recount(ctx)
            await self.engine.notify(ctx)
        approval: Approval = await decision
        ctx.decision = None
        self.engine.emit(ctx, approval)
        if approval.decision == "reject":
            if any(d.applied and not d.revert for d in ctx.run.deliveries):
                await self.engine.set_state(ctx, State.DONE, "the held changes rejected; "
                                            "the rest had landed")
            else:
                await self.engine.set_state(ctx, State.REJECTED, approval.text or "changes rejected")
            return
        await self._apply_and_finish(ctx)

    async def _apply_and_finish(self, ctx: RunContext) -> None:
        ok = await self.delivery.deliver(ctx)
        if ok and not self.delivery.pending(ctx):
            await self.engine.set_state(ctx, State.DONE, "changes applied")
            return
        await self._offer(ctx, "changes applied" if ok else self.delivery.last_failure)

    # -- outside the state machine ----------------------------------------------------
    async def revert(self, ctx: RunContext) -> None:
        ok = await self.delivery.revert(ctx)
        await self.engine.notify(ctx, "reverted" if ok else f"revert failed: {self.delivery.last_failure}")

    def gather_context(self, uri: str | None, range_: dict[str, Any] | None,
                       parent_run_id: str | None) -> dict[str, Any]:
        """The selection (with its surroundings) and the parent run, fixed at creation."""
        out: dict[str, Any] = {"context": ""}
        if uri:
            rel = self.engine.rel_from_uri(uri)
            if rel is None:
                out["context"] = f"(The person pointed at {uri}, which is outside the workspace.)"
            else:
                out["selection_path"] = rel
                out["selection"] = self._selection(rel, range_)
        if parent_run_id:
            out["context"] = (out["context"] + "\n\n" + self._parent_context(parent_run_id)).strip()
        return out

    def _selection(self, rel: str, range_: dict[str, Any] | None) -> str | None:
        path = self.engine.root / rel
        try:
            text = self.engine._open_text(path) or read_text_file(path) or ""
        except Exception:
            text = ""
        lines = text.splitlines()
        if not range_ or not lines:
            return None
        try:
            start = int(range_["start"]["line"])
            end = int(range_["end"]["line"])
        except (KeyError, TypeError, ValueError):
            return None
        lo, hi = max(0, start - CONTEXT_LINES), min(len(lines), end + 1 + CONTEXT_LINES)
        selected = "\n".join(lines[start:end + 1])
        around = "\n".join(f"{i + 1:5}  {lines[i]}" for i in range(lo, hi))
        return (f"Lines {start + 1}-{end + 1}:\n{selected}\n\nWith the code around them:\n{around}")

    def _parent_context(self, parent_run_id: str) -> str:
        pctx = self.engine.contexts[parent_run_id]
        p = pctx.run
        status = f"it ended {p.state}" + (f" ({p.error})" if p.error else "")
        if p.reverted:
            status += "; its changes were reverted"
        out = [f"This is a follow-up to run {p.id}: \"{p.task}\" ({status})."]
        if p.accepted_plan:
            out.append(f"Its accepted plan:\n{p.accepted_plan[:4000]}")
        diff = self.run_diff(pctx)
        if diff:
            out.append(f"Its changes:\n```diff\n{diff[:6000]}\n```")
        if p.answer:
            out.append(f"Its answer:\n{p.answer[:3000]}")
        said = [m.text for conv in p.conversations.values() for m in conv
                if m.role == "assistant" and m.text.strip()]
        if said:
            out.append("What its agents said, last first:\n" + "\n".join(
                f"- {t.strip()[:300]}" for t in reversed(said[-8:])))
        return "\n\n".join(out)

    def describe(self, ctx: RunContext) -> dict[str, Any]:
        run = ctx.run
        return {
            "runId": run.id, "task": run.task, "route": run.route, "routeReason": run.route_reason,
            "state": run.state, "createdAt": run.created_at, "error": run.error or None,
            "parentRunId": run.parent_run_id,
            "children": [c.run.id for c in self.engine.contexts.values()
                         if c.run.parent_run_id == run.id],
            "plan": run.accepted_plan or (run.plan.text if run.plan else None),
            "answer": run.answer,
            "files": sorted({e.path for d in run.deliveries for e in d.edits} |
                            set(ctx.shadow.touched)),
            "grant": ctx.grants.describe(),
            "usage": {role: u.model_dump() for role, u in run.usage.items()},
            "providers": run.providers,
            "question": run.question.question.model_dump() if run.question else None,
            "conflict": run.conflict.model_dump() if run.conflict else None,
            "held": ctx.held,
            "reverted": run.reverted,
            "reviews": [r.model_dump(exclude={"ts"}) for r in run.reviews],
            "events": transcript_summary(ctx),
        }


def transcript_summary(ctx: RunContext) -> list[str]:
    """A readable line per step, in order, with its time: from the run's transcript.jsonl
    (what the journal wrote, secrets already redacted)."""
    path = ctx.folder / "transcript.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out: list[str] = []
    for line in lines:
        try:
            ev = EVENT.validate_json(line)
        except ValueError:
            continue
        when = time.strftime("%H:%M:%S", time.localtime(ev.ts))
        out += [f"{when} {text}" for text in _describe(ev)]
    return out


def _describe(ev: Any) -> list[str]:
    match ev:
        case StateChanged():
            return [f"state → {ev.state}" + (f" ({ev.reason})" if ev.reason else "")]
        case Routed():
            return [f"route {ev.route} by {ev.source}: {ev.reason}"]
        case AgentMessage() if ev.message.role == "assistant":
            who = f"{ev.agent}" + (f" [{ev.provider}]" if ev.provider else "")
            said = [f"{who}: {ev.message.text.strip()[:200]}"] if ev.message.text.strip() else []
            return said + [f"{who} → {c.name}({_args(c.arguments)})" for c in ev.message.tool_calls]
        case AgentMessage():
            return [f"to {ev.agent}: {ev.message.text.strip()[:200]}"]
        case ToolDone():
            r = ev.result
            return [f"{ev.agent} ← {r.name}: {'ERROR ' if r.is_error else ''}{r.content[:120]}"]
        case Approval():
            return [f"you: {ev.decision}" + (f" ({ev.text[:120]})" if ev.decision != "accept" and ev.text else "")]
        case Asked():
            return [f"{ev.agent} asks: {ev.question.text}"]
        case Answered():
            return [f"you answered: {ev.answer}"]
        case ConflictAsked():
            return [f"Baton asks: {ev.question.text}"]
        case ConflictAnswered():
            return [f"you answered: {ev.answer}" if ev.answer is not None else
                    f"conflict question closed ({ev.reason}): its hunks stay held"]
        case Steered():
            return [f"{'you' if ev.source == 'person' else 'Baton'} noted: {ev.message}"]
        case Permission():
            return [f"permission for {ev.subject}: {ev.answer}"]
        case Delivered():
            what = "revert" if ev.revert else "edits"
            files = ", ".join(e.path for e in ev.edits) or "nothing"
            return [f"{what} of {files}: {'applied' if ev.applied else 'not applied'}"
                    + (f" ({ev.reason})" if ev.reason else "")]
        case Reviewed():
            return [f"review: {ev.verdict}, {len(ev.findings)} finding(s)"]
    return []


def _args(arguments: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return text if len(text) <= 120 else text[:117] + "…"
