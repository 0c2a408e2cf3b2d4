"""Stream mode as a person sees it: the agent's edits arrive while it works; typing that
only touches the agent's lines merges without a question; a conflict names its lines,
waits for the person (across a restart too), and a dismissed one leaves the agent's hunks
held in changes.diff, never dropped, never reported as landed."""

from __future__ import annotations

import pytest

from .conftest import HELLO, plan_script, turn
from .test_review_mode import actions_at, hunk_line

pytestmark = pytest.mark.usefixtures("client_kind")

PAUSE = turn(("ask_user", {"question": "Shall I go on?"}))


def applied_paths(ed) -> list[set[str]]:
    return [{getattr(c, "text_document", c).uri.rsplit("/", 1)[-1] for c in a.edit.document_changes}
            for a in ed.applied]


async def test_each_write_arrives_while_the_implementer_works(make_editor):
    files = {name: f"{name.upper()[0]} = 0\n" for name in ("a.py", "b.py", "c.py")}
    implementer = [turn(("edit_file", {"path": "a.py", "old": "A = 0", "new": "A = 1"})),
                   turn(("edit_file", {"path": "b.py", "old": "B = 0", "new": "B = 1"}), delay_ms=1500),
                   turn(("edit_file", {"path": "c.py", "old": "C = 0", "new": "C = 1"}), delay_ms=1500),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=list(files), implementer=implementer), files=files)
    for name in files:
        ed.open(name)
    run_id = await ed.run("Set the flags")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_for(lambda: ed.text("a.py") == "A = 1\n", "a.py's edit")
    # The first file's edit came on its own, seconds before the run ends: the implementer
    # is still in its next (1.5 s) model turn.
    assert applied_paths(ed) == [{"a.py"}]
    assert ed.states(run_id)[-1] == "implementing"
    await ed.wait_for(lambda: ed.text("b.py") == "B = 1\n", "b.py's edit")
    assert ed.states(run_id)[-1] == "implementing"
    await ed.wait_state(run_id, "done")
    assert [ed.text(n) for n in files] == ["A = 1\n", "B = 1\n", "C = 1\n"]
    assert applied_paths(ed) == [{"a.py"}, {"b.py"}, {"c.py"}]
    # Progress named each file as it was written.
    token = f"baton-run-{run_id}"
    said = [m for tok, _, m in ed.progress if tok == token and m]
    assert any("edit_file a.py" in m for m in said) and any("edit_file c.py" in m for m in said)


def conflicting(*, answer):
    """The agent edits hello.py (streamed), asks a question; meanwhile the person changes
    the same line and appends one at the end; then the agent edits that line again, on its
    copy without the person's typing: a conflict, held until the implementer is done."""
    implementer = [turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   PAUSE,
                   turn(("edit_file", {"path": "hello.py", "old": "def hello(name):",
                                       "new": "def hello(name: str):"})),
                   turn(("finish", {"summary": "done"}))]

    async def start(make_editor):
        ed = await make_editor(plan_script(implementer=implementer))
        ed.open("hello.py")
        ed.answer_prompt = lambda p: answer if "You changed" in p.message else None
        run_id = await ed.run("Greet by name")
        await ed.wait_state(run_id, "awaiting_approval")
        await ed.command("baton.plan.accept", {"runId": run_id})
        await ed.wait_state(run_id, "awaiting_input")
        await ed.wait_for(lambda: "def hello(name):" in ed.text("hello.py"), "the streamed edit")
        ed.type("hello.py", "def hello(name):", "def hello(who):")
        ed.type("hello.py", 'world!"\n', 'world!"\nprint(hello("you"))\n')
        await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
        return ed, run_id
    return start


MINE = HELLO.replace("def hello():", "def hello(who):") + 'print(hello("you"))\n'


async def test_take_the_agents_replaces_only_the_conflicting_line(make_editor):
    ed, run_id = await conflicting(answer="Take the agent's")(make_editor)
    await ed.wait_state(run_id, "done")
    [prompt] = [p for p in ed.prompts if "You changed" in p.message]
    assert "hello.py line 4" in prompt.message
    assert {a.title for a in prompt.actions} == {"Keep mine", "Take the agent's", "Show both"}
    # The person's appended line stays: only the line both changed is the agent's.
    assert ed.text("hello.py") == MINE.replace("def hello(who):", "def hello(name: str):")
    assert not [n for n in ed.notices if n["runId"] == run_id and n.get("held")]


async def test_a_dismissed_conflict_leaves_the_hunk_held_for_apply(make_editor):
    ed, run_id = await conflicting(answer=None)(make_editor)
    notice = await ed.wait_state(run_id, "awaiting_apply")
    assert notice["held"] == 1 and "1 hunk(s) held back" in notice["reason"]
    assert "done" not in ed.states(run_id)  # never claimed as landed
    assert ed.text("hello.py") == MINE  # the person's text, nothing of theirs lost
    diff = ed.root / ".baton" / "runs" / run_id / "changes.diff"
    await ed.wait_shown(diff.as_uri())
    actions = await actions_at(ed, diff, hunk_line(diff, "def hello(name: str):"))
    assert {"Apply this hunk", "Reject this hunk"} <= set(actions)
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert show["held"] == 1 and any("its hunks stay held" in e for e in show["events"])
    # Applying the hunk asks again; this time the person takes the agent's line.
    ed.answer_prompt = lambda p: "Take the agent's" if "You changed" in p.message else None
    name, args = actions["Apply this hunk"]
    assert (await ed.command(name, raw_args=args))["hunksLeft"] == 0
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == MINE.replace("def hello(who):", "def hello(name: str):")
    # Revert takes back what the run delivered and gives back the person's text: their line
    # where they had typed over the agent's, and the line they appended.
    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: ed.text("hello.py") == MINE, "the revert")


async def test_a_conflict_question_is_asked_again_after_a_restart(make_editor):
    ed, run_id = await conflicting(answer=None)(make_editor)
    ed.answer_prompt = lambda p: None
    ed.prompt_delay_s = 3600  # the person has not answered when the daemon dies
    await ed.wait_for(lambda: any("You changed" in p.message for p in ed.prompts), "the question")
    # The editor keeps its buffer (unsaved); only the daemon dies.
    ed = await make_editor.restart(ed, lambda p: "Keep mine" if "You changed" in p.message else None)
    await ed.wait_for(lambda: any("You changed hello.py line 4" in p.message for p in ed.prompts),
                      "the question, asked again")
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == MINE
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert show["conflict"] is None and show["held"] == 0
