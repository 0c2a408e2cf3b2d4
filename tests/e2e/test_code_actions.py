"""Code actions: Fix with Baton on diagnostics, the selection actions, none on plain text."""

from __future__ import annotations

from lsprotocol import types as t

from .conftest import turn
from .editor import action_command


def rng(l1, c1, l2, c2):
    return t.Range(start=t.Position(line=l1, character=c1), end=t.Position(line=l2, character=c2))


async def actions(ed, uri, r, diagnostics=()):
    return await ed.client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), range=r,
        context=t.CodeActionContext(diagnostics=list(diagnostics)))) or []


async def test_fix_with_baton_starts_an_edit_run_with_the_diagnostic(make_editor):
    script = {"match": "", "implementer": [
        turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello() -> str:"})),
        turn(("finish", {"summary": "annotated"}))]}
    ed = await make_editor(script)
    ed.open("hello.py")
    uri = ed.uri("hello.py")
    assert await actions(ed, uri, rng(3, 0, 3, 0)) == []  # nothing to offer on a plain cursor
    diag = t.Diagnostic(range=rng(3, 4, 3, 9), message="missing return type", source="mypy",
                        severity=t.DiagnosticSeverity.Error)
    found = {a.title: a for a in await actions(ed, uri, rng(3, 4, 3, 9), [diag])}
    name, args = action_command(found["Fix with Baton"])
    assert name == "baton.run" and args[0]["route"] == "edit" and "missing return type" in args[0]["task"]
    result = await ed.command(name, raw_args=args)
    notice = await ed.wait_state(result["runId"], "awaiting_approval")
    assert notice["route"] == "edit"
    first = await ed.command("baton.run.show", {"runId": result["runId"]})
    assert "missing return type" in first["task"]


async def test_selection_actions(make_editor):
    script = {"match": "", "planner": [{"text": "It builds the greeting."}]}
    ed = await make_editor(script)
    ed.open("hello.py")
    uri = ed.uri("hello.py")
    found = {a.title: a for a in await actions(ed, uri, rng(3, 0, 4, 10))}
    assert {"Ask Baton about this selection", "Baton: edit this selection…"} <= set(found)
    name, args = action_command(found["Ask Baton about this selection"])
    result = await ed.command(name, raw_args=args)
    notice = await ed.wait_state(result["runId"], "done")
    assert notice["route"] == "ask"
    # The edit action needs the text the client prompts for.
    name, args = action_command(found["Baton: edit this selection…"])
    try:
        await ed.command(name, raw_args=args)
        raise AssertionError("expected an error asking for the task")
    except Exception as e:
        assert "`task` is required" in str(e)
