"""Run states: the legal transitions, and a run rebuilt from its events."""

from __future__ import annotations

import pytest

from baton.providers.base import Message, ToolCall, ToolResult, Usage
from baton.runtime.runs import (EVENT, TERMINAL, TRANSITIONS, AgentMessage, Answered, Approval, Asked,
                                ConflictAnswered, ConflictAsked, Created, FailedOver, Paid, Routed,
                                Route, Run, State, StateChanged, Steered, ToolDone, legal)
from baton.runtime.host import Question


def test_every_state_has_its_transitions_and_terminal_states_have_none():
    for state in State:
        if state in TERMINAL:
            assert state not in TRANSITIONS
        else:
            assert {State.FAILED, State.CANCELLED} <= TRANSITIONS[state]


@pytest.mark.parametrize("src,dst", [
    (State.QUEUED, State.CLASSIFYING), (State.CLASSIFYING, State.PLANNING),
    (State.CLASSIFYING, State.IMPLEMENTING), (State.PLANNING, State.AWAITING_APPROVAL),
    (State.PLANNING, State.DONE), (State.AWAITING_APPROVAL, State.IMPLEMENTING),
    (State.AWAITING_APPROVAL, State.PLANNING), (State.AWAITING_APPROVAL, State.REJECTED),
    (State.IMPLEMENTING, State.REVIEWING), (State.REVIEWING, State.IMPLEMENTING),
    (State.REVIEWING, State.AWAITING_APPLY), (State.AWAITING_APPLY, State.DONE),
    (State.PLANNING, State.AWAITING_INPUT), (State.AWAITING_INPUT, State.IMPLEMENTING),
])
def test_legal(src, dst):
    assert legal(src, dst)


@pytest.mark.parametrize("src,dst", [
    (State.QUEUED, State.DONE), (State.PLANNING, State.IMPLEMENTING),
    (State.CLASSIFYING, State.AWAITING_APPROVAL), (State.DONE, State.PLANNING),
    (State.REJECTED, State.IMPLEMENTING), (State.CANCELLED, State.FAILED),
    (State.IMPLEMENTING, State.DONE), (State.AWAITING_APPLY, State.IMPLEMENTING),
])
def test_illegal(src, dst):
    assert not legal(src, dst)


def replay(events) -> Run:
    run = Run(id="r1")
    for ev in events:
        # Through JSON, exactly as the journal stores (None left out) and reads them.
        run.apply(EVENT.validate_json(ev.model_dump_json(exclude_none=True)))
    return run


def test_replay_rebuilds_conversation_usage_and_state():
    call = ToolCall(id="c1", name="read_file", arguments={"path": "a.py"})
    run = replay([
        Created(task="t", ts=1.0),
        StateChanged(state=State.CLASSIFYING),
        Routed(route=Route.PLAN, reason="big", source="model"),
        StateChanged(state=State.PLANNING),
        AgentMessage(agent="planner", message=Message(role="user", text="task")),
        AgentMessage(agent="planner", message=Message(role="assistant", tool_calls=[call]),
                     usage=Usage(input_tokens=10, output_tokens=5), provider="claude"),
        ToolDone(agent="planner", result=ToolResult(call_id="c1", name="read_file", content="x")),
        AgentMessage(agent="planner", message=Message(role="assistant", text="more"),
                     usage=Usage(input_tokens=3, output_tokens=2, cached_tokens=1), provider="gpt"),
    ])
    assert run.state == State.PLANNING and run.route == Route.PLAN
    conv = run.conversations["planner"]
    assert [m.role for m in conv] == ["user", "assistant", "tool", "assistant"]
    assert conv[2].tool_results[0].call_id == "c1"
    assert run.usage["planner"].input_tokens == 13 and run.usage["planner"].cached_tokens == 1
    assert run.providers["planner"] == ["claude", "gpt"]
    assert run.created_at == 1.0


def test_tokens_paid_for_a_turn_not_kept_count_and_leave_the_conversation_alone():
    run = replay([
        Created(task="t", ts=1.0),
        AgentMessage(agent="planner", message=Message(role="user", text="task")),
        Paid(agent="planner", usage=Usage(input_tokens=900, output_tokens=40, cost_usd=0.01),
             provider="claude", why="declined"),
        FailedOver(agent="planner", provider="claude", message="Provider claude could not…"),
    ])
    assert [m.role for m in run.conversations["planner"]] == ["user"]
    assert run.usage["planner"] == Usage(input_tokens=900, output_tokens=40, cost_usd=0.01)
    # Both survive the journal's round trip.
    for ev in (Paid(agent="a", usage=Usage(input_tokens=1)),
               FailedOver(agent="a", provider="p", message="m")):
        assert EVENT.validate_json(ev.model_dump_json()) == ev


def test_question_answer_and_resume_state():
    run = replay([
        Created(task="t"), StateChanged(state=State.PLANNING),
        Asked(agent="planner", call_id="q1", question=Question(text="which?")),
        StateChanged(state=State.AWAITING_INPUT),
    ])
    assert run.question and run.resume_state == State.PLANNING
    run.apply(Answered(answer="this"))
    assert run.pending_answer == "this"
    run.apply(ToolDone(agent="planner", result=ToolResult(call_id="q1", name="ask_user", content="a")))
    assert run.pending_answer is None and run.question is None


def test_steer_notes_are_consumed_once():
    run = replay([Created(task="t"), Steered(message="a"), Steered(message="b")])
    assert run.steers == ["Note from the person: a", "Note from the person: b"]
    run.apply(AgentMessage(agent="implementer", message=Message(role="user", text="notes"),
                           steers_consumed=2))
    assert run.steers == []


def test_promotion_is_recorded():
    run = replay([Created(task="t"), Routed(route=Route.EDIT, reason="r", source="rules"),
                  Routed(route=Route.PLAN, reason="too big", source="promotion")])
    assert run.promoted and run.route == Route.PLAN


def test_failed_state_keeps_its_reason():
    run = replay([Created(task="t"), StateChanged(state=State.FAILED, reason="boom")])
    assert run.terminal and run.error == "boom"


def test_applying_the_changes_keeps_the_accepted_plan():
    # "Apply changes" in review mode is an acceptance of the changes, not a new plan.
    run = replay([Created(task="t", edit_mode="review"), StateChanged(state=State.PLANNING),
                  StateChanged(state=State.AWAITING_APPROVAL),
                  Approval(decision="accept", text="# Plan\n- step\n"),
                  StateChanged(state=State.IMPLEMENTING), StateChanged(state=State.REVIEWING),
                  StateChanged(state=State.AWAITING_APPLY), Approval(decision="accept")])
    assert run.accepted_plan == "# Plan\n- step\n"


def test_a_conflict_question_is_open_until_answered():
    question = Question(text="You changed hello.py lines 6–7 …", options=["Keep mine"])
    run = replay([Created(task="t"), ConflictAsked(question=question)])
    assert run.conflict == question
    assert replay([ConflictAsked(question=question),
                   ConflictAnswered(answer=None, reason="dismissed")]).conflict is None


def test_a_permission_on_the_wire_is_redacted_and_keeps_its_id_across_a_restart() -> None:
    asked = Asked(agent="implementer", call_id="c1", permission="notes.txt", permission_kind="write",
                  question=Question(text="write notes.txt?", options=["Allow once", "Deny"]),
                  diff="+KEY=sk-SECRET-1234\n")
    wire = asked.wire_permission(lambda s: s.replace("sk-SECRET-1234", "[redacted]"))
    assert wire is not None and wire.diff == "+KEY=[redacted]\n" and wire.kind == "write"
    again = Asked.model_validate_json(asked.model_dump_json())  # as the journal gives it back
    assert again.permission_id == wire.id
    other = Asked(agent="implementer", call_id="c1", permission="other.txt", question=asked.question)
    assert other.permission_id != wire.id
    assert Asked(agent="planner", call_id="c2", question=asked.question).wire_permission(str) is None
