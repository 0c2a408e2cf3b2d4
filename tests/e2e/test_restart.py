"""A restart of the daemon loses nothing: waiting runs still wait, working runs resume
from their last completed step without repeating a completed tool call."""

from __future__ import annotations

import json

from .conftest import HELLO, plan_script, turn


def tool_results(root, run_id: str) -> list[str]:
    lines = (root / ".baton" / "runs" / run_id / "transcript.jsonl").read_text().splitlines()
    return [json.loads(line)["result"]["call_id"] for line in lines if json.loads(line)["kind"] == "tool"]


async def test_restart_while_awaiting_approval(make_editor):
    ed = await make_editor(plan_script())
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    ed = await make_editor.restart(ed)
    notice = await ed.wait_state(run_id, "awaiting_approval")  # re-announced after the restart
    assert notice["planUri"].endswith("plan.md")
    runs = await ed.command("baton.runs", {})
    assert [r["state"] for r in runs if r["runId"] == run_id] == ["awaiting_approval"]
    ed.open("hello.py")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == HELLO.replace("def hello():", "def hello(name):")


async def mid_implementation(make_editor):
    """A run stopped in its implementer's slow third model turn, after two tool calls
    whose results are journaled; the script is rewritten so the next model answers at once."""
    implementer = [
        turn(("write_file", {"path": "notes.txt", "content": "step one\n"})),
        turn(("edit_file", {"path": "notes.txt", "old": "step one", "new": "step one, two"})),
        turn(("read_file", {"path": "notes.txt"}), delay_ms=30_000),
    ]
    ed = await make_editor(plan_script(files=["notes.txt"], implementer=implementer))
    run_id = await ed.run("Write notes")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    token = f"baton-run-{run_id}"
    # Progress reports each tool call once its result is durable in the journal.
    await ed.wait_for(lambda: any(m == "implementer: edit_file notes.txt" for tok, _, m in ed.progress if tok == token),
                      "the implementer's second tool call")
    # Stream mode sends each write to the editor as it is made: the kill must come after
    # that delivery landed, not inside it (a daemon killed between the editor applying an
    # edit and Baton recording it finds the edit there and asks about it after the restart).
    notes = ed.root / "notes.txt"  # not open in the editor: the edit is applied on disk
    await ed.wait_for(lambda: notes.exists() and notes.read_text() == "step one, two\n",
                      "the streamed edit")
    script = json.loads((ed.config.parent / "script.json").read_text())
    script["runs"][0]["implementer"][2] = turn(("read_file", {"path": "notes.txt"}))
    script["runs"][0]["implementer"].append(turn(("finish", {"summary": "done"})))
    (ed.config.parent / "script.json").write_text(json.dumps(script))
    return ed, run_id


def assert_each_call_once(ed, run_id: str) -> None:
    results = [c for c in tool_results(ed.root, run_id) if c.startswith("implementer")]
    # Each call answered exactly once, in order, across the two daemons.
    assert results == ["implementer-0-0", "implementer-1-0", "implementer-2-0", "implementer-3-0"], results
    assert (ed.root / "notes.txt").read_text() == "step one, two\n"


async def test_restart_mid_implementation_repeats_no_tool_call(make_editor):
    ed, run_id = await mid_implementation(make_editor)
    # The daemon dies during the slow third model turn.
    ed = await make_editor.restart(ed)
    await ed.wait_state(run_id, "done")
    assert_each_call_once(ed, run_id)


async def test_restart_while_apply_asks_about_a_conflict(make_editor):
    # Review mode: the person changed the line the agent changed, then pressed Apply; the
    # daemon dies while the question is open. The Apply stands: it is asked again.
    ed = await make_editor(plan_script(), extra_config='[edits]\nmode = "review"\n')
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_apply")
    ed.type("hello.py", "def hello():", "def hello(who):")
    ed.prompt_delay_s = 3600  # the person has not answered when the daemon dies
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_for(lambda: any("You changed hello.py line 4" in p.message for p in ed.prompts),
                      "the question")
    ed = await make_editor.restart(ed, lambda p: "Take the agent's" if "You changed" in p.message else None)
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == HELLO.replace("def hello():", "def hello(name):")
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert show["conflict"] is None and show["plan"]  # the accepted plan survived Apply too


async def test_restart_while_an_accepted_edit_asks_about_a_conflict(make_editor):
    # Edit route: the change is the plan; the person accepted it after changing the same
    # line. The acceptance stands across the restart: the question comes again.
    script = {"match": "", "classifier": [turn(("classify", {"route": "edit", "reason": "one line"}))],
              "implementer": [turn(("edit_file", {"path": "hello.py", "old": "def hello():",
                                                  "new": "def hello(name):"})),
                              turn(("finish", {"summary": "added name"}))]}
    ed = await make_editor(script)
    ed.open("hello.py")
    run_id = await ed.run("add a name parameter", uri=ed.uri("hello.py"))
    await ed.wait_state(run_id, "awaiting_approval")
    ed.type("hello.py", "def hello():", "def hello(who):")
    ed.prompt_delay_s = 3600
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_for(lambda: any("You changed hello.py line 4" in p.message for p in ed.prompts),
                      "the question")
    ed = await make_editor.restart(ed, lambda p: None)  # dismissed this time: held, not dropped
    notice = await ed.wait_state(run_id, "awaiting_apply")
    assert notice["held"] == 1 and ed.text("hello.py") == HELLO.replace("def hello():", "def hello(who):")
    assert sum("You changed hello.py line 4" in p.message for p in ed.prompts) == 1  # asked again
