"""Review mode: the run's changes are held in changes.diff; the person applies or rejects
them as a whole or hunk by hunk, and two runs delivering into one file never interleave."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as t

from baton.runtime.planfile import PLAN_WAITING

from .conftest import plan_script, turn
from .editor import action_command

REVIEW = '[edits]\nmode = "review"\n'
CALC = "".join(f"def f{i}():\n    return {i}\n\n" for i in range(12))
EDITS = [("return 1\n", "return 100\n"), ("return 6\n", "return 600\n"), ("return 11\n", "return 1100\n")]


def implementer(edits=EDITS, path="calc.py", extra=()) -> list[dict]:
    calls = [("edit_file", {"path": path, "old": old, "new": new}) for old, new in edits]
    return [turn(*calls), *extra, turn(("finish", {"summary": "done"}))]


async def held(make_editor, *, extra=(), files=None, open_file=True):
    script = plan_script(files=["calc.py", "notes.md"], implementer=implementer(extra=extra))
    ed = await make_editor(script, files=files or {"calc.py": CALC}, extra_config=REVIEW)
    if open_file:
        ed.open("calc.py")
    run_id = await ed.run("Scale the constants")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_apply")
    return ed, run_id, ed.root / ".baton" / "runs" / run_id / "changes.diff"


async def actions_at(ed, diff: Path, line: int) -> dict[str, tuple[str, list]]:
    actions = await ed.client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=diff.as_uri()),
        range=t.Range(start=t.Position(line=line, character=0), end=t.Position(line=line, character=0)),
        context=t.CodeActionContext(diagnostics=[])))
    return {a.title: action_command(a) for a in actions or []}


def hunk_line(diff: Path, needle: str) -> int:
    """The document line of the hunk that adds `needle`."""
    lines = diff.read_text().splitlines()
    return next(i for i, line in enumerate(lines) if line.startswith("+") and needle in line)


def no_focus_stolen(ed) -> None:
    # Deliveries never open or focus a tab: only Baton's own documents are shown, unfocused.
    assert all(not d.take_focus and "/.baton/runs/" in d.uri for d in ed.client.shown_documents)


async def test_apply_one_hunk_reject_another_then_the_last_ends_the_run(make_editor):
    ed, run_id, diff = await held(make_editor)
    assert ed.applied == [] and ed.text("calc.py") == CALC  # nothing delivered while held
    await ed.wait_shown(diff.as_uri())
    actions = await actions_at(ed, diff, hunk_line(diff, "return 600"))
    assert {"Apply this hunk", "Reject this hunk", "Apply changes", "Reject changes"} <= set(actions)
    name, args = actions["Apply this hunk"]
    ed.type("calc.py", "def f3():", "def f3(x):")  # the person types meanwhile
    result = await ed.command(name, raw_args=args)
    assert result["hunksLeft"] == 2
    # Exactly that hunk, as one small edit of the open buffer at its current version.
    [doc_edit] = ed.applied[-1].edit.document_changes
    assert doc_edit.text_document.version == 2
    assert [e.new_text for e in doc_edit.edits] in (["600"], ["00"], ["return 600"])
    assert ed.text("calc.py") == CALC.replace("return 6\n", "return 600\n").replace("def f3():", "def f3(x):")
    left = diff.read_text()
    assert "return 600" not in left and "+    return 100\n" in left and "+    return 1100\n" in left

    name, args = (await actions_at(ed, diff, hunk_line(diff, "return 100")))["Reject this hunk"]
    await ed.command(name, raw_args=args)
    assert "+    return 100\n" not in diff.read_text()
    assert ed.states(run_id)[-1] == "awaiting_apply"
    name, args = (await actions_at(ed, diff, hunk_line(diff, "return 1100")))["Apply this hunk"]
    await ed.command(name, raw_args=args)
    await ed.wait_state(run_id, "done")
    expected = (CALC.replace("return 6\n", "return 600\n").replace("return 11\n", "return 1100\n")
                .replace("def f3():", "def f3(x):"))
    assert ed.text("calc.py") == expected
    # The run's change no longer holds the rejected hunk.
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert show["state"] == "done"

    # Revert inverts exactly what was applied (two hunks), keeping the person's typing.
    ed.type("calc.py", "def f0():", "def f0(y):")
    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: "return 600" not in ed.text("calc.py"), "the revert")
    assert ed.text("calc.py") == CALC.replace("def f3():", "def f3(x):").replace("def f0():", "def f0(y):")
    no_focus_stolen(ed)


async def test_rejecting_every_hunk_ends_the_run_rejected(make_editor):
    ed, run_id, diff = await held(make_editor, open_file=False)
    for needle in ("return 100", "return 600", "return 1100"):
        name, args = (await actions_at(ed, diff, hunk_line(diff, needle)))["Reject this hunk"]
        await ed.command(name, raw_args=args)
    notice = await ed.wait_state(run_id, "rejected")
    assert "rejected" in notice["reason"]
    assert ed.applied == []
    assert (ed.root / "calc.py").read_text() == CALC
    no_focus_stolen(ed)


async def test_a_stale_hunk_is_refused_with_a_message(make_editor):
    ed, run_id, diff = await held(make_editor)
    name, args = (await actions_at(ed, diff, hunk_line(diff, "return 600")))["Apply this hunk"]
    await ed.command(name, raw_args=args)
    with pytest.raises(Exception, match="no longer in changes.diff"):
        await ed.command(name, raw_args=args)
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    with pytest.raises(Exception, match="awaiting_apply"):
        await ed.command(name, raw_args=args)


async def test_created_and_deleted_files_are_whole_file_hunks(make_editor):
    extra = (turn(("write_file", {"path": "notes.md", "content": "# Notes\n"})),)
    ed, run_id, diff = await held(make_editor, extra=extra, open_file=False)
    text = diff.read_text()
    line = text.splitlines().index("+# Notes")
    name, args = (await actions_at(ed, diff, line))["Apply this hunk"]
    assert args[0]["path"] == "notes.md"
    await ed.command(name, raw_args=args)
    assert (ed.root / "notes.md").read_text() == "# Notes\n"
    assert any(isinstance(c, t.CreateFile) for c in ed.applied[-1].edit.document_changes)
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert "return 1100" in (ed.root / "calc.py").read_text()
    no_focus_stolen(ed)


async def test_two_runs_delivering_into_one_open_file_are_serialized(make_editor):
    a = plan_script(match="alpha", files=["calc.py"], implementer=implementer([EDITS[0]]))
    b = plan_script(match="beta", files=["calc.py"], implementer=implementer([EDITS[2]]))
    ed = await make_editor({"runs": [a, b]}, files={"calc.py": CALC}, extra_config=REVIEW)
    ed.open("calc.py")
    ra, rb = await ed.run("alpha task"), await ed.run("beta task")
    await asyncio.gather(ed.wait_state(ra, "awaiting_approval"), ed.wait_state(rb, "awaiting_approval"))
    await asyncio.gather(ed.command("baton.plan.accept", {"runId": ra}),
                         ed.command("baton.plan.accept", {"runId": rb}))
    await asyncio.gather(ed.wait_state(ra, "awaiting_apply"), ed.wait_state(rb, "awaiting_apply"))
    # Both apply at once: without the per-file lock both would compute against version 1 and
    # one would be refused as stale and retried.
    await asyncio.gather(ed.command("baton.edits.apply", {"runId": ra}),
                         ed.command("baton.edits.apply", {"runId": rb}))
    await asyncio.gather(ed.wait_state(ra, "done"), ed.wait_state(rb, "done"))
    assert ed.text("calc.py") == CALC.replace("return 1\n", "return 100\n").replace("return 11\n", "return 1100\n")
    versions = [c.text_document.version for p in ed.applied for c in p.edit.document_changes]
    assert sorted(versions) == [1, 2]  # each delivery saw the other's result: no stale edit
    no_focus_stolen(ed)


async def test_a_second_delivery_never_undoes_what_the_person_typed(make_editor):
    # Stream mode: delivered once, sent back by the reviewer, delivered again. Only the new
    # change goes out the second time; the person's earlier typing stays.
    implementer = [turn(("edit_file", {"path": "calc.py", "old": "return 1\n", "new": "return 100\n"})),
                   turn(("ask_user", {"question": "Go on?"})),
                   turn(("finish", {"summary": "first"})),
                   turn(("edit_file", {"path": "calc.py", "old": "return 11\n", "new": "return 1100\n"})),
                   turn(("finish", {"summary": "second"}))]
    reviewer = [turn(("submit_review", {"verdict": "request_changes", "findings": [
                    {"path": "calc.py", "line": 35, "message": "f11 too", "severity": "warning"}]})),
                turn(("submit_review", {"verdict": "approve", "findings": []}))]
    ed = await make_editor(plan_script(files=["calc.py"], implementer=implementer, reviewer=reviewer),
                           files={"calc.py": CALC})
    ed.open("calc.py")
    run_id = await ed.run("Scale")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    await ed.wait_for(lambda: "return 100\n" in ed.text("calc.py"), "the streamed edit")
    ed.type("calc.py", "def f5():", "def f5(typed):")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    assert len(ed.applied) == 2
    assert ed.text("calc.py") == (CALC.replace("def f5():", "def f5(typed):")
                                  .replace("return 1\n", "return 100\n").replace("return 11\n", "return 1100\n"))
    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: "return 100\n" not in ed.text("calc.py"), "the revert")
    assert ed.text("calc.py") == CALC.replace("def f5():", "def f5(typed):")


async def test_review_mode_edits_are_not_confirmed_twice(make_editor):
    """Pressing Apply changes is the person's confirmation: the edit does not ask the editor
    to confirm again (VS Code's Refactor Preview showed such edits unticked, and its Apply
    then applied nothing)."""
    ed, run_id, diff = await held(make_editor)
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    # Applying the changes is no new plan: the one the person accepted is kept (plan.md
    # now says it was accepted, on the line that asked for it).
    show = await ed.command("baton.run.show", {"runId": run_id})
    plan = (diff.parent / "plan.md").read_text(encoding="utf-8").splitlines()
    accepted = [i for i, line in enumerate(plan) if line.startswith("**Accepted at ")]
    assert len(accepted) == 1
    plan[accepted[0]] = PLAN_WAITING
    assert show["plan"].splitlines() == plan
    annotation = ed.applied[-1].edit.change_annotations["baton"]
    assert annotation.needs_confirmation is False and run_id in annotation.label
    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: len(ed.applied) >= 2, "the revert")
    assert ed.applied[-1].edit.change_annotations["baton"].needs_confirmation is False


async def test_an_apply_the_editor_declines_is_said_and_the_changes_stay_offered(make_editor):
    """The person pressed Apply changes and the editor applied nothing: a message says so
    (window/showMessage), the run still offers the changes in changes.diff, and Apply
    again lands them."""
    ed, run_id, diff = await held(make_editor)
    offered = diff.read_text()
    ed.apply_policy = lambda p: False
    await ed.command("baton.edits.apply", {"runId": run_id})
    told = await ed.wait_for(lambda: next((m for m in ed.client.messages
                                           if "were not applied" in m.message), None),
                             "the message that nothing was applied")
    assert told.type == t.MessageType.Warning and "declined by the test" in told.message
    assert ed.states(run_id)[-1] == "awaiting_apply" and ed.text("calc.py") == CALC
    assert "return 600" in diff.read_text() and diff.read_text().count("@@") == offered.count("@@")
    ed.apply_policy = lambda p: True
    await ed.command("baton.edits.apply", {"runId": run_id})
    done = await ed.wait_state(run_id, "done")
    assert "return 600" in ed.text("calc.py") and done["summary"]["files"] == ["calc.py"]
