"""Questions, steering, follow-ups and permission prompts: the person in the loop."""

from __future__ import annotations

import json

from .conftest import HELLO, plan_script, turn


def transcript(root, run_id: str) -> list[dict]:
    path = root / ".baton" / "runs" / run_id / "transcript.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_planner_question_with_options_answered_by_message_request(make_editor):
    planner = [turn(("ask_user", {"question": "Which greeting?", "options": ["Hello", "Hi"]})),
               turn(("submit_plan", {"summary": "Use the chosen greeting", "steps": ["s"], "files": ["hello.py"]}))]
    ed = await make_editor(plan_script(planner=planner))
    ed.answer_prompt = lambda p: "Hi" if "Which greeting?" in p.message else None
    run_id = await ed.run("Change the greeting")
    notice = await ed.wait_state(run_id, "awaiting_input")
    assert notice["question"] == {"text": "Which greeting?", "options": ["Hello", "Hi"]}
    await ed.wait_state(run_id, "awaiting_approval")
    assert ed.states(run_id) == ["classifying", "planning", "awaiting_input", "planning", "awaiting_approval"]
    results = [e["result"]["content"] for e in transcript(ed.root, run_id) if e["kind"] == "tool"]
    assert "The person answered: Hi" in results


async def test_implementer_free_text_question_answered_by_command(make_editor):
    implementer = [turn(("ask_user", {"question": "What name should the default be?"})),
                   turn(("edit_file", {"path": "hello.py", "old": "world", "new": "Ada"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer))
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    notice = await ed.wait_state(run_id, "awaiting_input")
    assert notice["question"]["text"] == "What name should the default be?"
    assert not ed.prompts  # free text: no message box, the client prompts from runChanged
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "Ada"})
    await ed.wait_state(run_id, "done")
    assert "Ada" in ed.text("hello.py")


async def test_restart_while_awaiting_input(make_editor):
    planner = [turn(("ask_user", {"question": "Formal or casual?"})),
               turn(("submit_plan", {"summary": "Casual", "steps": ["s"], "files": ["hello.py"]}))]
    ed = await make_editor(plan_script(planner=planner))
    run_id = await ed.run("Change the greeting")
    await ed.wait_state(run_id, "awaiting_input")
    ed = await make_editor.restart(ed)
    notice = await ed.wait_state(run_id, "awaiting_input")
    assert notice["question"]["text"] == "Formal or casual?"
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "casual"})
    await ed.wait_state(run_id, "awaiting_approval")
    asked = [e for e in transcript(ed.root, run_id) if e["kind"] == "question"]
    assert len(asked) == 1  # the restart did not ask twice


async def test_unanswered_question_does_not_block_other_runs(make_editor):
    waiting = plan_script(match="waiting", planner=[turn(("ask_user", {"question": "Anyone?"}))])
    other = plan_script(match="other")
    ed = await make_editor({"runs": [waiting, other]})
    r1 = await ed.run("waiting task")
    await ed.wait_state(r1, "awaiting_input")
    r2 = await ed.run("other task")
    await ed.wait_state(r2, "awaiting_approval")


async def test_steer_note_reaches_the_next_model_turn(make_editor):
    implementer = [turn(("read_file", {"path": "hello.py"})),
                   turn(("ask_user", {"question": "Ready?"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer))
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    await ed.command("baton.run.steer", {"runId": run_id, "message": "keep it short"})
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "reviewing")
    events = [e for e in transcript(ed.root, run_id) if e.get("agent") == "implementer"]
    # The note is a user message after the answered question and before the next model turn.
    kinds = [(e["kind"], e.get("message", {}).get("role"), e.get("message", {}).get("text", "")) for e in events]
    idx = next(i for i, k in enumerate(kinds) if "keep it short" in k[2])
    assert kinds[idx - 1][0] == "tool"  # never inside a tool-call exchange
    assert kinds[idx + 1][:2] == ("message", "assistant")
    assert any(e["kind"] == "steer" for e in transcript(ed.root, run_id))


async def test_follow_up_starts_from_the_parent(make_editor):
    parent = plan_script(match="first")
    child = plan_script(match="second", route="ask")
    child["planner"] = [{"text": "It now takes a name."}]
    ed = await make_editor({"runs": [parent, child]})
    ed.open("hello.py")
    p = await ed.run("first: greet by name")
    await ed.wait_state(p, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": p})
    await ed.wait_state(p, "done")
    c = await ed.run("second: what changed?", parentRunId=p)
    await ed.wait_state(c, "done")
    first_message = next(e for e in transcript(ed.root, c)
                         if e["kind"] == "message" and e["agent"] == "answerer")["message"]["text"]
    assert f"follow-up to run {p}" in first_message
    assert "Greet by name" in first_message  # the parent's plan
    assert "+def hello(name):" in first_message  # the parent's changes
    show = await ed.command("baton.run.show", {"runId": p})
    assert show["children"] == [c]


async def test_write_outside_grant_asks_and_allow_once_permits(make_editor):
    implementer = [turn(("write_file", {"path": "extra.py", "content": "X = 1\n"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["hello.py"], implementer=implementer))
    ed.answer_prompt = lambda p: "Allow once" if "extra.py" in p.message else None
    run_id = await ed.run("Add extra")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    [prompt] = ed.prompts
    assert [a.title for a in prompt.actions] == ["Allow once", "Allow for this run", "Deny"]
    assert (ed.root / "extra.py").read_text() == "X = 1\n"
    assert any(e["kind"] == "permission" and e["answer"] == "Allow once" for e in transcript(ed.root, run_id))


async def test_write_outside_grant_denied_returns_error_to_model(make_editor):
    implementer = [turn(("write_file", {"path": "extra.py", "content": "X = 1\n"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["hello.py"], implementer=implementer))
    ed.answer_prompt = lambda p: "Deny"
    run_id = await ed.run("Add extra")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert not (ed.root / "extra.py").exists()
    errors = [e["result"]["content"] for e in transcript(ed.root, run_id)
              if e["kind"] == "tool" and e["result"].get("is_error")]
    assert any("not in this run's write grant" in m for m in errors)


async def test_rule_breaking_tool_calls_are_errors_for_the_model(make_editor):
    implementer = [turn(("read_file", {"path": "../outside.txt"}),
                        ("write_file", {"path": ".git/config", "content": "x"}),
                        ("edit_file", {"path": "hello.py", "old": "nope", "new": "x"}),
                        ("write_file", {"path": "hello.py"}),
                        ("no_such_tool", {})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer))
    run_id = await ed.run("break rules")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    results = [e["result"] for e in transcript(ed.root, run_id)
               if e["kind"] == "tool" and e["agent"] == "implementer"]
    assert [r.get("is_error", False) for r in results[:5]] == [True] * 5
    assert ed.applied == [] and (ed.root / "hello.py").read_text() == HELLO


async def test_run_show_has_a_readable_chronological_summary(make_editor):
    ed = await make_editor(plan_script())
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.run.steer", {"runId": run_id, "message": "mind the accents"})
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    show = await ed.command("baton.run.show", {"runId": run_id})
    events = [e.split(" ", 1)[1] for e in show["events"]]  # drop the time
    assert events.index("you: accept") < next(i for i, e in enumerate(events) if e.startswith("state → implementing"))
    assert "you noted: mind the accents" in events
    assert "implementer [offline]: edit_file hello.py" in events
    assert any(e.startswith("edits of hello.py: applied") for e in events)
    assert show["providers"]["implementer"] == ["offline"]
