"""Baton sends each client only what it declared (docs/protocol.md): position encodings
(utf-8, utf-16, utf-32, with é😀 before every edit), workspace edits without operations the
client cannot do (Baton applies those on disk where the editor has no buffer), no
documents or progress to clients that show neither (messages instead), a root only where
the person pointed, and progress that never holds up a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as t
from pytest_lsp import client_capabilities

from .conftest import HELLO, plan_script, turn
from .editor import Editor, write_workspace

EDITED = HELLO.replace("def hello():", "def hello(name):")
NOTES = "x is two now\n"
OLD = "obsolete = True\n"

MakeClient = Callable[..., Any]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[MakeClient]:
    editors: list[Editor] = []

    async def make(script: dict[str, Any], *, kind: str = "vscode",
                   capabilities: t.ClientCapabilities | None = None,
                   client_info: t.ClientInfo | None = None, rooted: bool = True,
                   files: dict[str, str] | None = None, ws: Path | None = None) -> Editor:
        ws = ws or tmp_path / "ws"
        ws.mkdir(parents=True, exist_ok=True)
        config = write_workspace(ws, files if files is not None else {"hello.py": HELLO},
                                 {"runs": [script]})
        editor = Editor(ws, config, kind)
        if capabilities is not None:
            editor.capabilities = capabilities
        if client_info is not None:
            editor.client_info = client_info
        editor.rooted = rooted
        await editor.start()
        editors.append(editor)
        return editor

    yield make
    for e in editors:
        try:
            await e.stop()
        except Exception:
            pass


def offering(*encodings: str) -> t.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    caps.general = t.GeneralClientCapabilities(position_encodings=list(encodings))
    return caps


def eglot_19() -> t.ClientCapabilities:
    """What Debian's eglot 1.9 declares: documentChanges, no resource operations, no
    annotations, no window capabilities (no showDocument, no progress)."""
    return t.ClientCapabilities(workspace=t.WorkspaceClientCapabilities(
        apply_edit=True, workspace_edit=t.WorkspaceEditClientCapabilities(document_changes=True)))


async def accept(ed: Editor, run_id: str) -> None:
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})


# -- position encodings ---------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
async def test_each_offered_encoding_is_negotiated_and_edits_land_after_non_ascii(make_client, encoding):
    ed = await make_client(plan_script(), capabilities=offering(encoding))
    assert ed.encoding == encoding
    ed.open("hello.py")
    # The person types after é😀 (positions in the negotiated encoding) while the plan waits.
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    ed.type("hello.py", "# non-ASCII", "# ñon-ASCII 😀")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == EDITED.replace("# non-ASCII", "# ñon-ASCII 😀")


async def test_the_client_preference_decides_among_offered_encodings(make_client):
    ed = await make_client(plan_script(), capabilities=offering("utf-32", "utf-8", "utf-16"))
    assert ed.encoding == "utf-32"


async def test_lsp_mode_which_counts_code_points_gets_utf32(make_client):
    caps = client_capabilities("visual-studio-code")
    caps.general = None
    ed = await make_client(plan_script(), capabilities=caps,
                           client_info=t.ClientInfo(name="emacs", version="GNU Emacs 28.2"))
    assert ed.encoding == "utf-32"
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await accept(ed, run_id)
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == EDITED


# -- workspace edits ------------------------------------------------------------------
def files_script() -> dict[str, Any]:
    """A plan that edits an open file, creates one and deletes another (both closed)."""
    return plan_script(files=["hello.py", "NOTES.txt", "old.txt"], implementer=[
        turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
        turn(("write_file", {"path": "NOTES.txt", "content": NOTES})),
        turn(("delete_file", {"path": "old.txt"})),
        turn(("finish", {"summary": "done"}))])


@pytest.mark.parametrize("kind", ["eglot-1.9", "emacs"])
async def test_files_are_created_and_deleted_for_a_client_without_resource_operations(make_client, kind):
    caps = eglot_19() if kind == "eglot-1.9" else None
    ed = await make_client(files_script(), kind="emacs", capabilities=caps,
                           files={"hello.py": HELLO, "old.txt": OLD})
    ed.open("hello.py")
    run_id = await ed.run("Greet by name and take notes")
    await accept(ed, run_id)
    await ed.wait_state(run_id, "done")
    assert ed.violations == []
    assert ed.text("hello.py") == EDITED
    assert (ed.root / "NOTES.txt").read_text() == NOTES  # Baton wrote it: no buffer, no create
    assert not (ed.root / "old.txt").exists()
    assert all(isinstance(c, t.TextDocumentEdit) for p in ed.applied
               for c in p.edit.document_changes or [])
    assert any("NOTES.txt" in m.message and "itself" in m.message for m in ed.client.log_messages)

    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: not (ed.root / "NOTES.txt").exists(), "the created file deleted by the revert")
    await ed.wait_for(lambda: ed.text("hello.py") == HELLO, "hello.py reverted")
    assert (ed.root / "old.txt").read_text() == OLD
    assert ed.violations == []


async def test_a_file_the_editor_has_open_is_never_deleted_under_it(make_client):
    ed = await make_client(files_script(), kind="emacs", capabilities=eglot_19(),
                           files={"hello.py": HELLO, "old.txt": OLD})
    ed.open("old.txt")
    run_id = await ed.run("Greet by name and take notes")
    await accept(ed, run_id)
    held = await ed.wait_state(run_id, "awaiting_apply")
    assert "close old.txt" in held.get("reason", ""), held
    assert (ed.root / "old.txt").read_text() == OLD and ed.violations == []
    # Closed, the held changes apply.
    ed.client.text_document_did_close(t.DidCloseTextDocumentParams(
        text_document=t.TextDocumentIdentifier(uri=ed.uri("old.txt"))))
    del ed.buffers[ed.uri("old.txt")]
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert not (ed.root / "old.txt").exists()
    assert (ed.root / "NOTES.txt").read_text() == NOTES
    assert (ed.root / "hello.py").read_text() == EDITED


async def test_a_client_without_document_changes_gets_the_changes_map(make_client):
    caps = t.ClientCapabilities(workspace=t.WorkspaceClientCapabilities(apply_edit=True))
    ed = await make_client(files_script(), capabilities=caps,
                           files={"hello.py": HELLO, "old.txt": OLD})
    ed.open("hello.py")
    run_id = await ed.run("Greet by name and take notes")
    await accept(ed, run_id)
    await ed.wait_state(run_id, "done")
    assert ed.violations == [] and ed.applied
    assert all(p.edit.document_changes is None and p.edit.changes for p in ed.applied)
    assert ed.text("hello.py") == EDITED
    assert (ed.root / "NOTES.txt").read_text() == NOTES and not (ed.root / "old.txt").exists()


# -- what the person is told ----------------------------------------------------------
async def test_a_client_without_documents_or_progress_is_told_how_to_act(make_client):
    ed = await make_client(plan_script(), kind="emacs", capabilities=eglot_19())
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    plan = ed.root / ".baton" / "runs" / run_id / "plan.md"
    hint = await ed.wait_for(lambda: next((m.message for m in ed.client.messages
                                           if str(plan) in m.message), None), "the plan's hint")
    assert "Accept plan" in hint and "baton.plan.accept" in hint and run_id in hint
    assert not ed.client.shown_documents and not ed.progress
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    await ed.wait_for(lambda: any(f"{run_id} is done" in m.message for m in ed.client.messages),
                      "the done message")
    logged = [m.message for m in ed.client.log_messages if run_id in m.message]
    for state in ("classifying", "planning", "awaiting_approval", "implementing", "reviewing", "done"):
        assert any(f": {state}" in m for m in logged), (state, logged)


# -- progress never holds up a run ----------------------------------------------------
@pytest.mark.parametrize("answer_after_s", [None, 1.0])
async def test_progress_creation_never_holds_up_a_run(make_client, answer_after_s):
    ed = await make_client(plan_script())
    created = asyncio.Event()
    ed.client.protocol.fm._features.pop(t.WINDOW_WORK_DONE_PROGRESS_CREATE, None)

    @ed.client.feature(t.WINDOW_WORK_DONE_PROGRESS_CREATE)
    async def create(params: t.WorkDoneProgressCreateParams) -> None:
        if answer_after_s is None:
            await asyncio.Event().wait()  # never answers
        await asyncio.sleep(answer_after_s)
        created.set()

    start = time.monotonic()
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval", timeout=10)
    assert time.monotonic() - start < 5
    token = f"baton-run-{run_id}"
    if answer_after_s is None:
        assert not [p for p in ed.progress if p[0] == token]
        return
    await created.wait()
    await ed.wait_for(lambda: any(k == "report" for tok, k, _ in ed.progress if tok == token),
                      "a report after the late begin")
    kinds = [k for tok, k, _ in ed.progress if tok == token]
    assert kinds[0] == "begin"


# -- the workspace root -----------------------------------------------------------------
async def test_without_a_root_the_documents_project_is_the_workspace(make_client, tmp_path, monkeypatch):
    cwd = tmp_path / "started-here"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (tmp_path / "loose.py").write_text("x = 1\n")
    ed = await make_client(plan_script(), rooted=False, ws=project)
    with pytest.raises(Exception, match="no workspace"):
        await ed.command("baton.runs", {})
    # A file outside any project names nothing: said once, nothing written anywhere.
    ed.client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=t.TextDocumentItem(
        uri=(tmp_path / "loose.py").as_uri(), language_id="python", version=1, text="x = 1\n")))
    await ed.wait_for(lambda: any("no workspace" in m.message for m in ed.client.messages),
                      "the no-root message")
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await accept(ed, run_id)
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == EDITED
    assert (project / ".baton").is_dir()
    assert not (cwd / ".baton").exists() and not (tmp_path / ".baton").exists()


# -- logs -------------------------------------------------------------------------------
async def test_an_intended_error_is_an_answer_not_a_traceback(make_client, capfd):
    ed = await make_client(plan_script())
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.reject", {"runId": run_id})
    await ed.wait_state(run_id, "rejected")
    with pytest.raises(Exception, match="awaiting_approval"):
        await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_for(lambda: any("answered with an error" in m.message for m in ed.client.log_messages),
                      "the error in the client's log")
    err = capfd.readouterr().err
    assert "Traceback" not in err and " INFO " not in err, err


# -- clients that can neither prompt nor pass arguments (Helix, Kate, Sublime LSP) -------
async def test_the_selected_text_runs_as_a_task_and_answers_a_question(make_client):
    from .editor import action_command
    asked = {"match": "", "classifier": [turn(("classify", {"route": "plan", "reason": "test"}))],
             "planner": [turn(("ask_user", {"question": "Which name?"})),
                         turn(("submit_plan", {"summary": "s", "steps": ["x"], "files": ["hello.py"]}))]}
    ed = await make_client(asked, capabilities=offering("utf-16"))
    ed.open("hello.py")
    uri = ed.uri("hello.py")
    line = HELLO.splitlines()[0]
    start = len(line[:line.index("# non")].encode("utf-16-le")) // 2  # after é😀, in utf-16
    selection = t.Range(start=t.Position(line=0, character=start),
                        end=t.Position(line=0, character=start + len("# non-ASCII")))

    async def titled(prefix: str) -> Any:
        found = await ed.client.text_document_code_action_async(t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri), range=selection,
            context=t.CodeActionContext(diagnostics=[])))
        return next(a for a in found or [] if a.title.startswith(prefix))

    name, args = action_command(await titled("Run the selected text as a Baton task"))
    run_id = (await ed.command(name, raw_args=args))["runId"]
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert show["task"] == "# non-ASCII"
    await ed.wait_state(run_id, "awaiting_input")
    name, args = action_command(await titled(f"Answer Baton run {run_id}"))
    assert args == [{"runId": run_id, "answer": "# non-ASCII"}]
    await ed.command(name, raw_args=args)
    await ed.wait_state(run_id, "awaiting_approval")


# -- a client that shows Baton's prompts itself (experimental.batonPrompts) -------------
async def test_a_client_showing_batons_prompts_gets_no_message_box_and_answers_by_id(make_client):
    caps = client_capabilities("visual-studio-code")
    caps.experimental = {"batonPrompts": True}
    outside = [turn(("write_file", {"path": "other.py", "content": "x = 1\n"})),
               turn(("finish", {"summary": "Wrote other.py"}))]
    ed = await make_client(plan_script(implementer=outside), capabilities=caps)
    ed.answer_prompt = lambda p: "Allow once"  # would allow at once, if it were asked
    run_id = await ed.run("write somewhere else")
    await accept(ed, run_id)
    asked = await ed.wait_state(run_id, "awaiting_input")
    permission = asked["permission"]
    assert permission["kind"] == "write" and "+x = 1" in permission["diff"]
    assert "answer_permission" in asked["actions"]
    await asyncio.sleep(0.5)  # no message box comes, and nothing is decided meanwhile
    assert ed.prompts == [] and ed.states(run_id)[-1] == "awaiting_input"
    await ed.command("baton.permission.answer", {"runId": run_id, "id": permission["id"],
                                                 "answer": "Allow once"})
    done = await ed.wait_state(run_id, "done")
    assert (ed.root / "other.py").read_text() == "x = 1\n" and ed.prompts == []
    assert done["summary"]["text"] == "Wrote other.py" and done["summary"]["files"] == ["other.py"]
    assert done["createdAt"] > 0
