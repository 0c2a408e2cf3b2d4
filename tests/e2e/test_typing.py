"""The person keeps typing in the file an agent is editing: nothing of theirs is lost."""

from __future__ import annotations

import pytest

from .conftest import HELLO, plan_script, turn

pytestmark = pytest.mark.usefixtures("client_kind")

PAUSE = [turn(("ask_user", {"question": "Shall I go on?"}))]
NAME = {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"}


def pausing_implementer(edit: dict, *then: dict) -> list[dict]:
    # The question holds the run after the agent's edit (which streams to the editor at
    # once), so the test types at a known point; `then` are its edits after the answer,
    # made on its own copy of the file, which does not have the person's typing.
    return [turn(("edit_file", edit)), *PAUSE, *[turn(("edit_file", e)) for e in then],
            turn(("finish", {"summary": "done"}))]


async def streamed(ed) -> None:
    """The agent's first edit reached the buffer while the agent went on to its question."""
    await ed.wait_for(lambda: "def hello(name):" in ed.text("hello.py"), "the streamed edit")


async def test_typing_elsewhere_in_the_file_is_merged(make_editor):
    ed = await make_editor(plan_script(implementer=pausing_implementer(
        NAME, {"path": "hello.py", "old": 'f"{GREETING}, world!"', "new": 'f"{GREETING}, {name}!"'})))
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    await streamed(ed)
    ed.type("hello.py", "# non-ASCII and astral before the edit", "# the person's comment ✍")
    # Appended after the last line, which the agent changes next: the two only touch.
    ed.type("hello.py", 'world!"\n', 'world!"\nprint(hello("you"))\n')
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == (HELLO.replace("# non-ASCII and astral before the edit", "# the person's comment ✍")
                                   .replace("def hello():", "def hello(name):")
                                   .replace('world!"', '{name}!"') + 'print(hello("you"))\n')
    assert not [p for p in ed.prompts if "hello.py" in p.message]  # no conflict, no question
    # The second edit carried the buffer's current version (1 + first edit + two keystrokes).
    assert ed.applied[-1].edit.document_changes[0].text_document.version == 4


async def test_overlapping_typing_is_a_conflict_the_person_resolves(make_editor):
    ed = await make_editor(plan_script(implementer=pausing_implementer(
        NAME, {"path": "hello.py", "old": "def hello(name):", "new": "def hello(name: str):"})))
    ed.open("hello.py")
    ed.answer_prompt = lambda p: "Keep mine" if "changed" in p.message else None
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    await streamed(ed)
    ed.type("hello.py", "def hello(name):", "def hello(greeting):")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    [prompt] = [p for p in ed.prompts if "hello.py" in p.message]
    assert "You changed hello.py line 4 where Baton run" in prompt.message  # it names the lines
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
