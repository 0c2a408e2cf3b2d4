"""The LSP host: the engine's requests become showDocument, showMessageRequest,
applyEdit, $/progress and diagnostics. Every server→client request is bounded by a
timeout: a client that never answers must not hang a run."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable
from pathlib import Path
from typing import Literal, TypeVar

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from ..edits.diff import text_edits
from ..runtime.host import (ApplyResult, FileEdit, Finding, OpenDocument, PermissionAnswer,
                            Question, RunNotice)
from .documents import open_document

log = logging.getLogger(__name__)
T = TypeVar("T")

SEVERITY = {"error": t.DiagnosticSeverity.Error, "warning": t.DiagnosticSeverity.Warning,
            "info": t.DiagnosticSeverity.Information, "hint": t.DiagnosticSeverity.Hint}


async def _answer(request: Awaitable[T], timeout_s: float) -> T:
    """Wait for the client's answer to a request for at most `timeout_s`.

    Only our wait is cancelled (a timeout, a cancelled run, shutdown), never pygls's own
    future: pygls sets the result of a late answer on that future, and if it was cancelled
    it raises and shows the person "Error in server"."""
    pending = asyncio.ensure_future(request)
    pending.add_done_callback(lambda f: f.cancelled() or f.exception())  # never "never retrieved"
    return await asyncio.wait_for(asyncio.shield(pending), timeout_s)


class LspHost:
    def __init__(self, ls: LanguageServer, root: Path, timeout_s: float) -> None:
        self.ls = ls
        self.root = root
        self.timeout_s = timeout_s
        self._progress_ok: dict[str, bool] = {}
        self._diagnosed: dict[str, set[str]] = defaultdict(set)  # run → uris with findings
        self._findings: dict[str, dict[str, list[t.Diagnostic]]] = defaultdict(dict)

    # -- capabilities -----------------------------------------------------------------
    @property
    def _caps(self) -> t.ClientCapabilities:
        return self.ls.client_capabilities

    def _supports_show_document(self) -> bool:
        w = self._caps.window
        return bool(w and w.show_document and w.show_document.support)

    def _supports_progress(self) -> bool:
        w = self._caps.window
        return bool(w and w.work_done_progress)

    def _supports_annotations(self) -> bool:
        ws = self._caps.workspace
        return bool(ws and ws.workspace_edit and ws.workspace_edit.change_annotation_support)

    # -- Host -------------------------------------------------------------------------
    def open_document(self, path: Path) -> OpenDocument | None:
        return open_document(self.ls.workspace, path)

    def open_paths(self) -> list[Path]:
        return [Path(p) for uri in list(self.ls.workspace.text_documents)
                if (p := to_fs_path(uri))]

    async def run_changed(self, notice: RunNotice) -> None:
        self.ls.protocol.notify("baton/runChanged", notice.model_dump(mode="json", exclude_none=True))

    async def progress(self, run_id: str, kind: Literal["begin", "report", "end"],
                       message: str) -> None:
        token = f"baton-run-{run_id}"
        wdp = self.ls.work_done_progress
        if kind == "begin":
            ok = self._supports_progress()
            if ok:
                try:
                    await _answer(wdp.create_async(token), self.timeout_s)
                except Exception as e:  # the client refused or never answered: no progress UI
                    log.info("progress token refused: %s", e)
                    ok = False
            self._progress_ok[run_id] = ok
            if ok:
                wdp.begin(token, t.WorkDoneProgressBegin(title="Baton", message=message,
                                                         cancellable=False))
        elif self._progress_ok.get(run_id):
            if kind == "report":
                wdp.report(token, t.WorkDoneProgressReport(message=message))
            else:
                wdp.end(token, t.WorkDoneProgressEnd(message=message))
                self._progress_ok.pop(run_id, None)

    async def show_document(self, path: Path, *, take_focus: bool) -> None:
        if not self._supports_show_document():
            self.ls.window_show_message(t.ShowMessageParams(
                type=t.MessageType.Info, message=f"Baton: open {path}"))
            return
        try:
            await _answer(self.ls.window_show_document_async(
                t.ShowDocumentParams(uri=path.as_uri(), external=False, take_focus=take_focus)),
                self.timeout_s)
        except Exception as e:
            log.info("showDocument %s failed: %s", path.name, e)

    async def _choose(self, message: str, options: list[str],
                      kind: t.MessageType = t.MessageType.Info) -> str | None:
        try:
            item = await _answer(self.ls.window_show_message_request_async(
                t.ShowMessageRequestParams(type=kind, message=message,
                                           actions=[t.MessageActionItem(title=o) for o in options])),
                self.timeout_s)
        except TimeoutError:
            log.info("the client did not answer a prompt within %ss", self.timeout_s)
            return None
        except Exception as e:
            log.info("the client could not prompt: %s", e)
            return None
        return item.title if item is not None else None

    async def ask_permission(self, run_id: str, prompt: str) -> PermissionAnswer:
        title = await self._choose(prompt, [a.value for a in PermissionAnswer], t.MessageType.Warning)
        if title is None:
            self.ls.window_log_message(t.LogMessageParams(
                type=t.MessageType.Warning,
                message=f"Baton run {run_id}: no answer to a permission prompt, so it is denied."))
            return PermissionAnswer.DENY
        return PermissionAnswer(title) if title in PermissionAnswer._value2member_map_ else PermissionAnswer.DENY

    async def ask_question(self, run_id: str, question: Question) -> str | None:
        if not question.options:
            return None  # the client prompts from baton/runChanged and answers with baton.run.answer
        return await self._choose(f"Baton: {question.text}", question.options)

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit], *,
                          confirm: bool = False) -> ApplyResult:
        edit = self.workspace_edit(label, edits, confirm=confirm)
        try:
            result = await _answer(self.ls.workspace_apply_edit_async(
                t.ApplyWorkspaceEditParams(edit=edit, label=label)), self.timeout_s)
        except TimeoutError:
            return ApplyResult(applied=False, reason="the editor did not answer in time")
        return ApplyResult(applied=bool(result.applied), reason=result.failure_reason or "")

    def workspace_edit(self, label: str, edits: list[FileEdit], *,
                       confirm: bool = False) -> t.WorkspaceEdit:
        enc = self.ls.workspace.position_encoding or "utf-16"
        encoding = getattr(enc, "value", enc)
        annotate = self._supports_annotations()
        ann_id = "baton" if annotate else None
        changes: list[t.TextDocumentEdit | t.CreateFile | t.RenameFile | t.DeleteFile] = []
        for e in edits:
            uri = (self.root / e.path).as_uri()
            if e.rename_from is not None:
                changes.append(t.RenameFile(old_uri=(self.root / e.rename_from).as_uri(), new_uri=uri,
                                            annotation_id=ann_id,
                                            options=t.RenameFileOptions(overwrite=False,
                                                                        ignore_if_exists=False)))
                if e.before == e.after:
                    continue
            if e.after is None:
                changes.append(t.DeleteFile(uri=uri, annotation_id=ann_id,
                                            options=t.DeleteFileOptions(ignore_if_not_exists=True)))
                continue
            before = e.before
            if before is None and e.rename_from is None:
                changes.append(t.CreateFile(uri=uri, annotation_id=ann_id,
                                            options=t.CreateFileOptions(overwrite=False,
                                                                        ignore_if_exists=True)))
                before = ""
            text_edits_ = text_edits(before, e.after, encoding)  # type: ignore[arg-type]
            if annotate:
                text_edits_ = [t.AnnotatedTextEdit(range=x.range, new_text=x.new_text,
                                                   annotation_id="baton") for x in text_edits_]
            changes.append(t.TextDocumentEdit(
                text_document=t.OptionalVersionedTextDocumentIdentifier(uri=uri, version=e.version),
                edits=text_edits_))
        return t.WorkspaceEdit(
            document_changes=changes,
            change_annotations={"baton": t.ChangeAnnotation(label=label, needs_confirmation=confirm,
                                                            description="Edits made by a Baton run")}
            if annotate else None)

    async def publish_findings(self, run_id: str, findings: list[Finding]) -> None:
        by_uri: dict[str, list[t.Diagnostic]] = defaultdict(list)
        for f in findings:
            line = max(f.line - 1, 0)
            by_uri[(self.root / f.path).as_uri()].append(t.Diagnostic(
                range=t.Range(start=t.Position(line=line, character=0),
                              end=t.Position(line=line + 1, character=0)),
                message=f.message, severity=SEVERITY[f.severity], source="baton",
                code=f"run {run_id}"))
        previous = self._diagnosed[run_id]
        self._findings[run_id] = dict(by_uri)
        for uri in previous | set(by_uri):
            merged = [d for per in self._findings.values() for d in per.get(uri, [])]
            self.ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=merged))
        self._diagnosed[run_id] = set(by_uri)
