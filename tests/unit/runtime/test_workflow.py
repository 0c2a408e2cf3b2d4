"""The workflow, the one driver of the state machine: each route's states in order, an
agent's question as a waiting state (answered by command, directly, or after a restart),
cancellation and failure ending the run, and no other module moving a run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import baton.runtime
from baton.errors import RunFailed
from baton.runtime.host import OpenDocument
from baton.runtime.planfile import CHANGES_WAITING, PLAN_WAITING
from baton.runtime.runs import State

from .harness import plan_script, start, turn, workspace

ASK = turn("ask_user", {"question": "Which greeting?", "options": ["Hello", "Hi"]})


async def test_plan_route_states_in_order(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        await host.state(run_id, "done")
        assert host.states(run_id) == ["classifying", "planning", "awaiting_approval",
                                        "implementing", "reviewing", "done"]
    finally:
        await engine.close()


async def test_ask_route_answers_in_answer_md(tmp_path: Path) -> None:
    script = plan_script(route="ask", planner=[{"text": "It prints hello."}])
    engine, host = await start(*workspace(tmp_path, [script]))
    try:
        run_id = engine.create("What does hello do?")
        done = await host.state(run_id, "done")
        answer = engine.runs_dir / run_id / "answer.md"
        assert "It prints hello." in answer.read_text() and host.shown == [answer]
        assert done.answerUri == answer.as_uri()
        assert "answerer" in engine.contexts[run_id].run.usage  # its own agent, the planner's provider
    finally:
        await engine.close()


async def test_an_agents_question_waits_in_awaiting_input_and_the_answer_is_its_result(
        tmp_path: Path) -> None:
    script = plan_script(planner=[ASK, *plan_script()["planner"]])
    engine, host = await start(*workspace(tmp_path, [script]))
    try:
        run_id = engine.create("Greet by name")
        waiting = await host.state(run_id, "awaiting_input")
        assert waiting.question.text == "Which greeting?" and waiting.actions[0] == "answer"
        assert host.questions[0].text == "A question from the planner agent: Which greeting?"
        engine.answer(run_id, "Hi")
        await host.state(run_id, "awaiting_approval")
        conv = engine.contexts[run_id].run.conversations["planner"]
        [result] = [r for m in conv for r in m.tool_results if r.name == "ask_user"]
        assert result.content == "The person answered: Hi"
        assert host.states(run_id)[1:4] == ["planning", "awaiting_input", "planning"]
    finally:
        await engine.close()


async def test_a_question_answered_in_the_hosts_own_prompt(tmp_path: Path) -> None:
    script = plan_script(implementer=[ASK, *plan_script()["implementer"]])
    engine, host = await start(*workspace(tmp_path, [script]))
    host.reply = "Hello"
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        await host.state(run_id, "done")
        assert "awaiting_input" in host.states(run_id)
        assert engine.contexts[run_id].run.pending_answer is None  # the agent took it
    finally:
        await engine.close()


async def test_a_question_open_at_a_restart_is_asked_again_and_answered_once(
        tmp_path: Path) -> None:
    ws, config = workspace(tmp_path, [plan_script(planner=[ASK, *plan_script()["planner"]])])
    engine, host = await start(ws, config)
    run_id = engine.create("Greet by name")
    await host.state(run_id, "awaiting_input")
    await engine.close()
    engine, host = await start(ws, config)
    try:
        assert (await host.state(run_id, "awaiting_input")).question.text == "Which greeting?"
        engine.answer(run_id, "Hi")
        await host.state(run_id, "awaiting_approval")
        run = engine.contexts[run_id].run
        assert sum(1 for m in run.conversations["planner"] for r in m.tool_results
                   if r.name == "ask_user") == 1
    finally:
        await engine.close()


async def test_cancel_ends_a_working_run_cancelled(tmp_path: Path) -> None:
    slow = plan_script(classifier=[turn("classify", {"route": "plan", "reason": "x"}, delay_ms=5000)])
    engine, host = await start(*workspace(tmp_path, [slow]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "classifying")
        engine.cancel(run_id)
        notice = await host.state(run_id, "cancelled")
        assert notice.reason == "cancelled by the person" and notice.actions == ["followUp"]
    finally:
        await engine.close()


async def test_a_failing_agent_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script(planner=[])]))
    try:
        run_id = engine.create("Greet by name")
        notice = await host.state(run_id, "failed")
        assert "planner script has 0 turn(s)" in notice.error
    finally:
        await engine.close()


async def test_an_illegal_transition_is_refused(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        with pytest.raises(RunFailed, match="illegal transition"):
            await engine.workflow._move(engine.contexts[run_id], State.CLASSIFYING)
    finally:
        await engine.close()


def test_only_the_workflow_moves_a_run() -> None:
    """StateChanged is built in workflow.py and nowhere else in the package."""
    package = Path(baton.runtime.__file__).parents[1]
    movers = {str(p.relative_to(package)) for p in package.rglob("*.py")
              for node in ast.walk(ast.parse(p.read_text()))
              if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "StateChanged"}
    assert movers == {"runtime/workflow.py"}


async def test_an_apply_the_editor_applied_nothing_of_is_said_and_stays_offered(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()], mode="review"))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        await host.state(run_id, "awaiting_apply")
        changes = engine.runs_dir / run_id / "changes.diff"
        assert "+def hello(name):" in changes.read_text()
        host.refuse_edits = True
        engine.apply(run_id)
        await host.wait_for(lambda: host.told)
        (told,) = host.told
        assert "not applied" in told and "the person applied nothing" in told and "changes.diff" in told
        notice = host.last(run_id)
        assert notice.state == "awaiting_apply" and "apply" in notice.actions
        assert "+def hello(name):" in changes.read_text()  # still offered, nothing lost
        assert notice.summary is not None and notice.summary.files == ["hello.py"]
        host.refuse_edits = False
        engine.apply(run_id)  # Apply again: it lands
        await host.state(run_id, "done")
        assert (engine.root / "hello.py").read_text().startswith("def hello(name):")
    finally:
        await engine.close()


def _open_plan_with_an_edit(engine, host, run_id: str, *, version: int) -> str:
    """plan.md open in the editor with an unsaved edit; returns that text."""
    plan = engine.runs_dir / run_id / "plan.md"
    unsaved = plan.read_text().replace("1. Add a name", "1. Add a name, with a default")
    host.buffers[plan] = OpenDocument(text=unsaved, version=version)
    return unsaved


async def test_an_answered_document_says_so_without_touching_the_persons_unsaved_text(
        tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()], mode="review"))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        # plan.md is open with an unsaved edit: the accepted plan is that text.
        unsaved = _open_plan_with_an_edit(engine, host, run_id, version=7)
        engine.accept(run_id)
        await host.state(run_id, "awaiting_apply")
        assert engine.contexts[run_id].run.accepted_plan == unsaved
        # The editor was sent an edit of its buffer, at its version; the disk is left to it.
        [[edit]] = [e for e in host.edits if e[0].path.endswith("plan.md")]
        assert (edit.path, edit.before, edit.version) == (
            f".baton/runs/{run_id}/plan.md", unsaved, 7)
        assert edit.after is not None and "with a default" in edit.after
        assert "**Accepted at " in edit.after and PLAN_WAITING not in edit.after
        # changes.diff is not open: Baton's own file says it, on disk.
        changes = engine.runs_dir / run_id / "changes.diff"
        assert CHANGES_WAITING in changes.read_text()
        engine.apply(run_id)
        await host.state(run_id, "done")
        assert CHANGES_WAITING not in changes.read_text()
        assert "# Applied at " in changes.read_text()
    finally:
        await engine.close()


# -- a run that ends unanswered: its document stops asking -----------------------------

async def _ended(engine, host, run_id: str, state: str) -> None:
    """Once the run is `state` and its driver is done (the documents were settled)."""
    await host.state(run_id, state)
    task = engine.contexts[run_id].task
    assert task is not None
    await task


async def test_a_run_cancelled_while_its_plan_waits_says_so_in_the_open_plan(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        unsaved = _open_plan_with_an_edit(engine, host, run_id, version=3)
        engine.cancel(run_id)
        await _ended(engine, host, run_id, "cancelled")
        # The same path as an answer: an edit of the person's buffer, their text kept.
        [[edit]] = [e for e in host.edits if e[0].path.endswith("plan.md")]
        assert (edit.before, edit.version) == (unsaved, 3)
        assert edit.after is not None and PLAN_WAITING not in edit.after
        [said] = [line for line in edit.after.splitlines() if line.startswith("**Cancelled at ")]
        assert "Nothing of it was implemented" in said
        assert edit.after.replace(said, PLAN_WAITING) == unsaved
    finally:
        await engine.close()


async def test_a_run_cancelled_while_its_changes_wait_says_so_in_changes_diff(
        tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()], mode="review"))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        await host.state(run_id, "awaiting_apply")
        engine.cancel(run_id)
        await _ended(engine, host, run_id, "cancelled")
        changes = (engine.runs_dir / run_id / "changes.diff").read_text()
        assert CHANGES_WAITING not in changes and "# Cancelled at " in changes
        assert "+def hello(name):" in changes  # still the record of what was not applied
        plan = (engine.runs_dir / run_id / "plan.md").read_text()
        assert "**Accepted at " in plan and "Cancelled" not in plan  # answered before: as it was
    finally:
        await engine.close()


async def test_a_run_failing_while_its_plan_is_revised_says_so_in_the_plan(tmp_path: Path) -> None:
    # The planner has no turn left for the revision: the run fails, plan.md was never accepted.
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.revise(run_id, "greet twice")
        await _ended(engine, host, run_id, "failed")
        plan = (engine.runs_dir / run_id / "plan.md").read_text()
        assert PLAN_WAITING not in plan and "**The run failed at " in plan
    finally:
        await engine.close()


async def test_an_accepted_plan_is_never_said_to_be_unimplemented(tmp_path: Path) -> None:
    # The editor refused the "Accepted at" edit, so plan.md still asks; cancelled while the
    # implementer works, it must not claim nothing of it was implemented.
    slow = plan_script(implementer=[turn("finish", {"summary": "done"}, delay_ms=5000)])
    engine, host = await start(*workspace(tmp_path, [slow]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        plan = engine.runs_dir / run_id / "plan.md"
        host.buffers[plan] = OpenDocument(text=plan.read_text(), version=1)
        host.refuse_edits = True
        engine.accept(run_id)
        await host.state(run_id, "implementing")
        host.refuse_edits = False
        engine.cancel(run_id)
        await _ended(engine, host, run_id, "cancelled")
        assert not [e for e in host.edits if e[0].path.endswith("plan.md")]
    finally:
        await engine.close()
