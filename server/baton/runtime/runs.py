"""`Run`: states, routes, the legal transitions, and the run rebuilt from its events.

A run's state is what its journal says: `Run.apply` folds one event in, and the runtime
only ever changes a run by appending an event (`recorder.Recorder.emit`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from ..agents.compaction import MessageEdit, apply_edits
from ..providers.base import Message, ToolResult, Usage
from ..verify.compare import Finding as VerifyFinding
from ..verify.outcome import Outcome
from ..wire import Permission as WirePermission
from ..wire import PermissionKind, Question, Route, State, Verify
from .host import FileEdit, Finding


TERMINAL = frozenset({State.DONE, State.REJECTED, State.FAILED, State.CANCELLED})
# States in which the run waits for the person and has no agent working.
WAITING = frozenset({State.AWAITING_APPROVAL, State.AWAITING_INPUT, State.AWAITING_APPLY})
# States whose time counts against `[limits] run_seconds`: Baton (an agent, a command) works.
WORKING = frozenset(State) - WAITING - TERMINAL

_S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    _S.QUEUED: frozenset({_S.CLASSIFYING, _S.PLANNING, _S.IMPLEMENTING}),
    _S.CLASSIFYING: frozenset({_S.PLANNING, _S.IMPLEMENTING}),
    # ask: the answer ends the run; plan: the plan awaits approval
    _S.PLANNING: frozenset({_S.AWAITING_APPROVAL, _S.AWAITING_INPUT, _S.DONE}),
    _S.AWAITING_INPUT: frozenset({_S.PLANNING, _S.IMPLEMENTING}),
    # plan accepted → implementing; revise → planning; an accepted edit-route diff → done,
    # or awaiting_apply when the editor declined it
    _S.AWAITING_APPROVAL: frozenset({_S.IMPLEMENTING, _S.PLANNING, _S.DONE, _S.AWAITING_APPLY,
                                     _S.REVIEWING, _S.REJECTED}),
    # edit route: the change is the plan → awaiting_approval; with [verify], verifying first
    _S.IMPLEMENTING: frozenset({_S.REVIEWING, _S.AWAITING_APPROVAL, _S.AWAITING_INPUT,
                                _S.AWAITING_APPLY, _S.VERIFYING}),
    # new failures back to the implementer, or on to review (an edit route: its proposal)
    _S.VERIFYING: frozenset({_S.IMPLEMENTING, _S.REVIEWING, _S.AWAITING_APPROVAL}),
    _S.REVIEWING: frozenset({_S.IMPLEMENTING, _S.AWAITING_APPLY, _S.DONE}),
    _S.AWAITING_APPLY: frozenset({_S.DONE, _S.REJECTED}),
}
for _s in list(TRANSITIONS):
    if _s not in TERMINAL:
        TRANSITIONS[_s] = TRANSITIONS[_s] | {_S.FAILED, _S.CANCELLED}


def legal(src: State, dst: State) -> bool:
    return dst in TRANSITIONS.get(src, frozenset())


# ---- events: the journal's vocabulary ----------------------------------------------

class _Event(BaseModel):
    ts: float = 0.0


class Created(_Event):
    kind: Literal["created"] = "created"
    task: str
    uri: str | None = None
    range: dict[str, Any] | None = None
    route: Route | None = None  # forced by the caller
    parent_run_id: str | None = None
    edit_mode: Literal["stream", "review"] = "stream"
    context: str = ""  # the parent run's context, for a follow-up
    selection: str | None = None  # the selected text with its surroundings
    selection_path: str | None = None
    diagnostic: str | None = None


class StateChanged(_Event):
    kind: Literal["state"] = "state"
    state: State
    reason: str = ""


class Routed(_Event):
    kind: Literal["routed"] = "routed"
    route: Route
    reason: str
    source: Literal["caller", "rules", "model", "promotion"]


class AgentMessage(_Event):
    kind: Literal["message"] = "message"
    agent: str
    message: Message
    provider: str = ""
    usage: Usage | None = None
    steers_consumed: int = 0  # steer notes this (user) message delivered to the agent


class Paid(_Event):
    """Tokens billed for a turn the conversation does not keep (a refusal, a turn cut off at
    the context window): in the run's usage like any other."""
    kind: Literal["paid"] = "paid"
    agent: str
    usage: Usage
    provider: str = ""
    why: str = ""


class FailedOver(_Event):
    """A provider of the agent's chain could not be used for a reason the person must fix
    (its key, quota or model name); `message` says which and who answered instead."""
    kind: Literal["failed_over"] = "failed_over"
    agent: str
    provider: str
    message: str


class ToolDone(_Event):
    kind: Literal["tool"] = "tool"
    agent: str
    result: ToolResult


class Compacted(_Event):
    """An agent's older turns compacted to fit its model's context window
    (agents/compaction.py): a run resumed after a restart sees the history the model saw."""
    kind: Literal["compacted"] = "compacted"
    agent: str
    edits: list[MessageEdit]
    tokens: int = 0  # the conversation's estimated size before


class PlanSubmitted(_Event):
    kind: Literal["plan"] = "plan"
    summary: str
    steps: list[str]
    files: list[str]
    text: str


class PlanAccepted(_Event):
    """The person accepted the plan (or an edit route's change), as its text reads now."""
    kind: Literal["plan_accepted"] = "plan_accepted"
    text: str


class RevisionAsked(_Event):
    kind: Literal["revision"] = "revision"
    feedback: str


class ChangesApplied(_Event):
    """The person chose Apply for the changes held in changes.diff."""
    kind: Literal["changes_applied"] = "changes_applied"


class Rejected(_Event):
    """The person rejected the plan, or the changes held in changes.diff."""
    kind: Literal["rejected"] = "rejected"
    reason: str = ""


Decision = PlanAccepted | RevisionAsked | ChangesApplied | Rejected


class Approval(_Event):
    """The one decision event journals written before Baton 0.2 hold; read, never written."""
    kind: Literal["approval"] = "approval"
    decision: Literal["accept", "reject", "revise"]
    text: str = ""  # accepted plan text, feedback, or reason

    def upgraded(self, state: State) -> Decision:
        if self.decision == "reject":
            return Rejected(ts=self.ts, reason=self.text)
        if self.decision == "revise":
            return RevisionAsked(ts=self.ts, feedback=self.text)
        if state == State.AWAITING_APPROVAL:
            return PlanAccepted(ts=self.ts, text=self.text)
        return ChangesApplied(ts=self.ts)


class Permission(_Event):
    kind: Literal["permission"] = "permission"
    subject: str  # a path, a command when `command`, a tool's name when `tool`
    answer: str
    command: bool = False
    tool: bool = False


class Delivered(_Event):
    kind: Literal["delivered"] = "delivered"
    edits: list[FileEdit]
    applied: bool
    reason: str = ""
    revert: bool = False


class Reviewed(_Event):
    kind: Literal["review"] = "review"
    verdict: Literal["approve", "request_changes"]
    findings: list[Finding]


class Asked(_Event):
    kind: Literal["question"] = "question"
    agent: str
    call_id: str
    question: Question
    permission: str | None = None  # Baton's permission prompt about this subject, for the call
    permission_kind: PermissionKind | None = None
    diff: str | None = None  # what the permission would let through (wire.Permission.diff)

    @property
    def permission_id(self) -> str:
        """Stable across a restart (the call asks again about the same subject), so a
        prompt still shown from before names the permission that waits now."""
        digest = hashlib.sha256(f"{self.call_id}\0{self.permission}".encode()).hexdigest()
        return digest[:16]

    def wire_permission(self, redact: Callable[[str], str]) -> WirePermission | None:
        """As runChanged carries it; what would be written is the model's: `redact` takes
        out the keys it may hold, as the journal does."""
        if self.permission is None:
            return None
        return WirePermission(id=self.permission_id, text=redact(self.question.text),
                              kind=self.permission_kind or PermissionKind.WRITE,
                              options=self.question.options or [],
                              diff=redact(self.diff) if self.diff is not None else None)


class Answered(_Event):
    kind: Literal["answer"] = "answer"
    answer: str


class Steered(_Event):
    kind: Literal["steer"] = "steer"
    message: str
    source: Literal["person", "baton"] = "person"  # baton: a fact Baton noticed (a file changed)

    def note(self) -> str:
        return (f"Note from the person: {self.message}" if self.source == "person"
                else f"Note from Baton (not the person): {self.message}")


class Answer(_Event):
    kind: Literal["answer_text"] = "answer_text"
    text: str


class ConflictAsked(_Event):
    """Baton asks the person how to settle their typing against the agent's change. Open
    until answered: a run restarted meanwhile redoes its delivery, which asks again."""
    kind: Literal["conflict"] = "conflict"
    question: Question


class ConflictAnswered(_Event):
    kind: Literal["conflict_answer"] = "conflict_answer"
    answer: str | None = None  # None: not settled; its hunks stay held
    reason: str = ""


class VerifyRan(_Event):
    """One verify command's outcome on one view (verify/runner.py): journaled so that a
    restarted run does not run a command that completed again."""
    kind: Literal["verify_ran"] = "verify_ran"
    outcome: Outcome


class Verified(_Event):
    """A verification's result: what runChanged, changes.diff and the reviewer show, and
    whether its new failures went back to the implementer."""
    kind: Literal["verified"] = "verified"
    passed: bool
    summary: str
    findings: list[VerifyFinding] = Field(default_factory=list)  # new failures, without output
    report: str = ""    # for the reviewer: the summary, each new failure with its output
    feedback: str = ""  # the message that sent them back to the implementer, when it did
    sent_back: bool = False
    duration_s: float = 0.0

    def wire(self) -> Verify:
        return Verify(passed=self.passed, summary=self.summary)


Event = Annotated[
    Created | StateChanged | Routed | AgentMessage | Paid | FailedOver | ToolDone | Compacted
    | PlanSubmitted | PlanAccepted
    | RevisionAsked | ChangesApplied | Rejected | Approval | Permission | Delivered | Reviewed | Asked | Answered | Steered | Answer | ConflictAsked
    | ConflictAnswered | VerifyRan | Verified,
    Field(discriminator="kind")]
EVENT = TypeAdapter(Event)


class Run(BaseModel):
    id: str
    task: str = ""
    uri: str | None = None
    range: dict[str, Any] | None = None
    parent_run_id: str | None = None
    edit_mode: Literal["stream", "review"] = "stream"
    context: str = ""
    selection: str | None = None
    selection_path: str | None = None
    diagnostic: str | None = None
    promoted: bool = False  # an edit run whose change turned out to need the plan route
    forced_route: Route | None = None
    route: Route | None = None
    route_reason: str = ""
    state: State = State.QUEUED
    resume_state: State | None = None  # where an awaiting_input run returns to
    created_at: float = 0.0
    error: str = ""
    plan: PlanSubmitted | None = None
    accepted_plan: str | None = None
    answer: str | None = None
    conversations: dict[str, list[Message]] = Field(default_factory=dict)
    usage: dict[str, Usage] = Field(default_factory=dict)
    providers: dict[str, list[str]] = Field(default_factory=dict)  # role → providers that answered
    deliveries: list[Delivered] = Field(default_factory=list)
    reviews: list[Reviewed] = Field(default_factory=list)
    question: Asked | None = None
    pending_answer: str | None = None
    asked_permission: str | None = None  # the subject `pending_answer` allows or denies
    asked_call: str | None = None  # the call whose question `pending_answer` answers
    conflict: Question | None = None  # a conflict question asked and not yet answered
    steers: list[str] = Field(default_factory=list)  # not yet seen by an agent
    permissions: list[Permission] = Field(default_factory=list)
    reverted: bool = False
    verify_outcomes: list[Outcome] = Field(default_factory=list)  # every verify command run
    verifications: list[Verified] = Field(default_factory=list)
    verified: Verified | None = None  # the result of the verification under way, once there
    working_s: float = 0.0  # time spent in WORKING states up to `working_since`
    working_since: float | None = None  # when the run last entered a WORKING state

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def _agent(self, agent: str) -> str:
        """Journals before Baton 0.2 name the answerer of an `ask` run "planner"."""
        return "answerer" if agent == "planner" and self.route == Route.ASK else agent

    def apply(self, ev: Event) -> None:
        match ev:
            case Created():
                self.task, self.uri, self.range = ev.task, ev.uri, ev.range
                self.forced_route, self.parent_run_id = ev.route, ev.parent_run_id
                self.edit_mode, self.context, self.created_at = ev.edit_mode, ev.context, ev.ts
                self.selection, self.selection_path = ev.selection, ev.selection_path
                self.diagnostic = ev.diagnostic
                self.working_since = ev.ts
            case StateChanged():
                if self.working_since is not None:
                    self.working_s += max(ev.ts - self.working_since, 0.0)
                self.working_since = ev.ts if ev.state in WORKING else None
                if ev.state == State.VERIFYING:
                    self.verified = None
                if ev.state == State.AWAITING_INPUT:
                    self.resume_state = self.state
                if self.state == State.AWAITING_INPUT:
                    self.question = None
                self.state = ev.state
                if ev.state == State.FAILED:
                    self.error = ev.reason
            case Routed():
                if self.route == Route.EDIT and ev.route == Route.PLAN:
                    self.promoted = True
                self.route, self.route_reason = ev.route, ev.reason
            case AgentMessage():
                agent = self._agent(ev.agent)
                self.conversations.setdefault(agent, []).append(ev.message)
                self.steers = self.steers[ev.steers_consumed:]
                if ev.usage is not None:
                    self.usage[agent] = self.usage.get(agent, Usage()) + ev.usage
                if ev.provider and ev.provider not in self.providers.setdefault(agent, []):
                    self.providers[agent].append(ev.provider)
            case Paid():
                agent = self._agent(ev.agent)
                self.usage[agent] = self.usage.get(agent, Usage()) + ev.usage
            case ToolDone():
                conv = self.conversations.setdefault(self._agent(ev.agent), [])
                if conv and conv[-1].role == "tool":
                    conv[-1].tool_results.append(ev.result)
                else:
                    conv.append(Message(role="tool", tool_results=[ev.result]))
                # The answer is consumed by the call that asked (ask_user, or an MCP tool
                # whose server asked mid-call): never reused.
                if ev.result.name == "ask_user" or ev.result.call_id == self.asked_call:
                    self.question, self.pending_answer = None, None
            case Compacted():
                agent = self._agent(ev.agent)
                self.conversations[agent] = apply_edits(self.conversations.get(agent, []), ev.edits)
            case PlanSubmitted():
                self.plan = ev
            case PlanAccepted():
                self.accepted_plan = ev.text
            case Approval():
                self.apply(ev.upgraded(self.state))
            case Permission():
                self.permissions.append(ev)
                if self.asked_permission == ev.subject:  # the answer is used
                    self.asked_permission, self.pending_answer = None, None
            case Delivered():
                self.deliveries.append(ev)
                if ev.revert and ev.applied:
                    self.reverted = True
            case Reviewed():
                self.reviews.append(ev)
            case Asked():
                self.question = ev
                self.asked_permission = ev.permission
                self.asked_call = ev.call_id
                self.pending_answer = None
            case Answered():
                self.pending_answer = ev.answer
            case Steered():
                self.steers.append(ev.note())
            case Answer():
                self.answer = ev.text
            case ConflictAsked():
                self.conflict = ev.question
            case ConflictAnswered():
                self.conflict = None
            case VerifyRan():
                self.verify_outcomes.append(ev.outcome)
            case Verified():
                self.verifications.append(ev)
                self.verified = ev

    def working_seconds(self, now: float) -> float:
        """How long Baton has worked on the run; its time waiting for the person is not counted."""
        since = self.working_since
        return self.working_s + (max(now - since, 0.0) if since is not None else 0.0)

    def total_usage(self) -> Usage:
        total = Usage()
        for u in self.usage.values():
            total = total + u
        return total
