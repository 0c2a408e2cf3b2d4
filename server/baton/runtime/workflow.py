"""The routes of PROTOCOL §3 as state handlers, and the one driver of the state machine.

`Workflow.drive` is a run's driver: it calls the handler of the run's current state until
the run is terminal, and it alone moves a run from state to state (`_move`). Agents,
tools and deliveries return what happened (an output call, a `Pause` for the person, a
delivery that did or did not land) and the handler decides. Handlers are re-entrant: after
a restart the same handler runs again and picks up from the journal (an agent's
conversation, a pending decision).

Adding a state (verification, say): add it to `runs.State` and its transitions to
`runs.TRANSITIONS`, write `async def _verifying(self, ctx)` that ends with a `_move`, and
register it in `self._handlers`; then move into it from the handler before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..agents.loop import AgentOutput, run_agent
from ..agents.roles import ANSWERER, CLASSIFIER, IMPLEMENTER, PLANNER, REVIEWER, RoleSpec
from ..agents.routing import fast_route, promote_edit
from ..errors import BatonError, RunFailed
from ..providers.base import Message
from ..sandbox.grants import is_glob, literal
from ..sandbox.paths import PathPolicy
from ..tools import specs
from ..tools.builtin import BUILTIN
from ..tools.listing import iter_files
from ..tools.registry import Pause, ToolRegistry
from ..wire import Question
from .briefing import Briefing, relative_uri
from .context import RunContext
from .delivery import Delivery
from .host import Finding, Host
from .planfile import (Outcome, granted_files, render_answer, render_changes,
                       render_edit_proposal, render_plan, settle_document)
from .recorder import Recorder, usage_line
from .runs import (TERMINAL, WAITING, WORKING, Answer, Answered, Asked, ChangesApplied, Decision,
                   PlanAccepted, PlanSubmitted, Rejected, Reviewed, RevisionAsked, Route, Routed,
                   State, StateChanged, legal)
from .session import RoleSession
from .settings import Settings
from .streaming import Streamer
from .summary import finish_summary
from .verification import Verification

log = logging.getLogger(__name__)


class Workflow:
    def __init__(self, *, recorder: Recorder, host: Host, settings: Settings, policy: PathPolicy,
                 delivery: Delivery, briefing: Briefing, tools: ToolRegistry = BUILTIN,
                 verification: Verification | None = None) -> None:
        self.recorder = recorder
        self.host = host
        self.settings = settings
        self.policy = policy
        self.root = policy.root
        self.delivery = delivery
        self.briefing = briefing
        self.tools = tools
        self.verification = verification  # None: no verifying state (tests of other states)
        self.closing = False  # the daemon stops: drivers end without ending their runs
        self._handlers: dict[State, Callable[[RunContext], Awaitable[None]]] = {
            State.QUEUED: self._queued,
            State.CLASSIFYING: self._classifying,
            State.PLANNING: self._planning,
            State.AWAITING_APPROVAL: self._awaiting_approval,
            State.AWAITING_INPUT: self._awaiting_input,
            State.IMPLEMENTING: self._implementing,
            State.VERIFYING: self._verifying,
            State.REVIEWING: self._reviewing,
            State.AWAITING_APPLY: self._awaiting_apply,
        }

    # -- the driver -------------------------------------------------------------------
    async def drive(self, ctx: RunContext) -> None:
        """Step the run until it is terminal. Cancelled (by the person), it ends cancelled;
        a failure ends it failed with the reason; a bug never takes the daemon down."""
        run = ctx.run
        await self.recorder.progress(run.id, "begin", f"{run.state}: {run.task[:60]}")
        try:
            while not run.terminal:
                if run.state in WORKING and self.settings.problem is not None:
                    await self._wait_for_configuration(ctx)
                await self._handlers[run.state](ctx)
                ctx.resumed = False  # only the first handler after a restart sees it
        except asyncio.CancelledError:
            await self._end_stream(ctx)
            if self.closing:
                return
            await self._end_unanswered(ctx, State.CANCELLED, "cancelled by the person")
        except BatonError as e:
            log.info("run %s failed: %s", run.id, e)
            await self._end_stream(ctx)
            await self._end_unanswered(ctx, State.FAILED, str(e))
        except Exception as e:  # a bug must end the run visibly, never the daemon
            log.exception("run %s: internal error", run.id)
            await self._end_stream(ctx)
            await self._end_unanswered(ctx, State.FAILED,
                                       f"internal error: {type(e).__name__}: {e}")
        finally:
            await self._stop_servers(ctx)  # they die with the run (or the daemon)
            if run.terminal or not self.closing:
                await self.recorder.progress(run.id, "end", f"{run.state}"
                                             + (f": {self.recorder.redact(run.error)}" if run.error else "")
                                             + f" · {usage_line(run)}")

    async def _wait_for_configuration(self, ctx: RunContext) -> None:
        """No step starts on other settings than the files say: while they do not load the
        run stays in its state, saying why (file, line, key), and goes on once they do."""
        while (problem := self.settings.problem) is not None:
            await self.recorder.notify(ctx, f"waiting for a valid configuration: {problem}")
            await self.recorder.progress(ctx.run.id, "report", "waiting for a valid configuration")
            await self.settings.changed(problem)
        await self.recorder.notify(ctx, "the configuration loads again: going on")

    async def _end_stream(self, ctx: RunContext) -> None:
        """Stop streaming edits; a delivery under way finishes first."""
        if ctx.stream is not None:
            stream, ctx.stream = ctx.stream, None
            await stream.close()

    async def _end_unanswered(self, ctx: RunContext, state: State, reason: str) -> None:
        """End the run (cancelled, failed) before the person answered what it asked: a
        document still asking says what became of it, so nobody answers a run that is
        over. plan.md only if it was never accepted (nothing of it was implemented, as it
        will say; an accepted one whose note the editor refused keeps asking rather than
        say so). changes.diff is written only to wait for the person; once answered it has
        no waiting line left, and `settle` leaves it as it is."""
        run = ctx.run
        if run.terminal:
            return
        await self._move(ctx, state, reason)
        outcome: Outcome = "cancelled" if state == State.CANCELLED else "failed"
        for name in ("plan.md", "changes.diff"):
            if (name != "plan.md" or run.accepted_plan is None) and (ctx.folder / name).exists():
                await self._settle(ctx, name, outcome)

    async def _move(self, ctx: RunContext, state: State, reason: str = "") -> None:
        run = ctx.run
        if not legal(run.state, state):
            raise RunFailed(f"internal: illegal transition {run.state} → {state}")
        self.recorder.emit(ctx, StateChanged(state=state, reason=reason))
        if state in WAITING or state in TERMINAL:
            # What the person is told (a plan awaits you, the run is over) survives a crash.
            await self.recorder.flush()
        if state in (State.AWAITING_APPROVAL, State.AWAITING_APPLY):
            await self._stop_servers(ctx)  # nothing calls them while the person decides
        await self.recorder.notify(ctx, reason)
        if state not in TERMINAL:
            await self.recorder.progress(run.id, "report", f"{state}" + (f": {reason}" if reason else ""))

    # -- helpers ----------------------------------------------------------------------
    def session(self, ctx: RunContext, agent: str) -> RoleSession:
        return RoleSession(ctx, agent, recorder=self.recorder, host=self.host,
                           settings=self.settings, policy=self.policy,
                           ask_during_call=self._ask_during_call)

    async def _tools(self, ctx: RunContext, role: RoleSpec) -> ToolRegistry:
        """The registry `role` uses in this run: Baton's tools, and the tools of the MCP
        servers it sees (started now if they are not running)."""
        servers = self.settings.config.mcp.servers
        if not any(s.sees(role.config_role) for s in servers.values()):
            return self.tools
        from ..mcp.registered import registry_tools  # the MCP SDK loads only when used
        from ..mcp.servers import RunServers
        if ctx.servers is None:
            ctx.servers = RunServers(
                servers, ctx.shadow, provider_keys=self.settings.provider_keys(),
                allow_unsandboxed=self.settings.config.permissions.allow_unsandboxed_commands)
        offered = await ctx.servers.tools(role.config_role)
        for name, problem in ctx.servers.problems.items():
            await self.recorder.progress(ctx.run.id, "report",
                                         f"MCP server {name} is not available: {problem}"[:200])
        return self.tools.with_tools(registry_tools(ctx.servers, offered, role.name))

    async def _stop_servers(self, ctx: RunContext) -> None:
        if ctx.servers is not None:
            await ctx.servers.stop()

    async def _ask_during_call(self, ctx: RunContext, agent: str, call_id: str,
                               pause: Pause) -> str | None:
        """A tool call in flight asks the person (an MCP server's question): the run waits in
        awaiting_input, as for `ask_user`, and goes back once they answered. A state that
        cannot wait for an answer (reviewing) gets None: the question is not asked."""
        if not legal(ctx.run.state, State.AWAITING_INPUT):
            return None
        await self.wait_for_person(ctx, agent, call_id, pause)
        answer = await self._answer(ctx)
        self.recorder.emit(ctx, Answered(answer=answer))
        await self._move(ctx, ctx.run.resume_state or State.IMPLEMENTING, "answered")
        return answer

    async def _agent(self, ctx: RunContext, role: RoleSpec) -> AgentOutput | None:
        """The role's output; None when the agent asked the person and the run now waits
        (`_awaiting_input` brings it back, and the agent goes on from its question)."""
        session = self.session(ctx, role.name)
        provider = self.settings.providers.for_role(role.config_role)
        if not session.conversation():
            session.record(Message(role="user", text=await self.briefing.first_message(
                ctx, role.config_role, provider.capabilities.context_window)))
        max_turns = self.settings.config.limits.max_turns.get(role.config_role, 30)
        tools = await self._tools(ctx, role)
        out = await run_agent(role, provider, session, tools, max_turns=max_turns)
        if out.pause is None:
            return out
        assert out.call is not None
        await self.wait_for_person(ctx, role.name, out.call.id, out.pause)
        return None

    async def wait_for_person(self, ctx: RunContext, agent: str, call_id: str, pause: Pause) -> None:
        """An agent's tool call waits for the person (its question, or a permission it
        needs): the run waits in awaiting_input."""
        self.recorder.emit(ctx, Asked(agent=agent, call_id=call_id, question=Question(
            text=pause.question, options=pause.options), permission=pause.permission,
            permission_kind=pause.kind, diff=pause.diff))
        await self._move(ctx, State.AWAITING_INPUT, "a permission for you" if pause.permission
                         else "a question for you")

    def _write(self, ctx: RunContext, name: str, text: str) -> None:
        path = ctx.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    async def _show(self, ctx: RunContext, name: str) -> None:
        await self.host.show_document(ctx.folder / name, take_focus=False)

    async def _settle(self, ctx: RunContext, name: str, outcome: Outcome) -> None:
        """A document the person answered (or no longer can) stops asking: it says what
        became of it."""
        await settle_document(self.host, self.root, ctx.run.id, ctx.folder / name, outcome)

    def run_diff(self, ctx: RunContext) -> str:
        return self.briefing.run_diff(ctx)

    # -- states -----------------------------------------------------------------------
    async def _queued(self, ctx: RunContext) -> None:
        run = ctx.run
        if run.forced_route is not None:
            self.recorder.emit(ctx, Routed(route=run.forced_route, reason="chosen by you",
                                           source="caller"))
            await self._after_route(ctx)
            return
        await self._move(ctx, State.CLASSIFYING)

    async def _classifying(self, ctx: RunContext) -> None:
        run = ctx.run
        guess = fast_route(run.task, has_selection=bool(run.selection),
                           has_diagnostic=bool(run.diagnostic))
        if guess.route is not None:
            self.recorder.emit(ctx, Routed(route=Route(guess.route), source="rules",
                                           reason=f"{guess.reason} (fast path, confidence "
                                                  f"{guess.confidence:.2f})"))
            await self._after_route(ctx)
            return
        out = await self._agent(ctx, CLASSIFIER)
        assert out is not None and out.call is not None  # the classifier cannot ask
        args = specs.Classify.model_validate(out.call.arguments)
        self.recorder.emit(ctx, Routed(route=Route(args.route), reason=args.reason, source="model"))
        await self._after_route(ctx)

    async def _after_route(self, ctx: RunContext) -> None:
        run = ctx.run
        if run.route == Route.EDIT and run.uri:
            target = relative_uri(self.root, run.uri)
            if target:
                ctx.grants.plan_files = [literal(target)]  # that file, whatever its name
        state = State.IMPLEMENTING if run.route == Route.EDIT else State.PLANNING
        await self._move(ctx, state, f"route {run.route}: {run.route_reason}")

    async def _planning(self, ctx: RunContext) -> None:
        run = ctx.run
        if run.route == Route.ASK:
            out = await self._agent(ctx, ANSWERER)
            assert out is not None  # the answerer cannot ask
            self.recorder.emit(ctx, Answer(text=out.text))
            self._write(ctx, "answer.md", render_answer(run, out.text))
            await self._move(ctx, State.DONE, "answered")
            await self._show(ctx, "answer.md")
            return
        out = await self._agent(ctx, PLANNER)
        if out is None:
            return
        assert out.call is not None
        args = specs.SubmitPlan.model_validate(out.call.arguments)
        files = []
        for f in args.files:  # a plan cannot grant what the path policy refuses
            try:
                files.append(self.policy.relative(f) if not any(c in f for c in "*?[") else f)
            except Exception as e:
                raise RunFailed(f"the plan lists a path that is not allowed: {e}") from e
        plan = PlanSubmitted(summary=args.summary, steps=args.steps, files=files, text="")
        perms = self.settings.config.permissions
        listing = None  # lets plan.md say how many files each glob covers; walked only for one
        if any(is_glob(f) for f in (*files, *perms.write)):
            listing = await asyncio.to_thread(lambda: list(iter_files(self.root)))
        plan.text = render_plan(run, plan, perms.write, perms.commands, listing)
        self.recorder.emit(ctx, plan)
        await self._propose(ctx, plan.text, "plan ready for your approval")

    async def _propose(self, ctx: RunContext, text: str, reason: str) -> None:
        """Write plan.md, ask for approval, then show it: by the time the person sees the
        plan, Accept already works."""
        self._write(ctx, "plan.md", text)
        await self._move(ctx, State.AWAITING_APPROVAL, reason)
        await self._show(ctx, "plan.md")

    def _was_asking(self, ctx: RunContext) -> bool:
        """Restarted while the delivery of an accepted change asked about a conflict: the
        person's decision stands, the delivery is done again and asks again."""
        return ctx.resumed and ctx.run.conflict is not None

    async def _decision(self, ctx: RunContext) -> Decision:
        """What the person decides (a command resolves it), journaled."""
        waiting = ctx.new_decision()
        if ctx.resumed:  # after a restart: show the person again what awaits them
            if ctx.run.state == State.AWAITING_APPROVAL:
                await self._show(ctx, "plan.md")
            else:
                self.delivery.recount(ctx)
            await self.recorder.notify(ctx)
        decision: Decision = await waiting
        ctx.decision = None
        self.recorder.emit(ctx, decision)
        return decision

    async def _awaiting_approval(self, ctx: RunContext) -> None:
        run = ctx.run
        if self._was_asking(ctx):
            decision: Decision = PlanAccepted(text=run.accepted_plan or "")
        else:
            decision = await self._decision(ctx)
        if isinstance(decision, PlanAccepted | Rejected):
            await self._settle(ctx, "plan.md", "accepted" if isinstance(decision, PlanAccepted)
                               else "rejected")
        match decision:
            case Rejected():
                await self._move(ctx, State.REJECTED, decision.reason or "rejected by you")
            case RevisionAsked():
                agent = "implementer" if run.route == Route.EDIT else "planner"
                self.session(ctx, agent).record(Message(
                    role="user", text=f"The person asks for a revision: {decision.feedback}\n"
                    "Revise accordingly and submit again."))
                nxt = State.IMPLEMENTING if run.route == Route.EDIT else State.PLANNING
                await self._move(ctx, nxt, "revising")
            case _ if run.route == Route.EDIT:
                await self._apply_and_finish(ctx)
            case _ if run.promoted:  # the accepted diff is the plan; it is reviewed like one
                if run.edit_mode == "stream" and not await self.delivery.deliver(ctx):
                    ctx.declined = True  # offered once the review is done
                await self._move(ctx, State.REVIEWING, "change accepted")
            case PlanAccepted():
                ctx.grants.plan_files = granted_files(decision.text)
                await self._move(ctx, State.IMPLEMENTING, "plan accepted")

    async def _awaiting_input(self, ctx: RunContext) -> None:
        """An agent's question waits for the person as long as they take. Answered before a
        restart and not yet seen by the agent, the answer stands."""
        run = ctx.run
        if run.pending_answer is None:
            self.recorder.emit(ctx, Answered(answer=await self._answer(ctx)))
        await self._move(ctx, run.resume_state or State.IMPLEMENTING, "answered")

    async def _answer(self, ctx: RunContext) -> str:
        run = ctx.run
        assert run.question is not None
        waiting = ctx.new_decision()
        if ctx.resumed:
            await self.recorder.notify(ctx)
        # Ask directly where the host can (message box, terminal prompt); the answer may
        # equally arrive through `baton.run.answer`: whichever comes first wins. Said to be
        # the agent's in the host's own prompt, so a question dressed as a permission prompt
        # (options "Allow once", "Allow for this run") reads as what it is.
        asked = run.question.question
        direct = asyncio.get_running_loop().create_task(
            self.host.ask_permission(run.id, asked.text) if run.question.permission is not None
            else self.host.ask_question(run.id, Question(
                text=f"A question from the {run.question.agent} agent: {asked.text}",
                options=asked.options)))
        try:
            await asyncio.wait({direct, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if waiting.done():
                answer = waiting.result()
            else:
                answer = direct.result()  # a permission's is a PermissionAnswer: its str value
                answer = await waiting if answer is None else str(answer)
        finally:
            direct.cancel()
            ctx.decision = None
        return answer

    async def _implementing(self, ctx: RunContext) -> None:
        run = ctx.run
        # Stream mode on the plan route: each write goes to the editor while the agent works
        # (an edit route's change is the proposal, so nothing lands before it is accepted).
        # The stream stays open while the implementer's question waits for the person.
        if ctx.stream is None and run.edit_mode == "stream" and run.route == Route.PLAN \
                and not ctx.declined:
            ctx.stream = Streamer(self.recorder, self.delivery, ctx)
        out = await self._agent(ctx, IMPLEMENTER)  # on failure, `drive` ends the stream
        if out is None:
            return
        await self._end_stream(ctx)
        assert out.call is not None
        summary = specs.Finish.model_validate(out.call.arguments).summary
        if run.route == Route.EDIT and not self.run_diff(ctx):
            raise RunFailed(f"the implementer made no change ({summary})")
        # What the stream has not delivered yet; conflicts held while the agent worked are
        # asked about now. Whatever stays held is offered once the review is done.
        if run.route != Route.EDIT and run.edit_mode == "stream" and not ctx.declined \
                and not await self.delivery.deliver(ctx):
            ctx.declined = True
        if self.verification is not None and self.verification.configured:
            await self._move(ctx, State.VERIFYING, "the implementer finished")
            return
        await self._implemented(ctx, summary)

    async def _implemented(self, ctx: RunContext, summary: str) -> None:
        """The implementer's change is done (and verified, with `[verify]`): an edit route
        proposes it to the person, the plan route has it reviewed."""
        run = ctx.run
        if run.route == Route.EDIT:
            diff = self.run_diff(ctx)
            changes = self.delivery.full_changes(ctx)
            lines = sum(1 for line in diff.splitlines()
                        if line[:1] in "+-" and not line.startswith(("+++", "---")))
            why = promote_edit(len(changes), lines, run.selection_path,
                               [c.path for c in changes], self.settings.config.limits.edit_max_lines)
            if why:
                self.recorder.emit(ctx, Routed(route=Route.PLAN, source="promotion",
                                               reason=f"promoted from edit: {why}"))
            await self._propose(ctx, render_edit_proposal(run, summary, diff),
                                "change ready for your approval")
            return
        await self._move(ctx, State.REVIEWING)

    async def _verifying(self, ctx: RunContext) -> None:
        """The change proves itself with the project's own commands (runtime/verification.py).
        New failures go back to the implementer, at most `[verify] rounds` times; then the
        run goes on with them attached: the reviewer sees them, the editor shows them as
        diagnostics. Resumed after a restart, a result already journaled stands."""
        assert self.verification is not None
        run = ctx.run
        verified = run.verified or await self.verification.run(ctx)
        await self.host.publish_findings(run.id, self.verification.diagnostics(run))
        if verified.sent_back:
            implementer = self.session(ctx, "implementer")
            said = implementer.conversation()
            if not said or said[-1].text != verified.feedback:  # not twice across a restart
                implementer.record(Message(role="user", text=verified.feedback))
            await self._move(ctx, State.IMPLEMENTING, f"verify: {verified.summary}")
            return
        await self._implemented(ctx, finish_summary(run))

    async def _reviewing(self, ctx: RunContext) -> None:
        run = ctx.run
        diff = self.run_diff(ctx) or "(no changes)"
        session = self.session(ctx, "reviewer")
        if session.conversation():  # a later round: the reviewer sees the new diff
            verify = f"\n\n{run.verifications[-1].report}" if run.verifications else ""
            session.record(Message(role="user", text=f"The implementer revised. The changes now:"
                                                     f"\n\n```diff\n{diff}\n```{verify}"))
        out = await self._agent(ctx, REVIEWER)
        assert out is not None and out.call is not None  # the reviewer cannot ask
        args = specs.SubmitReview.model_validate(out.call.arguments)
        findings = [Finding(**f.model_dump()) for f in args.findings]
        self.recorder.emit(ctx, Reviewed(verdict=args.verdict, findings=findings))
        verified = self.verification.diagnostics(run) if self.verification is not None else []
        await self.host.publish_findings(run.id, findings + verified)
        rounds = sum(1 for r in run.reviews if r.verdict == "request_changes")
        if args.verdict == "request_changes" and rounds <= self.settings.config.limits.review_rounds:
            listed = "\n".join(f"- {f.path}:{f.line} [{f.severity}] {f.message}" for f in findings)
            self.session(ctx, "implementer").record(Message(
                role="user", text=f"The reviewer requested changes:\n{listed}\n"
                "Address them, then call finish again."))
            await self._move(ctx, State.IMPLEMENTING, "the reviewer requested changes")
            return
        note = "review: " + args.verdict + ("" if args.verdict == "approve" else
                                            " (review rounds exhausted; see the findings)")
        if run.edit_mode == "review" and self.delivery.pending(ctx):
            self._write(ctx, "changes.diff", render_changes(run, self.run_diff(ctx)))
            await self._move(ctx, State.AWAITING_APPLY, "changes ready to apply")
            await self._show(ctx, "changes.diff")
            return
        if self.delivery.pending(ctx):  # stream mode: held back, never claimed as landed
            await self._offer(ctx, f"{note}; {self.delivery.last_failure}" if ctx.declined
                              else note)
            return
        await self._move(ctx, State.DONE, note)

    async def _offer(self, ctx: RunContext, why: str) -> None:
        """What is still held waits in changes.diff, hunk by hunk, for Apply or Reject."""
        held = self.delivery.offer(ctx)
        reason = f"{why}; {held} hunk(s) held back: apply or reject them in changes.diff"
        if ctx.run.state == State.AWAITING_APPLY:
            await self.recorder.notify(ctx, reason)
            return
        await self._move(ctx, State.AWAITING_APPLY, reason)
        await self._show(ctx, "changes.diff")

    async def _awaiting_apply(self, ctx: RunContext) -> None:
        if self._was_asking(ctx):
            await self._apply_and_finish(ctx)
            return
        decision = await self._decision(ctx)
        if isinstance(decision, Rejected):
            await self._settle(ctx, "changes.diff", "rejected")
            if any(d.applied and not d.revert for d in ctx.run.deliveries):
                await self._move(ctx, State.DONE, "the held changes rejected; the rest had landed")
            else:
                await self._move(ctx, State.REJECTED, decision.reason or "changes rejected")
            return
        assert isinstance(decision, ChangesApplied)
        await self._apply_and_finish(ctx)

    async def _apply_and_finish(self, ctx: RunContext) -> None:
        """The person decided (Apply changes, or an edit route's change accepted): what
        they were shown lands. What the editor did not apply stays offered, and they are
        told so where they look, not only in the run's state."""
        ok = await self.delivery.deliver(ctx)
        if ok and not self.delivery.pending(ctx):
            await self._settle(ctx, "changes.diff", "applied")
            await self._move(ctx, State.DONE, "changes applied")
            return
        if not ok:
            await self.host.tell(ctx.run.id, f"Baton run {ctx.run.id}: your changes were not "
                                 f"applied ({self.delivery.last_failure}). They are still "
                                 "offered in changes.diff: Apply changes again, or reject them.")
        await self._offer(ctx, "changes applied" if ok else self.delivery.last_failure)

    # -- outside the state machine ----------------------------------------------------
    async def revert(self, ctx: RunContext) -> None:
        """Send the inverse of what a finished run applied; the run stays where it is."""
        ok = await self.delivery.revert(ctx)
        await self.recorder.notify(ctx, "reverted" if ok else
                                   f"revert failed: {self.delivery.last_failure}")
