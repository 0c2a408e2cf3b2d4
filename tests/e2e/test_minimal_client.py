"""A client that declares no optional capability at all (no applyEdit, no documentChanges,
no resourceOperations, no showDocument, no workDoneProgress) and never answers a request:
the run still completes and the files end right.

What Baton does for it (docs/protocol.md "Edits a client cannot apply"): no request the
client did not declare is ever sent; the plan, the question and the end arrive as
window/showMessage with the commands to use; a permission it never answers waits in
awaiting_input for `baton.run.answer`; since no editor can apply the edits, Baton applies
them to the disk itself, for files the client has no buffer of, and holds (saying what to
do) the change to a file it has open until it is closed."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as t
from pytest_lsp.client import make_test_lsp_client

from .conftest import HELLO, plan_script, turn
from .editor import WAIT_S, plain, until, write_workspace

EDITED = HELLO.replace("# non-ASCII and astral before the edit", "# edited after é😀")
OLD = "obsolete = True\n"
NOTES = "x is two now\n"
ANSWERED_BY_LSP = (t.WORKSPACE_APPLY_EDIT, t.WINDOW_SHOW_MESSAGE_REQUEST, t.WINDOW_SHOW_DOCUMENT,
                   t.WINDOW_WORK_DONE_PROGRESS_CREATE, t.WORKSPACE_CONFIGURATION)


class MinimalClient:
    def __init__(self, root: Path, config: Path) -> None:
        self.root, self.config = root, config
        self.client = make_test_lsp_client()
        self.requests: list[str] = []  # what the server asked, never answered
        self.notices: list[dict[str, Any]] = []
        self.messages: list[str] = []
        self._changed = asyncio.Condition()
        c = self.client
        for method in (*ANSWERED_BY_LSP, t.WINDOW_SHOW_MESSAGE, t.PROGRESS):
            c.protocol.fm._features.pop(method, None)
        for method in ANSWERED_BY_LSP:
            c.feature(method)(self._never_answer(method))

        @c.feature("baton/runChanged")
        async def run_changed(params: Any) -> None:
            self.notices.append(plain(params))
            await self._wake()

        @c.feature(t.WINDOW_SHOW_MESSAGE)
        async def show_message(params: t.ShowMessageParams) -> None:
            self.messages.append(params.message)
            await self._wake()

        @c.feature(t.PROGRESS)
        async def progress(params: Any) -> None:
            self.requests.append("$/progress")

    def _never_answer(self, method: str) -> Callable[[Any], Any]:
        async def handler(params: Any) -> None:
            self.requests.append(method)
            await self._wake()
            await asyncio.Event().wait()
        return handler

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def start(self) -> None:
        env = {**os.environ, "BATON_CONFIG": str(self.config), "BATON_LOG": "WARNING"}
        await self.client.start_io(sys.executable, "-m", "baton", "serve", env=env)
        await self.client.initialize_session(t.InitializeParams(
            capabilities=t.ClientCapabilities(), root_uri=self.root.as_uri()))

    async def command(self, name: str, arg: dict[str, Any]) -> Any:
        return await self.client.workspace_execute_command_async(
            t.ExecuteCommandParams(command=name, arguments=[arg]))

    async def wait_for(self, what: str, predicate: Callable[[], Any]) -> Any:
        try:
            return await until(self._changed, predicate, WAIT_S)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; states "
                                 f"{[n['state'] for n in self.notices]}, messages {self.messages}, "
                                 f"requests {self.requests}") from None

    async def wait_state(self, run_id: str, state: str) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            for n in self.notices:
                if n["runId"] == run_id and n["state"] == "failed":
                    raise AssertionError(f"the run failed: {n}")
                if n["runId"] == run_id and n["state"] == state:
                    return n
            return None
        return await self.wait_for(f"{state}", seen)

    def message(self, *parts: str) -> str | None:
        return next((m for m in self.messages if all(p in m for p in parts)), None)

    def did_open(self, rel: str) -> None:
        self.client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=t.TextDocumentItem(
            uri=(self.root / rel).as_uri(), language_id="python", version=1,
            text=(self.root / rel).read_text(encoding="utf-8"))))

    def did_close(self, rel: str) -> None:
        self.client.text_document_did_close(t.DidCloseTextDocumentParams(
            text_document=t.TextDocumentIdentifier(uri=(self.root / rel).as_uri())))


def script() -> dict[str, Any]:
    """Edits hello.py after é😀, writes NOTES.txt (not in the plan: a permission), deletes
    old.txt."""
    return plan_script(files=["hello.py", "old.txt"], implementer=[
        turn(("edit_file", {"path": "hello.py", "old": "# non-ASCII and astral before the edit",
                            "new": "# edited after é😀"})),
        turn(("write_file", {"path": "NOTES.txt", "content": NOTES})),
        turn(("delete_file", {"path": "old.txt"})),
        turn(("finish", {"summary": "done"}))])


@pytest.fixture
async def minimal(tmp_path: Path) -> AsyncIterator[MinimalClient]:
    ws = tmp_path / "ws"
    ws.mkdir()
    config = write_workspace(ws, {"hello.py": HELLO, "old.txt": OLD}, {"runs": [script()]})
    client = MinimalClient(ws, config)
    await client.start()
    yield client
    # The requests it never answered die with it (pygls cannot fail a handler's task).
    futures = client.client.protocol._request_futures
    for key, fut in list(futures.items()):
        if isinstance(fut, asyncio.Task):
            futures.pop(key).cancel()
    try:
        await asyncio.wait_for(client.client.shutdown_session(), 10)
    finally:
        await client.client.stop()


async def accept(c: MinimalClient) -> str:
    run_id = (await c.command("baton.run", {"task": "Greet and take notes"}))["runId"]
    await c.wait_state(run_id, "awaiting_approval")
    plan = c.root / ".baton" / "runs" / run_id / "plan.md"
    hint = await c.wait_for("the plan's message", lambda: c.message(str(plan)))
    assert f'baton.plan.accept with {{"runId": "{run_id}"}}' in hint
    await c.command("baton.plan.accept", {"runId": run_id})
    return run_id


async def answer_the_permission(c: MinimalClient, run_id: str) -> None:
    asked = await c.wait_state(run_id, "awaiting_input")
    assert "NOTES.txt" in asked["question"]["text"]
    assert asked["question"]["options"] == ["Allow once", "Allow for this run", "Deny"]
    assert await c.wait_for("the question's message", lambda: c.message(run_id, "baton.run.answer"))
    await c.command("baton.run.answer", {"runId": run_id, "answer": "Allow once"})


async def test_the_run_completes_and_the_files_end_right(minimal: MinimalClient):
    c = minimal
    run_id = await accept(c)
    await answer_the_permission(c, run_id)
    await c.wait_state(run_id, "done")
    assert await c.wait_for("the done message", lambda: c.message(run_id, "is done"))
    assert (c.root / "hello.py").read_text(encoding="utf-8") == EDITED
    assert (c.root / "NOTES.txt").read_text() == NOTES
    assert not (c.root / "old.txt").exists()
    # The one request without a capability to declare; it was never answered.
    assert set(c.requests) == {t.WINDOW_SHOW_MESSAGE_REQUEST}, c.requests

    await c.command("baton.run.revert", {"runId": run_id})
    await c.wait_for("the revert on disk", lambda: not (c.root / "NOTES.txt").exists()
                     and (c.root / "old.txt").exists()
                     and (c.root / "hello.py").read_text(encoding="utf-8") == HELLO)
    assert (c.root / "old.txt").read_text() == OLD
    assert set(c.requests) == {t.WINDOW_SHOW_MESSAGE_REQUEST}, c.requests


async def test_a_file_the_client_has_open_is_held_until_it_is_closed(minimal: MinimalClient):
    c = minimal
    c.did_open("hello.py")
    run_id = await accept(c)
    await answer_the_permission(c, run_id)
    held = await c.wait_state(run_id, "awaiting_apply")
    assert "close hello.py" in held["reason"] and held["held"]
    assert (c.root / "hello.py").read_text(encoding="utf-8") == HELLO  # never written under it
    changes = c.root / ".baton" / "runs" / run_id / "changes.diff"
    assert await c.wait_for("the held changes' message", lambda: c.message(str(changes), "baton.edits.apply"))
    c.did_close("hello.py")
    await c.command("baton.edits.apply", {"runId": run_id})
    await c.wait_state(run_id, "done")
    assert (c.root / "hello.py").read_text(encoding="utf-8") == EDITED
    assert (c.root / "NOTES.txt").read_text() == NOTES and not (c.root / "old.txt").exists()
    assert t.WORKSPACE_APPLY_EDIT not in c.requests
