"""The person keeps typing in the file an agent is editing: nothing of theirs is lost."""

from __future__ import annotations

import pytest

from .conftest import HELLO, plan_script, turn

pytestmark = pytest.mark.usefixtures("client_kind")

PAUSE = [turn(("ask_user", {"question": "Shall I go on?"}))]


def pausing_implementer(edit: dict) -> list[dict]:
    # The question holds the run after the agent's edit, so the test types at a known point.
    return [turn(("edit_file", edit)), *PAUSE, turn(("finish", {"summary": "done"}))]


async def test_typing_elsewhere_in_the_file_is_merged(make_editor):
    ed = await make_editor(plan_script(implementer=pausing_implementer(
        {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})))
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    ed.type("hello.py", "# non-ASCII and astral before the edit", "# the person's comment ✍")
    ed.type("hello.py", 'f"{GREETING}, world!"', 'f"{GREETING}, world!!"')
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == (HELLO.replace("# non-ASCII and astral before the edit", "# the person's comment ✍")
                                   .replace("def hello():", "def hello(name):")
                                   .replace('world!"', 'world!!"'))
    # The delivered edit carried the buffer's current version (3 after two keystrokes).
    assert ed.applied[-1].edit.document_changes[0].text_document.version == 3


async def test_overlapping_typing_is_a_conflict_the_person_resolves(make_editor):
    ed = await make_editor(plan_script(implementer=pausing_implementer(
        {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})))
    ed.open("hello.py")
    ed.answer_prompt = lambda p: "Keep mine" if "changed" in p.message else None
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    ed.type("hello.py", "def hello():", "def hello(greeting):")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    [prompt] = [p for p in ed.prompts if "hello.py" in p.message]
    assert {a.title for a in prompt.actions} >= {"Keep mine", "Take the agent's"}
    assert "def hello(greeting):" in ed.text("hello.py")  # never a silent overwrite


async def test_closed_file_changed_on_disk_mid_run_is_merged(make_editor):
    ed = await make_editor(plan_script(implementer=pausing_implementer(
        {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})))
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    path = ed.root / "hello.py"
    path.write_text(path.read_text() + "\nprint(hello())\n")  # a formatter, a checkout…
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    assert path.read_text() == HELLO.replace("def hello():", "def hello(name):") + "\nprint(hello())\n"
