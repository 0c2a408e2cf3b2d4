"""A test editor: the real pytest-lsp client driving the real `baton serve` over stdio.

It behaves like an editor where the tests need one: it keeps open buffers and applies
`workspace/applyEdit` to them (version-checked, in the negotiated position encoding),
answers `window/showMessageRequest` from a scripted policy, and records every
`baton/runChanged` so tests wait on notifications, never on sleeps.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from baton.edits.diff import apply_text_edits

WAIT_S = 30.0
TERMINAL = {"done", "rejected", "failed", "cancelled"}
CLIENTS = {"vscode": "visual-studio-code", "neovim": "neovim@v0.11.0", "emacs": "emacs@v29.1"}
CLIENT_NAMES = {"vscode": "Visual Studio Code", "neovim": "Neovim", "emacs": "Emacs (eglot)"}


def write_workspace(root: Path, files: dict[str, str], script: dict[str, Any],
                    extra_config: str = "") -> Path:
    """A workspace with a scripted provider; returns the config file for BATON_CONFIG."""
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
    cfg_dir = root.parent / (root.name + "-config")
    cfg_dir.mkdir(exist_ok=True)
    (cfg_dir / "script.json").write_text(json.dumps(script))
    config = cfg_dir / "config.toml"
    config.write_text('[providers.offline]\nkind = "scripted"\nscript = "script.json"\n' + extra_config)
    return config


def plain(o: Any) -> Any:
    """pygls hands custom notifications over as namedtuples: back to JSON-like values."""
    if hasattr(o, "_asdict"):
        return {k: plain(v) for k, v in o._asdict().items()}
    if isinstance(o, (list, tuple)):
        return [plain(v) for v in o]
    return o


def action_command(action: Any) -> tuple[str, list[Any]]:
    """(command, arguments) of a code action. The client library structures a CodeAction
    that carries a command as a Command whose `command` is the nested object, turned
    into its str() by cattrs; recover it."""
    cmd = action.command
    if isinstance(cmd, str) and cmd.startswith("{"):
        cmd = ast.literal_eval(cmd)
    if isinstance(cmd, dict):
        return cmd["command"], cmd.get("arguments") or []
    if isinstance(cmd, t.Command):
        return cmd.command, list(cmd.arguments or [])
    return cmd, list(action.arguments or [])



async def until(changed: asyncio.Condition, predicate: Callable[[], Any], timeout: float) -> Any:
    """`predicate()`'s first truthy value, checked each time `changed` is notified; raises
    TimeoutError after `timeout` seconds."""
    async def loop() -> Any:
        async with changed:
            while not (value := predicate()):
                await changed.wait()
            return value
    return await asyncio.wait_for(loop(), timeout)

class Editor:
    def __init__(self, root: Path, config: Path, kind: str = "vscode") -> None:
        self.root = root.resolve()
        self.config = config
        self.kind = kind
        self.client: LanguageClient = make_test_lsp_client()
        self.buffers: dict[str, tuple[str, int]] = {}  # uri → (text, version)
        self.notices: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self.prompts: list[t.ShowMessageRequestParams] = []
        self.answer_prompt: Callable[[t.ShowMessageRequestParams], str | None] = lambda p: None
        self.prompt_delay_s = 0.0  # a person who takes their time to answer
        self.apply_policy: Callable[[t.ApplyWorkspaceEditParams], bool] = lambda p: True
        self.applied: list[t.ApplyWorkspaceEditParams] = []
        self.progress: list[tuple[str, str | None, str | None]] = []  # (token, kind, message)
        self.encoding = "utf-16"
        # What initialize declares; a test may change these before start().
        self.capabilities: t.ClientCapabilities = client_capabilities(CLIENTS[kind])
        # As each editor names itself (none would be taken for Eglot 1.9: lsp/stdio.py).
        self.client_info: t.ClientInfo | None = t.ClientInfo(name=CLIENT_NAMES[kind])
        self.rooted = True  # sends the workspace as its folder and root
        self.violations: list[str] = []  # server messages the capabilities did not allow
        self._register()

    def _register(self) -> None:
        c = self.client

        @c.feature("baton/runChanged")
        async def run_changed(params: Any) -> None:
            self.notices.append(plain(params))
            async with self._changed:
                self._changed.notify_all()

        @c.feature(t.WORKSPACE_APPLY_EDIT)
        async def apply_edit(params: t.ApplyWorkspaceEditParams) -> t.ApplyWorkspaceEditResult:
            self.applied.append(params)
            if not self.apply_policy(params):
                return t.ApplyWorkspaceEditResult(applied=False, failure_reason="declined by the test")
            ok, why = self._apply(params.edit)
            async with self._changed:
                self._changed.notify_all()
            return t.ApplyWorkspaceEditResult(applied=ok, failure_reason=why)

        # Replace pytest-lsp's recorders with ones that also wake the waiting test.
        c.protocol.fm._features.pop(t.PROGRESS, None)
        c.protocol.fm._features.pop(t.WINDOW_SHOW_DOCUMENT, None)
        c.protocol.fm._features.pop(t.WINDOW_SHOW_MESSAGE, None)
        c.protocol.fm._features.pop(t.WINDOW_LOG_MESSAGE, None)

        @c.feature(t.WINDOW_SHOW_MESSAGE)
        async def show_message(params: t.ShowMessageParams) -> None:
            c.messages.append(params)
            async with self._changed:
                self._changed.notify_all()

        @c.feature(t.WINDOW_LOG_MESSAGE)
        async def log_message(params: t.LogMessageParams) -> None:
            c.log_messages.append(params)
            async with self._changed:
                self._changed.notify_all()

        @c.feature(t.WINDOW_SHOW_DOCUMENT)
        async def show_document(params: t.ShowDocumentParams) -> t.ShowDocumentResult:
            c.shown_documents.append(params)
            async with self._changed:
                self._changed.notify_all()
            return t.ShowDocumentResult(success=True)

        @c.feature(t.PROGRESS)
        async def progress(params: t.ProgressParams) -> None:
            value = plain(params.value)
            if not isinstance(value, dict):
                value = {k: getattr(params.value, k, None) for k in ("kind", "message")}
            self.progress.append((str(params.token), value.get("kind"), value.get("message")))
            async with self._changed:
                self._changed.notify_all()

        @c.feature(t.WINDOW_SHOW_MESSAGE_REQUEST)
        async def message_request(params: t.ShowMessageRequestParams) -> t.MessageActionItem | None:
            self.prompts.append(params)
            async with self._changed:  # a test may wait for the question
                self._changed.notify_all()
            await asyncio.sleep(self.prompt_delay_s)
            title = self.answer_prompt(params)
            return t.MessageActionItem(title=title) if title else None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, buffers: dict[str, str] | None = None) -> None:
        """Start the daemon; `buffers` (uri → text) are open from the start, as an editor
        that kept them while its daemon restarted sends them right after initializing."""
        env = {**os.environ, "BATON_CONFIG": str(self.config), "BATON_LOG": "WARNING"}
        await self.client.start_io(sys.executable, "-m", "baton", "serve", env=env)
        result = await self.client.initialize_session(t.InitializeParams(
            capabilities=self.capabilities, client_info=self.client_info,
            root_uri=self.root.as_uri() if self.rooted else None,
            workspace_folders=[t.WorkspaceFolder(uri=self.root.as_uri(), name="ws")]
            if self.rooted else None))
        enc = result.capabilities.position_encoding or "utf-16"
        self.encoding = getattr(enc, "value", enc)
        for uri, text in (buffers or {}).items():
            self._open(uri, text)
        # A first request proves the engine is up (commands wait for it); without a root
        # the engine starts with the first document opened in a project.
        if self.rooted:
            await self.command("baton.runs", {})

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_session(), 10)
        finally:
            await self.client.stop()

    async def kill(self) -> None:
        """The daemon dies without a goodbye (a crash, a killed editor)."""
        server = self.client._server
        assert server is not None
        # A prompt still open (a person who has not answered) dies with the daemon unanswered;
        # taken out of the client's table first, since pygls fails every pending entry on
        # exit and cannot fail a handler's task.
        futures = self.client.protocol._request_futures
        open_prompts = [futures.pop(k) for k, f in list(futures.items()) if isinstance(f, asyncio.Task)]
        server.kill()
        await server.wait()
        for task in open_prompts:
            task.cancel()
        self.client._stop_event.set()
        await self.client.stop()

    # -- editor actions ---------------------------------------------------------------
    def uri(self, rel: str) -> str:
        return (self.root / rel).as_uri()

    def open(self, rel: str) -> None:
        self._open(self.uri(rel), (self.root / rel).read_bytes().decode("utf-8"))

    def _open(self, uri: str, text: str) -> None:
        self.buffers[uri] = (text, 1)
        self.client.text_document_did_open(t.DidOpenTextDocumentParams(
            text_document=t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def text(self, rel: str) -> str:
        return self.buffers[self.uri(rel)][0]

    def type(self, rel: str, old: str, new: str) -> None:
        """The person replaces `old` (which must occur once) with `new` in the buffer."""
        uri = self.uri(rel)
        text, version = self.buffers[uri]
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        start = text.index(old)
        rng = self._range(text, start, start + len(old))
        self._set(uri, text[:start] + new + text[start + len(old):], version + 1,
                  [t.TextDocumentContentChangePartial(range=rng, text=new)])

    def _range(self, text: str, a: int, b: int) -> t.Range:
        def pos(off: int) -> t.Position:
            line = text.count("\n", 0, off)
            col_text = text[text.rfind("\n", 0, off) + 1:off]
            units = {"utf-8": len(col_text.encode("utf-8")),
                     "utf-16": len(col_text.encode("utf-16-le")) // 2}.get(self.encoding, len(col_text))
            return t.Position(line=line, character=units)
        return t.Range(start=pos(a), end=pos(b))

    def _set(self, uri: str, text: str, version: int,
             changes: list[t.TextDocumentContentChangePartial]) -> None:
        self.buffers[uri] = (text, version)
        self.client.text_document_did_change(t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=changes))

    def _declared(self, what: str) -> bool:
        we = self.capabilities.workspace and self.capabilities.workspace.workspace_edit
        ops = [getattr(o, "value", o) for o in (we.resource_operations or [])] if we else []
        if what == "documentChanges":
            return bool(we and (we.document_changes or ops))
        return what in ops

    def _apply(self, edit: t.WorkspaceEdit) -> tuple[bool, str | None]:
        """Apply as a client that does only what it declared: anything else is refused and
        recorded as a violation (the test fails on it)."""
        changes = [t.TextDocumentEdit(text_document=t.OptionalVersionedTextDocumentIdentifier(
            uri=uri, version=None), edits=list(edits)) for uri, edits in (edit.changes or {}).items()]
        if edit.document_changes:
            if not self._declared("documentChanges"):
                self.violations.append("documentChanges")
                return False, "documentChanges are not declared"
            changes = list(edit.document_changes)
        for change in changes:
            kind = {t.CreateFile: "create", t.RenameFile: "rename",
                    t.DeleteFile: "delete"}.get(type(change))
            if kind and not self._declared(kind):
                self.violations.append(kind)
                return False, f"resource operation {kind} is not declared"
        for change in changes:
            if isinstance(change, t.TextDocumentEdit):
                uri = change.text_document.uri
                if uri in self.buffers:
                    text, version = self.buffers[uri]
                    if change.text_document.version not in (None, version):
                        return False, f"version {change.text_document.version} is stale (now {version})"
                    new = apply_text_edits(text, change.edits, self.encoding)
                    # An editor reports its own change back to the server, as full text here.
                    self._set(uri, new, version + 1, [t.TextDocumentContentChangeWholeDocument(text=new)])
                else:
                    path = Path(uri.removeprefix("file://"))
                    text = path.read_bytes().decode("utf-8") if path.exists() else ""
                    path.write_bytes(apply_text_edits(text, change.edits, self.encoding).encode("utf-8"))
            elif isinstance(change, t.CreateFile):
                path = Path(change.uri.removeprefix("file://"))
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    path.write_text("")
            elif isinstance(change, t.RenameFile):
                old, new = (Path(u.removeprefix("file://")) for u in (change.old_uri, change.new_uri))
                new.parent.mkdir(parents=True, exist_ok=True)
                old.rename(new)
            elif isinstance(change, t.DeleteFile):
                Path(change.uri.removeprefix("file://")).unlink(missing_ok=True)
        return True, None

    # -- Baton ------------------------------------------------------------------------
    async def command(self, name: str, arg: Any = None, *, raw_args: list[Any] | None = None) -> Any:
        args = raw_args if raw_args is not None else [arg]
        return await self.client.workspace_execute_command_async(
            t.ExecuteCommandParams(command=name, arguments=args))

    async def run(self, task: str, **extra: Any) -> str:
        result = await self.command("baton.run", {"task": task, **extra})
        return result["runId"]

    async def wait_for(self, predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        try:
            return await until(self._changed, predicate, timeout)
        except TimeoutError:
            states = [(n["runId"][-6:], n["state"], n.get("reason") or n.get("error")) for n in self.notices]
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; notices: {states}") from None

    async def wait_state(self, run_id: str, state: str, timeout: float = WAIT_S) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            for n in self.notices:
                if n["runId"] == run_id and n["state"] == state:
                    return n
                if n["runId"] == run_id and n["state"] in TERMINAL:
                    raise AssertionError(f"run {run_id} ended {n['state']} ({n.get('error') or n.get('reason')}) "
                                         f"instead of reaching {state}; states: {self.states(run_id)}")
            return None
        return await self.wait_for(seen, f"run {run_id} to reach {state}", timeout)

    async def wait_shown(self, uri: str) -> None:
        await self.wait_for(lambda: any(d.uri == uri for d in self.client.shown_documents),
                            f"{uri.rsplit('/', 1)[-1]} to be shown")

    def states(self, run_id: str) -> list[str]:
        out: list[str] = []
        for n in self.notices:
            if n["runId"] == run_id and (not out or out[-1] != n["state"]):
                out.append(n["state"])
        return out
