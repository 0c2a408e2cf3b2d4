"""A person who takes their time: a permission prompt waits as long as they take (no
request timeout applies), across a daemon restart, and is answered by the prompt or by
`baton.run.answer`; an answer that comes after the run was cancelled raises no error."""

from __future__ import annotations

import asyncio

from .conftest import plan_script, turn

OUTSIDE = [turn(("write_file", {"path": "other.py", "content": "x = 1\n"})),
           turn(("finish", {"summary": "done"}))]


async def test_a_late_answer_to_a_permission_still_counts(make_editor):
    ed = await make_editor(plan_script(files=["hello.py"], implementer=OUTSIDE),
                           extra_config="[limits]\nclient_request_timeout_s = 0.3\n")
    ed.answer_prompt = lambda p: "Allow once"
    ed.prompt_delay_s = 1.0  # longer than any request timeout
    run_id = await ed.run("write somewhere else")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    asked = await ed.wait_state(run_id, "awaiting_input")
    assert "other.py" in asked["question"]["text"]
    assert asked["question"]["options"] == ["Allow once", "Allow for this run", "Deny"]
    await ed.wait_state(run_id, "done")
    assert (ed.root / "other.py").read_text() == "x = 1\n"
    assert ed.states(run_id)[-5:] == ["implementing", "awaiting_input", "implementing", "reviewing", "done"]


async def test_a_dismissed_permission_waits_for_the_command_across_a_restart(make_editor):
    ed = await make_editor(plan_script(files=["hello.py"], implementer=OUTSIDE))
    run_id = await ed.run("write somewhere else")  # the prompt is closed without an answer
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    ed = await make_editor.restart(ed)
    await ed.wait_for(lambda: len(ed.prompts) == 1, "the permission asked again after the restart")
    try:
        await ed.command("baton.run.answer", {"runId": run_id, "answer": "maybe"})
        raise AssertionError("an answer that is not an option was taken")
    except Exception as e:
        assert "Allow once, Allow for this run, Deny" in str(e)
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "allow for this run"})
    await ed.wait_state(run_id, "done")
    assert (ed.root / "other.py").read_text() == "x = 1\n"
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert "write `other.py`, this exact path (allowed by you for this run)" in str(show)


async def test_an_answer_after_the_run_was_cancelled_is_ignored_without_an_error(make_editor):
    ed = await make_editor(plan_script(files=["hello.py"], implementer=OUTSIDE))
    ed.answer_prompt = lambda p: "Allow once"
    ed.prompt_delay_s = 1.0
    run_id = await ed.run("write somewhere else")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    await ed.command("baton.run.cancel", {"runId": run_id})
    await ed.wait_state(run_id, "cancelled")
    await asyncio.sleep(1.2)  # the answer arrives after Baton stopped waiting for it
    assert not (ed.root / "other.py").exists()
    runs = await ed.command("baton.runs", {})
    assert any(r["runId"] == run_id and r["state"] == "cancelled" for r in runs)
    errors = [m.message for m in ed.client.messages if m.type == 1]
    assert not errors, errors


async def test_a_conflict_question_the_editor_never_answers_is_answered_by_command(make_editor):
    pause = [turn(("ask_user", {"question": "Shall I go on?"}))]
    implementer = [turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   *pause,
                   turn(("edit_file", {"path": "hello.py", "old": "def hello(name):",
                                       "new": "def hello(name: str):"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer))
    ed.open("hello.py")
    ed.prompt_delay_s = 3600  # the editor shows the conflict question and never answers it
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    await ed.wait_for(lambda: "def hello(name):" in ed.text("hello.py"), "the streamed edit")
    ed.type("hello.py", "def hello(name):", "def hello(greeting):")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    asked = await ed.wait_for(lambda: next((n for n in ed.notices if n["runId"] == run_id
                                            and "You changed hello.py" in (n.get("question") or {}).get("text", "")),
                                           None), "the conflict question in runChanged")
    assert "answer" in asked["actions"]
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "take the agent's"})
    await ed.wait_state(run_id, "done")
    assert "def hello(name: str):" in ed.text("hello.py")
