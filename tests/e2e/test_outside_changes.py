"""Files changed on disk outside the editor while a run works (a checkout, a formatter):
the watcher notices within milliseconds, tells the run, merges into its copy, and asks the
person when the change overlaps the agent's. A file whose edits already reached the person
(streamed) is not merged into the agent's copy: its next delivery merges onto the disk."""

from __future__ import annotations

import json
import time

from .conftest import HELLO, plan_script, turn

PAUSE = turn(("ask_user", {"question": "Shall I go on?"}))
# Held until Apply, so the agent's copy is still its own when the disk changes.
REVIEW = '[edits]\nmode = "review"\n'


def paused(*before: dict) -> list[dict]:
    # The question holds the run after the agent's edits, so the test changes disk at a known point.
    return [*before, PAUSE, turn(("read_file", {"path": "hello.py"})), turn(("finish", {"summary": "done"}))]


def reads(ed, run_id: str) -> list[str]:
    """What the agent's read_file calls returned (the transcript: baton.run.show names the
    calls, not what they returned)."""
    path = ed.root / ".baton" / "runs" / run_id / "transcript.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return [e["result"]["content"] for e in events
            if e["kind"] == "tool" and e["result"]["name"] == "read_file"]


def outside_notice(ed, run_id: str, rel: str):
    return next((n for n in ed.notices if n["runId"] == run_id
                 and f"{rel} changed outside the editor" in (n.get("reason") or "")), None)


def no_focus_stolen(ed) -> None:
    # Deliveries never open or focus a tab: only Baton's own documents are shown, unfocused.
    assert all(not d.take_focus and "/.baton/runs/" in d.uri for d in ed.client.shown_documents)


async def test_touched_closed_file_changed_on_disk_is_merged_and_the_run_told(make_editor):
    ed = await make_editor(plan_script(implementer=paused(
        turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})))),
        extra_config=REVIEW)
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    path = ed.root / "hello.py"
    t0 = time.perf_counter()
    path.write_text(path.read_text() + "\nprint(hello())\n")  # a formatter, a checkout…
    await ed.wait_for(lambda: outside_notice(ed, run_id, "hello.py"), "the outside change to be noticed")
    latency_ms = (time.perf_counter() - t0) * 1000
    print(f"\ndisk write -> baton/runChanged about it: {latency_ms:.1f} ms")
    assert latency_ms < 1000  # generous for a loaded machine; the watcher alone is ~10 ms
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "awaiting_apply")
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert path.read_text() == HELLO.replace("def hello():", "def hello(name):") + "\nprint(hello())\n"
    show = await ed.command("baton.run.show", {"runId": run_id})
    events = "\n".join(show["events"])
    # The agent was told (a note at its next turn), and its copy had the change merged in:
    # its read_file after the note shows the new line and its own edit.
    assert "hello.py` changed on disk outside the editor" in events
    read = reads(ed, run_id)
    assert read and "def hello(name):" in read[-1]
    transcript = (ed.root / ".baton" / "runs" / run_id / "transcript.jsonl").read_text()
    assert "print(hello())" in transcript
    no_focus_stolen(ed)


async def test_overlapping_outside_change_asks_the_person(make_editor):
    ed = await make_editor(plan_script(implementer=paused(
        turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})))),
        extra_config=REVIEW)
    ed.answer_prompt = lambda p: "Take the agent's" if "changed on disk" in p.message else None
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    path = ed.root / "hello.py"
    path.write_text(HELLO.replace("def hello():", "def hello(greeting):").replace("é😀", "hi"))
    await ed.wait_for(lambda: any("changed on disk" in p.message for p in ed.prompts), "the question")
    [prompt] = [p for p in ed.prompts if "changed on disk" in p.message]
    assert {a.title for a in prompt.actions} == {"Keep mine", "Take the agent's", "Show both"}
    await ed.wait_for(lambda: sum(1 for n in ed.notices if n["runId"] == run_id and
                                  "hello.py changed outside" in (n.get("reason") or "")) >= 2,
                      "the person's choice to reach the run")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "awaiting_apply")
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    # The agent's line won the conflict; the outside change elsewhere stayed.
    assert path.read_text() == HELLO.replace("def hello():", "def hello(name):").replace("é😀", "hi")
    # Asked once: the delivery found nothing left to decide.
    assert len([p for p in ed.prompts if "hello.py" in p.message]) == 1
    no_focus_stolen(ed)


async def test_untouched_file_changed_on_disk_is_read_through(make_editor):
    implementer = [PAUSE, turn(("read_file", {"path": "other.py"})),
                   turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer),
                           files={"hello.py": HELLO, "other.py": "OLD = 1\n"})
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    (ed.root / "other.py").write_text("NEW = 2\n")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    show = await ed.command("baton.run.show", {"runId": run_id})
    [read] = reads(ed, run_id)
    assert "NEW = 2" in read
    assert outside_notice(ed, run_id, "other.py") is None  # nothing to tell: it was not touched


async def test_change_while_the_implementer_works_is_merged_at_delivery_and_told_once(make_editor):
    implementer = [turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   turn(("finish", {"summary": "done"}), delay_ms=1500)]
    # A slow reviewer keeps the run alive after delivery, when the editor's write lands on disk.
    reviewer = [turn(("submit_review", {"verdict": "approve", "findings": []}), delay_ms=800)]
    ed = await make_editor(plan_script(implementer=implementer, reviewer=reviewer))
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_for(lambda: any(m and "implementer: edit_file" in m for _, _, m in ed.progress), "the edit")
    path = ed.root / "hello.py"
    path.write_text(path.read_text() + "\nprint(hello())\n")
    notice = await ed.wait_for(lambda: outside_notice(ed, run_id, "hello.py"), "the outside change")
    assert notice["state"] == "implementing"
    await ed.wait_state(run_id, "done")
    assert path.read_text() == HELLO.replace("def hello():", "def hello(name):") + "\nprint(hello())\n"
    # The delivery's own write is not taken for another outside change.
    assert sum(1 for n in ed.notices if n["runId"] == run_id
               and "changed outside" in (n.get("reason") or "")) == 1
