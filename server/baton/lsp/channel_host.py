"""The engine process's host: what the engine asks of the editor goes over the channel
to the LSP process (lsp/bridge.py), which puts it to the editor. What needs work (the
text edits of a delivery, the diagnostics merged across runs) is built here, in the
engine process, so the editor's process only forwards it.

The open buffers are a mirror of the editor's, kept by the document notifications the
LSP process forwards in order (pygls's own Workspace applies them, in the negotiated
position encoding)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from lsprotocol import types as t
from pygls.protocol import default_converter
from pygls.uris import to_fs_path
from pygls.workspace import Workspace

from ..display import visible
from ..runtime.disk_edits import apply_on_disk, stale
from ..runtime.host import ApplyResult, FileEdit, Finding, OpenDocument, PermissionAnswer
from ..wire import Question, RunChanged
from ..sandbox.paths import PathPolicy
from . import workspace_edit
from .channel import Channel, ChannelClosed
from .channel_messages import ApplyEdit, Choose, LogMessage, Message, Progress, ShowDocument
from .client_support import ClientSupport
from .documents import open_buffer

log = logging.getLogger(__name__)
REPORT_EVERY_S = 0.1
PROMPT_LIMIT = 4000  # a message box the person can still read whole
NOTICE_LIMIT = 4000
SETTLE_S = 1.0  # the longest a delivery waits for the editor to report an edit it applied

SEVERITY = {"error": t.DiagnosticSeverity.Error, "warning": t.DiagnosticSeverity.Warning,
            "info": t.DiagnosticSeverity.Information, "hint": t.DiagnosticSeverity.Hint}


def _shown(question: Question) -> Question:
    """The question as a message box shows it. `RoleSession` already made it visible; this
    is the last gate, for a question journaled before it did."""
    return Question(text=visible(question.text, limit=PROMPT_LIMIT),
                    options=[visible(o, limit=PROMPT_LIMIT) for o in question.options]
                    if question.options else None)


class ChannelHost:
    def __init__(self, channel: Channel, root: Path, workspace: Workspace,
                 support: ClientSupport) -> None:
        self.channel = channel
        self.root = root
        self.workspace = workspace
        self.support = support
        self.policy = PathPolicy(root)
        self.converter = default_converter()
        self._reported: dict[str, float] = {}  # run → when its last progress report went
        self._held: dict[str, str] = {}  # run → the report waiting for its interval
        self._diagnosed: dict[str, set[str]] = defaultdict(set)  # run → uris with findings
        self._findings: dict[str, dict[str, list[t.Diagnostic]]] = defaultdict(dict)
        self._changes: dict[str, int] = defaultdict(int)  # uri → didChange notifications seen
        self._mirror = asyncio.Event()  # set (and replaced) at each of them

    # -- the buffer mirror ------------------------------------------------------------
    def open_document(self, path: Path) -> OpenDocument | None:
        doc = open_buffer(self.workspace, path)
        return None if doc is None else OpenDocument(text=doc.source, version=doc.version)

    def changed(self, uri: str) -> None:
        """The editor reported a change of `uri` (didChange), now in the mirror."""
        self._changes[unquote(uri)] += 1
        self._mirror.set()
        self._mirror = asyncio.Event()

    async def _settle(self, edits: list[FileEdit], before: dict[str, int]) -> None:
        """Once the editor applied `edits`: wait, at most SETTLE_S, until it has reported the
        change of every buffer it holds for them, so what is delivered next is computed
        against the buffer as it is. Neovim reports changes debounced, after its answer (an
        edit computed against the older version would be skipped, or land in the wrong
        place). A buffer already holding the text, or reported changed since `before`
        (counts per uri when the edit was sent), needs no wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_S
        while True:
            waiting = []
            for e in edits:
                uri = unquote((self.root / e.path).as_uri())
                doc = self.open_document(self.root / e.path)
                if (doc is not None and e.after is not None and doc.text != e.after
                        and self._changes[uri] == before.get(uri, 0)):
                    waiting.append(e.path)
            left = deadline - loop.time()
            if not waiting or left <= 0:
                if waiting:
                    log.info("the editor has not reported its change of %s", ", ".join(waiting))
                return
            try:
                await asyncio.wait_for(self._mirror.wait(), left)
            except TimeoutError:
                pass

    def open_paths(self) -> list[Path]:
        return [Path(p) for uri in list(self.workspace.text_documents) if (p := to_fs_path(uri))]

    def _tell(self, method: str, params: Any) -> None:
        """A call with no answer: one message, in order with everything else; dropped when
        the editor's process is gone (this one is closing then)."""
        if not self.channel.closed:
            self.channel.notify(method, params)

    async def _ask(self, method: str, params: Any) -> Any:
        try:
            return await self.channel.request(method, params)
        except ChannelClosed:
            # The editor's process is gone and this one is closing: wait to be cancelled,
            # so the run stops where it is and resumes on the next start instead of failing.
            await asyncio.Event().wait()

    # -- Host -------------------------------------------------------------------------
    async def run_changed(self, notice: RunChanged) -> None:
        params = notice.model_dump(mode="json", exclude_none=True)
        for key in ("task", "routeReason", "error", "reason"):  # clients show these as they are
            if key in params:
                params[key] = visible(params[key], multiline=True, limit=NOTICE_LIMIT)
        if notice.question is not None:
            params["question"] = _shown(notice.question).model_dump(exclude_none=True)
        self._tell("runChanged", params)

    async def progress(self, run_id: str, kind: Literal["begin", "report", "end"],
                       message: str) -> None:
        message = visible(message, limit=NOTICE_LIMIT)  # it carries streamed model text
        params = Progress(runId=run_id, kind=kind, message=message)
        if kind == "begin":  # never waited on: progress must not hold up a run (lsp/bridge.py)
            self._tell("progress", params)
            self._reported[run_id] = time.monotonic()
        elif kind == "end":
            self._held.pop(run_id, None)
            self._reported.pop(run_id, None)
            self._tell("progress", params)
        else:
            self._report(run_id, message)

    def _report(self, run_id: str, message: str) -> None:
        """At most one report per run every REPORT_EVERY_S: a person cannot read faster, and
        a fast model would otherwise keep the editor busy with progress. The latest report
        held back is sent when the interval is over, so the last word is never lost."""
        wait = self._reported.get(run_id, 0.0) + REPORT_EVERY_S - time.monotonic()
        if wait <= 0:
            self._reported[run_id] = time.monotonic()
            self._tell("progress", Progress(runId=run_id, kind="report", message=message))
            return
        first = run_id not in self._held
        self._held[run_id] = message
        if first:
            asyncio.get_running_loop().call_later(wait, self._release, run_id)

    def _release(self, run_id: str) -> None:
        message = self._held.pop(run_id, None)
        if message is not None:
            self._report(run_id, message)

    async def show_document(self, path: Path, *, take_focus: bool) -> None:
        await self._ask("showDocument", ShowDocument(uri=path.as_uri(), takeFocus=take_focus))

    async def _client_prompts(self) -> None:
        """A client that shows Baton's prompts itself (`experimental.batonPrompts`) prompts
        from runChanged and answers by command: nothing is sent, and this waits until the
        command's answer ends the wait (the caller cancels it then)."""
        await asyncio.get_running_loop().create_future()

    async def ask_permission(self, run_id: str, prompt: str) -> PermissionAnswer | None:
        if self.support.baton_prompts:
            await self._client_prompts()
        # As long as the person takes; a closed box leaves it to `baton.run.answer`.
        title = await self._ask("choose", Choose(
            message=visible(prompt, limit=PROMPT_LIMIT),
            options=[a.value for a in PermissionAnswer], warning=True, timeoutS=None))
        if title is None:
            return None
        return PermissionAnswer(title) if title in PermissionAnswer._value2member_map_ else PermissionAnswer.DENY

    async def ask_question(self, run_id: str, question: Question) -> str | None:
        if not question.options:
            return None  # the client prompts from baton/runChanged and answers with baton.run.answer
        if self.support.baton_prompts:
            await self._client_prompts()
        shown = _shown(question)
        options = shown.options or []
        # A question is a durable waiting state, not a timeout: it waits as long as the
        # person takes (a closed box answers None).
        title = await self._ask("choose", Choose(
            message=f"Baton run {run_id}: {shown.text}", options=options, timeoutS=None))
        # The person picked a title as shown; the agent gets its own option back.
        return dict(zip(options, question.options)).get(title, title)

    async def tell(self, run_id: str, text: str) -> None:
        self._tell("message", Message(type="warning", message=visible(text, limit=NOTICE_LIMIT)))

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit]) -> ApplyResult:
        """The editor applies what it declared it can; what it cannot, Baton applies to the
        disk where the editor has no buffer (lsp/workspace_edit.py); nothing lands if either
        part cannot."""
        parts = workspace_edit.split(edits, self.support,
                                     lambda rel: self.open_document(self.root / rel) is not None)
        if parts.refused is not None:
            return ApplyResult(applied=False, reason=parts.refused)
        if parts.on_disk and (why := stale(self.policy, parts.on_disk)) is not None:
            return ApplyResult(applied=False, reason=why)
        if parts.for_editor:
            if not self.support.document_changes and (why := self._moved(parts.for_editor)):
                return ApplyResult(applied=False, reason=why)
            enc = self.workspace.position_encoding or "utf-16"
            edit = workspace_edit.build(label, parts.for_editor, self.support, self.root,
                                        getattr(enc, "value", enc))
            counts = dict(self._changes)
            # The one conversion on the way out: lsprotocol's classes to JSON, here; the
            # editor's process sends it on as it is (lsp/bridge.py).
            result = ApplyResult.model_validate(await self._ask("applyEdit", ApplyEdit(
                label=label, edit=self.converter.unstructure(edit))))
            if not result.applied:
                return result
            await self._settle(parts.for_editor, counts)
        if parts.on_disk:
            result = apply_on_disk(self.policy, parts.on_disk)
            if not result.applied:
                return result
            self._tell("logMessage", LogMessage(message=visible(
                f"{label}: Baton applied " + ", ".join(_what(e) for e in parts.on_disk)
                + " itself, on disk: your editor declares it cannot.", limit=NOTICE_LIMIT)))
        return ApplyResult(applied=True)

    def _moved(self, edits: list[FileEdit]) -> str | None:
        """Without `documentChanges` the editor checks no version: Baton does, just before
        sending (its mirror of the buffer is what the edit was computed against)."""
        for e in edits:
            doc = self.open_document(self.root / e.path)
            if (doc.version if doc else None) != e.version:
                return f"{e.path} changed in the editor meanwhile"
        return None

    async def publish_findings(self, run_id: str, findings: list[Finding]) -> None:
        by_uri: dict[str, list[t.Diagnostic]] = defaultdict(list)
        for f in findings:
            line = max(f.line - 1, 0)
            by_uri[(self.root / f.path).as_uri()].append(t.Diagnostic(
                range=t.Range(start=t.Position(line=line, character=0),
                              end=t.Position(line=line + 1, character=0)),
                message=visible(f.message, multiline=True, limit=NOTICE_LIMIT),
                severity=SEVERITY[f.severity], source="baton",
                code=f"run {run_id}"))
        previous = self._diagnosed[run_id]
        self._findings[run_id] = dict(by_uri)
        for uri in previous | set(by_uri):
            merged = [d for per in self._findings.values() for d in per.get(uri, [])]
            self._tell("publishDiagnostics", self.converter.unstructure(
                t.PublishDiagnosticsParams(uri=uri, diagnostics=merged)))
        self._diagnosed[run_id] = set(by_uri)


def _what(e: FileEdit) -> str:
    op = workspace_edit.operation(e)
    if op == "rename":
        return f"the move of {e.rename_from} to {e.path}"
    return {"create": "the new file", "delete": "the deletion of", "text": "the change to"}[op] + f" {e.path}"
