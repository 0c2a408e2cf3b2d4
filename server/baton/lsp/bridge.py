"""The LSP process's side of the engine's host calls: each becomes a notification or a
request to the editor (baton/runChanged, $/progress, showDocument, showMessageRequest,
applyEdit, publishDiagnostics). Nothing is decided here; the engine process built the
payloads. Every request to the editor is bounded by a timeout: a client that never
answers must not hang a run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)
T = TypeVar("T")


async def _answer(request: Awaitable[T], timeout_s: float | None) -> T:
    """Wait for the client's answer to a request for at most `timeout_s`.

    Only our wait is cancelled (a timeout, a cancelled run, shutdown), never pygls's own
    future: pygls sets the result of a late answer on that future, and if it was cancelled
    it raises and shows the person "Error in server"."""
    pending = asyncio.ensure_future(request)
    pending.add_done_callback(lambda f: f.cancelled() or f.exception())  # never "never retrieved"
    return await asyncio.wait_for(asyncio.shield(pending), timeout_s)


class Bridge:
    def __init__(self, ls: LanguageServer, timeout_s: float,
                 on_notice: Callable[[dict[str, Any]], None]) -> None:
        self.ls = ls
        self.timeout_s = timeout_s
        self.on_notice = on_notice
        self._progress_ok: dict[str, bool] = {}
        self._converter: Any = None

    def handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {"runChanged": self.run_changed, "progress": self.progress,
                "showDocument": self.show_document, "choose": self.choose,
                "logMessage": self.log_message, "applyEdit": self.apply_edit,
                "publishDiagnostics": self.publish_diagnostics}

    @property
    def converter(self) -> Any:
        if self._converter is None:  # built on the first edit, not at start-up
            from pygls.protocol import default_converter
            self._converter = default_converter()
        return self._converter

    @property
    def _caps(self) -> t.ClientCapabilities:
        return self.ls.client_capabilities

    def run_changed(self, notice: dict[str, Any]) -> None:
        self.on_notice(notice)
        self.ls.protocol.notify("baton/runChanged", notice)

    def progress(self, p: dict[str, Any]) -> Awaitable[None] | None:
        """`begin` waits for the client to accept the token; reports and the end are sent
        at once, in order with the notifications around them."""
        run_id, kind, message = p["runId"], p["kind"], p["message"]
        if kind == "begin":
            return self._begin(run_id, message)
        if self._progress_ok.get(run_id):
            token, wdp = f"baton-run-{run_id}", self.ls.work_done_progress
            if kind == "report":
                wdp.report(token, t.WorkDoneProgressReport(message=message))
            else:
                wdp.end(token, t.WorkDoneProgressEnd(message=message))
                self._progress_ok.pop(run_id, None)
        return None

    async def _begin(self, run_id: str, message: str) -> None:
        token, wdp = f"baton-run-{run_id}", self.ls.work_done_progress
        w = self._caps.window
        ok = bool(w and w.work_done_progress)
        if ok:
            try:
                await _answer(wdp.create_async(token), self.timeout_s)
            except Exception as e:  # the client refused or never answered: no progress UI
                log.info("progress token refused: %s", e)
                ok = False
        self._progress_ok[run_id] = ok
        if ok:
            wdp.begin(token, t.WorkDoneProgressBegin(title="Baton", message=message, cancellable=False))

    async def show_document(self, p: dict[str, Any]) -> None:
        w = self._caps.window
        if not (w and w.show_document and w.show_document.support):
            self.ls.window_show_message(t.ShowMessageParams(
                type=t.MessageType.Info, message=f"Baton: open {p['uri']}"))
            return
        try:
            await _answer(self.ls.window_show_document_async(
                t.ShowDocumentParams(uri=p["uri"], external=False, take_focus=p["takeFocus"])),
                self.timeout_s)
        except Exception as e:
            log.info("showDocument %s failed: %s", p["uri"].rsplit("/", 1)[-1], e)

    async def choose(self, p: dict[str, Any]) -> str | None:
        kind = t.MessageType.Warning if p.get("warning") else t.MessageType.Info
        # `timeoutS: null`: no limit, for what a person may take their time over (the workspace
        # trust offer, a run's question).
        timeout_s = p.get("timeoutS", self.timeout_s)
        try:
            item = await _answer(self.ls.window_show_message_request_async(
                t.ShowMessageRequestParams(type=kind, message=p["message"],
                                           actions=[t.MessageActionItem(title=o) for o in p["options"]])),
                timeout_s)
        except TimeoutError:
            log.info("the client did not answer a prompt within %ss", timeout_s)
            return None
        except Exception as e:
            log.info("the client could not prompt: %s", e)
            return None
        return item.title if item is not None else None

    def log_message(self, p: dict[str, Any]) -> None:
        self.ls.window_log_message(t.LogMessageParams(
            type=t.MessageType.Warning if p.get("warning") else t.MessageType.Info,
            message=p["message"]))

    async def apply_edit(self, p: dict[str, Any]) -> dict[str, Any]:
        edit = self.converter.structure(p["edit"], t.WorkspaceEdit)
        try:
            result = await _answer(self.ls.workspace_apply_edit_async(
                t.ApplyWorkspaceEditParams(edit=edit, label=p["label"])), self.timeout_s)
        except TimeoutError:
            return {"applied": False, "reason": "the editor did not answer in time"}
        return {"applied": bool(result.applied), "reason": result.failure_reason or ""}

    def publish_diagnostics(self, p: dict[str, Any]) -> None:
        self.ls.text_document_publish_diagnostics(
            self.converter.structure(p, t.PublishDiagnosticsParams))
