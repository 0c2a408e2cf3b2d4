"""What a client without progress or documents is told: how to act, with the run's id."""

from __future__ import annotations

from pathlib import Path

from baton.lsp import notices


def test_a_plan_without_show_document_says_how_to_accept(tmp_path):
    plan = tmp_path / ".baton" / "runs" / "r1" / "plan.md"
    text = notices.open_this(plan.as_uri())
    assert str(plan) in text and "“Accept plan”" in text
    assert 'baton.plan.accept with {"runId": "r1"}' in text


def test_held_changes_and_answers_are_named():
    diff = notices.open_this(Path("/w/.baton/runs/r2/changes.diff").as_uri())
    assert "Apply changes" in diff and 'baton.edits.apply with {"runId": "r2"}' in diff
    assert notices.open_this(Path("/w/.baton/runs/r3/answer.md").as_uri()).startswith("Baton run r3 answered")


def test_states_to_act_on():
    q = {"runId": "r", "state": "awaiting_input", "task": "t",
         "question": {"text": "Which one?", "options": ["A", "B"]}}
    asked = notices.to_act_on(q)
    assert "Which one?" in asked and "A, B" in asked and "baton.run.answer" in asked
    assert "failed: boom" in notices.to_act_on({"runId": "r", "state": "failed", "error": "boom"})
    assert "2 change(s) are held" in notices.to_act_on({"runId": "r", "state": "done", "held": 2})
    assert notices.to_act_on({"runId": "r", "state": "planning"}) is None
    assert notices.state_line({"runId": "r", "state": "planning", "reason": "why", "task": "t"}) == \
        "Baton run r: planning (why) — t"


def test_paths_are_shown_not_interpreted():
    text = notices.open_this(Path("/w/evil\u202e.txt/.baton/runs/r/plan.md").as_uri())
    assert "\u202e" not in text and "\\u202e" in text


def test_a_question_outside_awaiting_input_is_said_too():
    conflict = {"runId": "r", "state": "implementing", "task": "t",
                "question": {"text": "You changed a.py line 3 …", "options": ["Keep mine", "Take the agent's"]}}
    text = notices.to_act_on(conflict)
    assert "You changed a.py" in text and "Keep mine, Take the agent's" in text and "baton.run.answer" in text
