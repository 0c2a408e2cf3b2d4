"""Which of the person's actions a run allows now: the one rule. The engine refuses a
command the rule does not allow, and `baton/runChanged` (and `baton.runs`) carry the
allowed actions, so editors offer exactly these and decide nothing themselves."""

from __future__ import annotations

from enum import StrEnum

from .runs import Run, State


class Action(StrEnum):
    ACCEPT = "accept"  # baton.plan.accept: the plan (or an edit route's change)
    REJECT = "reject"  # baton.plan.reject, baton.edits.reject
    REVISE = "revise"  # baton.plan.revise
    APPLY = "apply"  # baton.edits.apply, and per hunk
    ANSWER = "answer"  # baton.run.answer
    STEER = "steer"  # baton.run.steer: a note the working agent sees at its next turn
    CANCEL = "cancel"  # baton.run.cancel
    REVERT = "revert"  # baton.run.revert
    FOLLOW_UP = "followUp"  # baton.run with parentRunId


_WAITING_FOR: dict[Action, tuple[State, ...]] = {
    Action.ACCEPT: (State.AWAITING_APPROVAL,),
    Action.REJECT: (State.AWAITING_APPROVAL, State.AWAITING_APPLY),
    Action.REVISE: (State.AWAITING_APPROVAL,),
    Action.APPLY: (State.AWAITING_APPLY,),
    Action.ANSWER: (State.AWAITING_INPUT,),
}


def refusal(run: Run, action: Action) -> tuple[str, str] | None:
    """None when `run` allows `action` now; else (what the run is, what the action needs
    it to be), the two halves of the WrongState message."""
    if action in _WAITING_FOR:
        states = _WAITING_FOR[action]
        return None if run.state in states else (run.state, " or ".join(states))
    if action in (Action.STEER, Action.CANCEL):
        return (run.state, "still running") if run.terminal else None
    if action == Action.REVERT:
        if not any(d.applied and not d.revert for d in run.deliveries):
            return run.state, "a run that applied changes"
        if run.reverted:
            return "already reverted", "a run not yet reverted"
        if not run.terminal:
            return run.state, "finished (cancel it first)"
    return None


def allowed(run: Run) -> list[Action]:
    return [a for a in Action if refusal(run, a) is None]
