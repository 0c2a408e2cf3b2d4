"""Which of the person's actions a run allows now: the one rule. The engine refuses a
command the rule does not allow, and `baton/runChanged` (and `baton.runs`) carry the
allowed actions, so editors offer exactly these and decide nothing themselves."""

from __future__ import annotations

from ..wire import Action
from .runs import Run, State


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
    if action == Action.ANSWER_PERMISSION:
        asked = run.state == State.AWAITING_INPUT and run.question is not None \
            and run.question.permission is not None
        return None if asked else (run.state, "waiting for a permission")
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
