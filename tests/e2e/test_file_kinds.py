"""Files of every kind a run meets: created, deleted and renamed files, binary files,
CRLF line ends, a last line without a newline, and a 5 MB file edited with a small edit."""

from __future__ import annotations

import pytest

from lsprotocol import types as t

from .conftest import plan_script, turn

pytestmark = pytest.mark.usefixtures("client_kind")


async def accepted(ed, task: str = "Do it") -> str:
    run_id = await ed.run(task)
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    return run_id


def _name(change) -> str:
    return (getattr(change, "new_uri", None) or change.uri).rsplit("/", 1)[-1]


def no_focus_stolen(ed) -> None:
    # Deliveries never open or focus a tab: only Baton's own documents are shown, unfocused.
    assert all(not d.take_focus and "/.baton/runs/" in d.uri for d in ed.client.shown_documents)


async def test_created_deleted_and_renamed_files_in_one_edit(make_editor):
    moved = "def moved():\n    return 1\n"
    implementer = [turn(("write_file", {"path": "pkg/new.py", "content": "NEW = 1\n"}),
                        ("delete_file", {"path": "old.py"}),
                        ("write_file", {"path": "renamed.py", "content": moved}),
                        ("delete_file", {"path": "moved.py"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["pkg/new.py", "old.py", "renamed.py", "moved.py"],
                                       implementer=implementer),
                           files={"old.py": "OLD = 1\n", "moved.py": moved})
    run_id = await accepted(ed)
    assert (ed.root / "pkg/new.py").read_text() == "NEW = 1\n"
    assert not (ed.root / "old.py").exists() and not (ed.root / "moved.py").exists()
    assert (ed.root / "renamed.py").read_text() == moved
    [applied] = ed.applied  # one workspace edit: the rename is never half done
    kinds = {(type(c).__name__, _name(c)) for c in applied.edit.document_changes
             if not isinstance(c, t.TextDocumentEdit)}
    renamed = ("RenameFile", "renamed.py") in kinds or \
        {("CreateFile", "renamed.py"), ("DeleteFile", "moved.py")} <= kinds
    assert renamed and {("CreateFile", "new.py"), ("DeleteFile", "old.py")} <= kinds
    # Revert brings every file back.
    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: (ed.root / "old.py").exists() and (ed.root / "moved.py").exists(), "the revert")
    assert (ed.root / "old.py").read_text() == "OLD = 1\n"
    assert not (ed.root / "pkg/new.py").exists() and not (ed.root / "renamed.py").exists()
    no_focus_stolen(ed)


async def test_a_binary_file_is_refused_with_a_message_the_model_sees(make_editor):
    implementer = [turn(("read_file", {"path": "logo.png"})),
                   turn(("edit_file", {"path": "logo.png", "old": "PNG", "new": "GIF"})),
                   turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["hello.py", "logo.png"], implementer=implementer))
    (ed.root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    run_id = await accepted(ed)
    show = await ed.command("baton.run.show", {"runId": run_id})
    errors = [e for e in show["events"] if "implementer: read_file logo.png failed: " in e
              or "implementer: edit_file logo.png failed: " in e]
    assert len(errors) == 2 and all("binary file" in e for e in errors)
    assert (ed.root / "logo.png").read_bytes().startswith(b"\x89PNG")
    assert "def hello(name):" in (ed.root / "hello.py").read_text()


async def test_crlf_file_keeps_crlf_when_the_agent_writes_lf(make_editor):
    crlf = "first = 1\r\nsecond = 2\r\nthird = 3\r\n"
    implementer = [turn(("write_file", {"path": "win.py", "content": "first = 1\nsecond = 22\nthird = 3\n"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["win.py"], implementer=implementer), files={"win.py": crlf})
    ed.open("win.py")
    await accepted(ed)
    assert ed.text("win.py") == crlf.replace("second = 2", "second = 22")
    [doc_edit] = ed.applied[-1].edit.document_changes
    assert [e.new_text for e in doc_edit.edits] == ["2"]  # one character, not a rewrite
    no_focus_stolen(ed)


async def test_no_final_newline_with_typing_at_the_other_end(make_editor):
    text = "alpha = 1\n\n\nbeta = 2\n\n\nomega = 3"  # no newline at the end
    implementer = [turn(("ask_user", {"question": "Go on?"})),
                   turn(("edit_file", {"path": "tail.py", "old": "omega = 3", "new": "omega = 33"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["tail.py"], implementer=implementer), files={"tail.py": text})
    ed.open("tail.py")
    run_id = await ed.run("Change omega")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "awaiting_input")
    ed.type("tail.py", "alpha = 1", "alpha = 11")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "yes"})
    await ed.wait_state(run_id, "done")
    assert ed.text("tail.py") == "alpha = 11\n\n\nbeta = 2\n\n\nomega = 33"
    no_focus_stolen(ed)


async def test_a_5_mb_file_gets_a_minimal_edit(make_editor):
    big = "".join(f"value_{i} = {i} * 2  # line {i}\n" for i in range(131_000))
    assert len(big) > 5_000_000
    implementer = [turn(("edit_file", {"path": "big.py", "old": "value_65000 = 65000 *", "new": "value_65000 = 7 *"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["big.py"], implementer=implementer), files={"big.py": big})
    ed.open("big.py")
    await accepted(ed)
    [doc_edit] = ed.applied[-1].edit.document_changes
    [edit] = doc_edit.edits
    assert edit.range.start.line == edit.range.end.line == 65000
    assert len(edit.new_text) <= len("value_65000 = 7 *")
    assert ed.text("big.py") == big.replace("value_65000 = 65000 *", "value_65000 = 7 *")
    no_focus_stolen(ed)
