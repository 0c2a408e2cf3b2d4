"""`Run`: states, routes, the legal transitions, and the run rebuilt from its events.

A run's state is what its journal says: `Run.apply` folds one event in, and the engine
only ever changes a run by appending an event (see `engine.Engine._emit`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from ..providers.base import Message, ToolResult, Usage
from .host import FileEdit, Finding, Question


class State(StrEnum):
    QUEUED = "queued"
    CLASSIFYING = "classifying"
    PLANNING = "planning"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_INPUT = "awaiting_input"
    IMPLEMENTING = "implementing"
    REVIEWING = "reviewing"
    AWAITING_APPLY = "awaiting_apply"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Route(StrEnum):
    ASK = "ask"
    EDIT = "edit"
    PLAN = "plan"


TERMINAL = frozenset({State.DONE, State.REJECTED, State.FAILED, State.CANCELLED})
# States in which the run waits for the person and has no agent working.
WAITING = frozenset({State.AWAITING_APPROVAL, State.AWAITING_INPUT, State.AWAITING_APPLY})

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
    # edit route: the change is the plan → awaiting_approval
    _S.IMPLEMENTING: frozenset({_S.REVIEWING, _S.AWAITING_APPROVAL, _S.AWAITING_INPUT,
                                _S.AWAITING_APPLY}),
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


class ToolDone(_Event):
    kind: Literal["tool"] = "tool"
    agent: str
    result: ToolResult


class PlanSubmitted(_Event):
    kind: Literal["plan"] = "plan"
    summary: str
    steps: list[str]
    files: list[str]
    text: str


class Approval(_Event):
    kind: Literal["approval"] = "approval"
    decision: Literal["accept", "reject", "revise"]
    text: str = ""  # accepted plan text, feedback, or reason


class Permission(_Event):
    kind: Literal["permission"] = "permission"
    subject: str  # a path, or a command when `command`
    answer: str
    command: bool = False


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


Event = Annotated[
    Created | StateChanged | Routed | AgentMessage | ToolDone | PlanSubmitted | Approval
    | Permission | Delivered | Reviewed | Asked | Answered | Steered | Answer | ConflictAsked
    | ConflictAnswered,
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
    updated_at: float = 0.0
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
    conflict: Question | None = None  # a conflict question asked and not yet answered
    steers: list[str] = Field(default_factory=list)  # not yet seen by an agent
    permissions: list[Permission] = Field(default_factory=list)
    reverted: bool = False
    events: list[dict[str, Any]] = Field(default_factory=list, exclude=True)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def apply(self, ev: Event) -> None:
        self.updated_at = ev.ts
        match ev:
            case Created():
                self.task, self.uri, self.range = ev.task, ev.uri, ev.range
                self.forced_route, self.parent_run_id = ev.route, ev.parent_run_id
                self.edit_mode, self.context, self.created_at = ev.edit_mode, ev.context, ev.ts
                self.selection, self.selection_path = ev.selection, ev.selection_path
                self.diagnostic = ev.diagnostic
            case StateChanged():
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
                self.conversations.setdefault(ev.agent, []).append(ev.message)
                self.steers = self.steers[ev.steers_consumed:]
                if ev.usage is not None:
                    self.usage[ev.agent] = self.usage.get(ev.agent, Usage()) + ev.usage
                if ev.provider and ev.provider not in self.providers.setdefault(ev.agent, []):
                    self.providers[ev.agent].append(ev.provider)
            case ToolDone():
                conv = self.conversations.setdefault(ev.agent, [])
                if conv and conv[-1].role == "tool":
                    conv[-1].tool_results.append(ev.result)
                else:
                    conv.append(Message(role="tool", tool_results=[ev.result]))
                if ev.result.name == "ask_user":  # the answer is consumed: never reused
                    self.question, self.pending_answer = None, None
            case PlanSubmitted():
                self.plan = ev
            case Approval():
                # Accepting a plan (or an edit route's change) records it; "Apply changes"
                # in awaiting_apply is an acceptance too, of the changes, not of a plan.
                if ev.decision == "accept" and self.state == State.AWAITING_APPROVAL:
                    self.accepted_plan = ev.text
            case Permission():
                self.permissions.append(ev)
            case Delivered():
                self.deliveries.append(ev)
                if ev.revert and ev.applied:
                    self.reverted = True
            case Reviewed():
                self.reviews.append(ev)
            case Asked():
                self.question = ev
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

    def total_usage(self) -> Usage:
        total = Usage()
        for u in self.usage.values():
            total = total + u
        return total
