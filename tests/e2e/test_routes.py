"""Each route end to end through the real daemon over stdio, as an editor drives it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as t

from .conftest import HELLO, plan_script, turn
from .editor import action_command

pytestmark = pytest.mark.usefixtures("client_kind")

EDITED = HELLO.replace("def hello():", "def hello(name):")


@pytest.mark.parametrize("kind,encoding", [("vscode", "utf-16"), ("neovim", "utf-8")])
async def test_plan_route_edits_open_buffer(make_editor, kind, encoding):
    ed = await make_editor(plan_script(implementer=[
        turn(("edit_file", {"path": "hello.py", "old": "world", "new": "wörld 🌍"})),
        turn(("finish", {"summary": "done"}))]), kind=kind)
    assert ed.encoding == encoding
    ed.open("hello.py")
    run_id = await ed.run("Greet the world in German")
    notice = await ed.wait_state(run_id, "awaiting_approval")
    assert notice["route"] == "plan"
    plan_uri = notice["planUri"]
    await ed.wait_shown(plan_uri)
    plan = Path(plan_uri.removeprefix("file://")).read_text()
    assert "`hello.py`" in plan and "Greet by name" in plan

    # The code action in plan.md is how an editor accepts.
    actions = await ed.client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=plan_uri),
        range=t.Range(start=t.Position(line=0, character=0), end=t.Position(line=0, character=0)),
        context=t.CodeActionContext(diagnostics=[])))
    titles = {a.title: a for a in actions}
    assert {"Accept plan", "Reject plan"} <= set(titles)
    name, args = action_command(titles["Accept plan"])
    await ed.command(name, raw_args=args)
    await ed.wait_state(run_id, "done")

    assert ed.text("hello.py") == HELLO.replace("world", "wörld 🌍")
    # Delivered as a minimal edit of the open document at its version, never a rewrite.
    edit = ed.applied[-1].edit
    [doc_edit] = edit.document_changes
    assert doc_edit.text_document.version == 1
    assert len(doc_edit.edits) == 1 and doc_edit.edits[0].new_text.strip() in ("ö", "wörld 🌍", "örld 🌍")
    assert doc_edit.edits[0].range.start.line == 4
    # Nothing was written to disk by Baton while an editor is attached.
    assert (ed.root / "hello.py").read_text() == HELLO


async def test_ask_route_answers_without_edits(make_editor):
    script = {"match": "", "classifier": [turn(("classify", {"route": "ask", "reason": "a question"}))],
              "planner": [turn(("read_file", {"path": "hello.py"})),
                          {"text": "`hello()` returns the greeting for the world."}]}
    ed = await make_editor(script)
    run_id = await ed.run("What does hello() return?")
    notice = await ed.wait_state(run_id, "done")
    assert notice["route"] == "ask"
    answer = Path(notice["answerUri"].removeprefix("file://")).read_text()
    assert "returns the greeting" in answer
    await ed.wait_shown(notice["answerUri"])
    assert ed.applied == []
    assert ed.states(run_id) == ["classifying", "planning", "done"]


async def test_edit_route_change_is_the_plan(make_editor):
    script = {"match": "", "classifier": [turn(("classify", {"route": "edit", "reason": "one line"}))],
              "implementer": [turn(("edit_file", {"path": "hello.py", "old": "def hello():",
                                                  "new": "def hello(name):"})),
                              turn(("finish", {"summary": "added name"}))]}
    ed = await make_editor(script)
    ed.open("hello.py")
    run_id = await ed.run("add a name parameter", uri=ed.uri("hello.py"),
                          range={"start": {"line": 3, "character": 0}, "end": {"line": 4, "character": 0}})
    notice = await ed.wait_state(run_id, "awaiting_approval")
    proposal = Path(notice["planUri"].removeprefix("file://")).read_text()
    assert "+def hello(name):" in proposal and "-def hello():" in proposal
    assert ed.text("hello.py") == HELLO  # nothing applied before acceptance
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == EDITED
    assert "reviewing" not in ed.states(run_id)


async def test_forced_route_skips_the_classifier(make_editor):
    # The script has no classifier turns: calling the classifier would fail the run.
    script = plan_script()
    script["classifier"] = []
    ed = await make_editor(script)
    run_id = await ed.run("Greet by name", route="plan")
    await ed.wait_state(run_id, "awaiting_approval")
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert show["route"] == "plan" and show["routeReason"] == "chosen by you"


async def test_reject(make_editor):
    ed = await make_editor(plan_script())
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.reject", {"runId": run_id, "reason": "not now"})
    notice = await ed.wait_state(run_id, "rejected")
    assert notice["reason"] == "not now"
    assert ed.applied == []


async def test_revise_then_accept_edited_plan(make_editor):
    planner = [turn(("submit_plan", {"summary": "First idea", "steps": ["a"], "files": ["hello.py", "other.py"]})),
               turn(("submit_plan", {"summary": "Revised idea", "steps": ["b"], "files": ["hello.py", "other.py"]}))]
    implementer = [turn(("write_file", {"path": "other.py", "content": "x = 1\n"})),
                   turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(planner=planner, implementer=implementer))
    ed.answer_prompt = lambda p: "Deny"
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.revise", {"runId": run_id, "feedback": "simpler please"})
    await ed.wait_for(lambda: sum(1 for n in ed.notices if n["runId"] == run_id
                                  and n["state"] == "awaiting_approval") >= 2, "the revised plan")
    plan_path = ed.root / ".baton" / "runs" / run_id / "plan.md"
    plan = plan_path.read_text()
    assert "Revised idea" in plan
    # The person edits the plan before accepting: drops other.py from the grant (unsaved buffer).
    ed.buffers[plan_path.as_uri()] = (plan, 1)
    ed.client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=t.TextDocumentItem(
        uri=plan_path.as_uri(), language_id="markdown", version=1, text=plan)))
    ed.type(str(plan_path.relative_to(ed.root)), "- `other.py`\n", "")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert "other.py" not in show["plan"]
    # The write to other.py asked the person, who denied it; hello.py was granted.
    assert any("other.py" in p.message for p in ed.prompts)
    assert not (ed.root / "other.py").exists()
    assert ed.text("hello.py") == EDITED
    transcript = (ed.root / ".baton" / "runs" / run_id / "transcript.jsonl").read_text()
    assert "simpler please" in transcript


async def test_cancel_mid_run(make_editor):
    implementer = [turn(("read_file", {"path": "hello.py"}), delay_ms=60_000)]
    ed = await make_editor(plan_script(implementer=implementer))
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "implementing")
    await ed.command("baton.run.cancel", {"runId": run_id})
    await ed.wait_state(run_id, "cancelled")
    runs = await ed.command("baton.runs", {})
    assert [r["state"] for r in runs if r["runId"] == run_id] == ["cancelled"]


async def test_cancel_while_the_plan_waits_says_so_in_the_open_plan(make_editor):
    """plan.md, open in the editor, stops asking once the run is cancelled: its buffer gets
    the edit (workspace/applyEdit), as it does when the plan is answered."""
    ed = await make_editor(plan_script())
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    plan = f".baton/runs/{run_id}/plan.md"
    ed.open(plan)
    await ed.command("baton.run.cancel", {"runId": run_id})
    await ed.wait_state(run_id, "cancelled")
    await ed.wait_for(lambda: "**Cancelled at " in ed.text(plan), "plan.md saying it was cancelled")
    assert "**Waiting for you.**" not in ed.text(plan)


async def test_revert_keeps_later_typing(make_editor):
    ed = await make_editor(plan_script())
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == EDITED
    ed.type("hello.py", "# non-ASCII", "# typed later, non-ASCII")
    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: any(n["runId"] == run_id and n.get("reason") == "reverted"
                                  for n in ed.notices), "the revert")
    assert ed.text("hello.py") == HELLO.replace("# non-ASCII", "# typed later, non-ASCII")
    with pytest.raises(Exception, match="already reverted"):
        await ed.command("baton.run.revert", {"runId": run_id})


async def test_two_concurrent_runs(make_editor):
    a = plan_script(match="alpha", files=["a.py"], implementer=[
        turn(("write_file", {"path": "a.py", "content": "A = 1\n"}), delay_ms=300),
        turn(("finish", {"summary": "a"}))])
    b = plan_script(match="beta", files=["b.py"], implementer=[
        turn(("write_file", {"path": "b.py", "content": "B = 2\n"}), delay_ms=100),
        turn(("finish", {"summary": "b"}))])
    ed = await make_editor({"runs": [a, b]})
    ra, rb = await ed.run("alpha task"), await ed.run("beta task")
    await asyncio.gather(ed.wait_state(ra, "awaiting_approval"), ed.wait_state(rb, "awaiting_approval"))
    await ed.command("baton.plan.accept", {"runId": ra})
    await ed.command("baton.plan.accept", {"runId": rb})
    await asyncio.gather(ed.wait_state(ra, "done"), ed.wait_state(rb, "done"))
    assert (ed.root / "a.py").read_text() == "A = 1\n"
    assert (ed.root / "b.py").read_text() == "B = 2\n"
    runs = {r["runId"]: r for r in await ed.command("baton.runs", {})}
    assert runs[ra]["state"] == runs[rb]["state"] == "done"


async def test_review_request_changes_sends_implementer_back(make_editor):
    implementer = [turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   turn(("finish", {"summary": "first"})),
                   turn(("edit_file", {"path": "hello.py", "old": "world", "new": "{name}"})),
                   turn(("finish", {"summary": "second"}))]
    reviewer = [turn(("submit_review", {"verdict": "request_changes", "findings": [
                    {"path": "hello.py", "line": 5, "message": "name is unused", "severity": "error"}]})),
                turn(("submit_review", {"verdict": "approve", "findings": []}))]
    ed = await make_editor(plan_script(implementer=implementer, reviewer=reviewer))
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.states(run_id)[-5:] == ["implementing", "reviewing", "implementing", "reviewing", "done"]
    assert 'return f"{GREETING}, {name}!"' in ed.text("hello.py")
    uri = ed.uri("hello.py")
    # Findings were published as diagnostics (source baton), then cleared by the approval.
    assert uri in ed.client.diagnostics and len(ed.client.diagnostics[uri]) == 0
    show = await ed.command("baton.run.show", {"runId": run_id})
    assert show["reviews"][0]["findings"][0]["message"] == "name is unused"
    assert set(show["usage"]) >= {"classifier", "planner", "implementer", "reviewer"}


async def test_progress_per_run(make_editor):
    ed = await make_editor(plan_script())
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    token = f"baton-run-{run_id}"
    # Reports are paced (one per run every 0.1 s); the one held back is the latest, and it
    # reaches the editor while the run waits.
    await ed.wait_for(lambda: any(k == "report" and m and "awaiting_approval" in m
                                  for tok, k, m in ed.progress if tok == token), "the last report")
    await ed.command("baton.plan.reject", {"runId": run_id})
    await ed.wait_state(run_id, "rejected")
    await ed.wait_for(lambda: any(k == "end" for tok, k, _ in ed.progress if tok == token), "progress end")
    kinds = [k for tok, k, _ in ed.progress if tok == token]
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("end") == 1


async def test_declined_edit_waits_and_never_reports_success(make_editor):
    ed = await make_editor(plan_script())
    ed.open("hello.py")
    ed.apply_policy = lambda p: False
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    notice = await ed.wait_state(run_id, "awaiting_apply")
    assert "did not apply" in notice["reason"]
    assert "done" not in ed.states(run_id)
    # Nothing changed after the editor said no: Baton does not ask again and again.
    assert len(ed.applied) == 1
    ed.apply_policy = lambda p: True
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == EDITED
