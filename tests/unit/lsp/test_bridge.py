"""The editor's process side of the engine's calls: progress is best-effort and never
waited on, a client without progress learns each state, one without showDocument how to
act."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from baton.lsp.bridge import Bridge
from baton.lsp.client_support import ClientSupport


class Progress:
    def __init__(self) -> None:
        self.tokens: dict = {}
        self.sent: list[tuple[str, str, str | None]] = []
        self.answer: asyncio.Future = asyncio.get_running_loop().create_future()

    async def create_async(self, token):
        self.sent.append(("create", token, None))
        return await self.answer

    def begin(self, token, value):
        self.sent.append(("begin", token, value.message))

    def report(self, token, value):
        self.sent.append(("report", token, value.message))

    def end(self, token, value):
        self.sent.append(("end", token, value.message))


def server() -> SimpleNamespace:
    ls = SimpleNamespace(work_done_progress=Progress(), logs=[], shown=[], notified=[])
    ls.window_log_message = lambda p: ls.logs.append(p.message)
    ls.window_show_message = lambda p: ls.shown.append(p.message)
    ls.protocol = SimpleNamespace(notify=lambda m, p: ls.notified.append((m, p)))
    return ls


def bridge(ls, **support) -> Bridge:
    return Bridge(ls, ClientSupport(**support), 30.0, lambda n: None)  # type: ignore[arg-type]


def kinds(ls) -> list[tuple[str, str | None]]:
    return [(k, m) for k, _, m in ls.work_done_progress.sent]


async def test_progress_is_never_waited_on_and_a_late_token_gets_the_latest_report():
    ls = server()
    b = bridge(ls, work_done_progress=True)
    assert b.progress({"runId": "r", "kind": "begin", "message": "queued"}) is None
    b.progress({"runId": "r", "kind": "report", "message": "planning"})
    b.progress({"runId": "r", "kind": "report", "message": "awaiting_approval"})
    await asyncio.sleep(0.01)
    assert kinds(ls) == [("create", None)]  # the run went on without the answer
    ls.work_done_progress.answer.set_result(None)
    await asyncio.sleep(0.01)
    assert kinds(ls) == [("create", None), ("begin", "queued"), ("report", "awaiting_approval")]
    b.progress({"runId": "r", "kind": "report", "message": "implementing"})
    b.progress({"runId": "r", "kind": "end", "message": "done"})
    assert kinds(ls)[-2:] == [("report", "implementing"), ("end", "done")]
    assert "baton-run-r" not in ls.work_done_progress.tokens


async def test_a_run_that_ends_before_the_token_is_accepted_begins_and_ends_then():
    ls = server()
    b = bridge(ls, work_done_progress=True)
    b.progress({"runId": "r", "kind": "begin", "message": "queued"})
    b.progress({"runId": "r", "kind": "end", "message": "cancelled"})
    ls.work_done_progress.answer.set_result(None)
    await asyncio.sleep(0.01)
    assert kinds(ls) == [("create", None), ("begin", "queued"), ("end", "cancelled")]


async def test_a_refused_token_means_no_progress_and_no_error():
    ls = server()
    b = bridge(ls, work_done_progress=True)
    b.progress({"runId": "r", "kind": "begin", "message": "queued"})
    ls.work_done_progress.answer.set_exception(RuntimeError("no"))
    await asyncio.sleep(0.01)
    b.progress({"runId": "r", "kind": "report", "message": "x"})
    b.progress({"runId": "r", "kind": "end", "message": "done"})
    assert kinds(ls) == [("create", None)]


async def test_a_client_without_progress_gets_no_token_but_each_state_in_its_log():
    ls = server()
    b = bridge(ls)
    b.progress({"runId": "r", "kind": "begin", "message": "queued"})
    for state in ("planning", "planning", "awaiting_input", "done"):
        b.run_changed({"runId": "r", "state": state, "task": "t",
                       "question": {"text": "Which?"} if state == "awaiting_input" else None})
    assert ls.work_done_progress.sent == []
    assert ls.logs == ["Baton run r: planning — t", "Baton run r: awaiting_input — t",
                       "Baton run r: done — t"]
    assert len(ls.shown) == 2 and "Which?" in ls.shown[0] and "is done" in ls.shown[1]
    assert [m for m, _ in ls.notified] == ["baton/runChanged"] * 4


async def test_a_client_with_progress_is_not_sent_state_messages():
    ls = server()
    b = bridge(ls, work_done_progress=True)
    b.run_changed({"runId": "r", "state": "done", "task": "t"})
    assert ls.logs == [] and ls.shown == []


async def test_a_client_that_shows_baton_prompts_is_not_sent_state_messages():
    """The VS Code extension turns its work-done progress off (its own status item says the
    state) and shows questions, permissions and the run's end itself: no duplicate toasts."""
    ls = server()
    b = bridge(ls, baton_prompts=True)
    b.run_changed({"runId": "r", "state": "awaiting_input", "task": "t", "question": {"text": "Which?"}})
    b.run_changed({"runId": "r", "state": "done", "task": "t"})
    assert ls.logs == [] and ls.shown == []
    assert [m for m, _ in ls.notified] == ["baton/runChanged"] * 2


async def test_without_show_document_the_person_is_told_where_and_how():
    ls = server()
    b = bridge(ls)
    await b.show_document({"uri": "file:///w/.baton/runs/r/plan.md", "takeFocus": False})
    [text] = ls.shown
    assert "/w/.baton/runs/r/plan.md" in text and "Accept plan" in text


async def test_an_edit_goes_to_the_editor_as_the_engine_built_it_and_its_answer_is_parsed():
    """One conversion per hop: the JSON the engine process built leaves the editor's process
    as it is (no lsprotocol objects in between), and the client's answer is parsed once."""
    import json

    from baton.lsp.server import build

    ls = build()
    written: list[bytes] = []
    ls.protocol.set_writer(SimpleNamespace(write=written.append, close=lambda: None),
                           include_headers=False)
    edit = {"documentChanges": [{"textDocument": {"uri": "file:///w/a.py", "version": 3},
                                 "edits": [{"range": {"start": {"line": 0, "character": 0},
                                                      "end": {"line": 0, "character": 5}},
                                            "newText": "hi", "annotationId": "baton"}]}],
            "changeAnnotations": {"baton": {"label": "Baton run r", "needsConfirmation": False}}}
    b = Bridge(ls, ClientSupport(), 30.0, lambda n: None)
    answer = asyncio.ensure_future(b.apply_edit({"label": "Baton run r", "edit": edit}))
    await asyncio.sleep(0)
    [request] = [json.loads(w) for w in written]
    assert request["method"] == "workspace/applyEdit"
    assert request["params"] == {"label": "Baton run r", "edit": edit}
    ls.protocol.handle_message(ls.protocol.structure_message(
        {"jsonrpc": "2.0", "id": request["id"], "result": {"applied": False, "failureReason": "no"}}))
    assert await answer == {"applied": False, "reason": "no; the editor stopped"}


def test_diagnostics_go_to_the_editor_as_the_engine_built_them():
    import json

    from baton.lsp.server import build

    ls = build()
    written: list[bytes] = []
    ls.protocol.set_writer(SimpleNamespace(write=written.append, close=lambda: None),
                           include_headers=False)
    params = {"uri": "file:///w/a.py", "diagnostics": [{
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 0}},
        "message": "x", "severity": 2, "source": "baton", "code": "run r"}]}
    bridge(ls).publish_diagnostics(params)
    [sent] = [json.loads(w) for w in written]
    assert sent == {"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": params}
