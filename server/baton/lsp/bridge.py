"""The LSP process's side of the engine's host calls: each becomes a notification or a
request to the editor (baton/runChanged, $/progress, showDocument, showMessageRequest,
applyEdit, publishDiagnostics), in the form the client declared it supports
(lsp/client_support.py). The engine process built the payloads; nothing is decided here
but how to say it to this client.

Nothing an editor does or fails to do blocks a run: progress is best-effort (the token is
created without waiting; a client that answers late gets its begin then, one that never
answers gets no progress), and what a person must act on also reaches clients that show
neither progress nor documents, as window/showMessage with how to act (lsp/notices.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types as t

from . import notices
from .channel_messages import Applied, ApplyEdit, Choose, LogMessage, Progress, ShowDocument
from .client_support import ClientSupport
from .logs import MESSAGE_TYPES

if TYPE_CHECKING:
    from .server import BatonServer

log = logging.getLogger(__name__)
T = TypeVar("T")


async def _answer(request: Awaitable[T], timeout_s: float | None) -> T:
    """Wait for the client's answer to a request for at most `timeout_s` (None: as long as
    it takes).

    Only our wait is cancelled (a timeout, a cancelled run, shutdown), never pygls's own
    future: pygls sets the result of a late answer on that future, and if it was cancelled
    it raises and shows the person "Error in server"."""
    pending = asyncio.ensure_future(request)
    pending.add_done_callback(lambda f: f.cancelled() or f.exception())  # never "never retrieved"
    return await asyncio.wait_for(asyncio.shield(pending), timeout_s)


@dataclass
class _Progress:
    """One run's progress at the client: created (or not yet), and what waits for it."""
    run_id: str
    token: str
    begin: str
    open: bool = False
    report: str | None = None  # the latest report sent before the client accepted the token
    end: str | None = None  # the end, when the run ended before that


class Bridge:
    def __init__(self, ls: BatonServer, support: ClientSupport, timeout_s: float,
                 on_notice: Callable[[dict[str, Any]], None]) -> None:
        self.ls = ls
        self.support = support
        self.timeout_s = timeout_s
        self.on_notice = on_notice
        self._progress: dict[str, _Progress] = {}
        self._said: dict[str, tuple[str, str]] = {}  # run → (state, question) last told

    def handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {"runChanged": self.run_changed, "progress": self.progress,
                "showDocument": self.show_document, "choose": self.choose,
                "logMessage": self.log_message, "applyEdit": self.apply_edit,
                "publishDiagnostics": self.publish_diagnostics}

    def run_changed(self, notice: dict[str, Any]) -> None:
        """`notice` is baton/wire.py's RunChanged as JSON: forwarded as it is."""
        self.on_notice(notice)
        self.ls.protocol.notify("baton/runChanged", notice)
        said = (notice["state"], (notice.get("question") or {}).get("text", ""))
        if self.support.work_done_progress or self.support.baton_prompts \
                or self._said.get(notice["runId"]) == said:
            return
        # A client with no progress UI learns every state in its log, and what the person
        # must act on in a message; one that shows Baton's prompts shows runs from runChanged
        # itself (the VS Code extension: a status item, prompts, a completion notification).
        self._said[notice["runId"]] = said
        self.ls.window_log_message(t.LogMessageParams(type=t.MessageType.Log,
                                                      message=notices.state_line(notice)))
        if (text := notices.to_act_on(notice)) is not None:
            kind = t.MessageType.Error if notice["state"] == "failed" else t.MessageType.Info
            self.ls.window_show_message(t.ShowMessageParams(type=kind, message=text))

    # -- progress ---------------------------------------------------------------------
    def progress(self, p: Progress) -> None:
        run_id, kind, message = p["runId"], p["kind"], p["message"]
        if not self.support.work_done_progress:
            return
        if kind == "begin":
            if run_id not in self._progress:  # a restarted engine begins its runs again
                begun = self._progress[run_id] = _Progress(run_id, f"baton-run-{run_id}", message)
                asyncio.ensure_future(self._create(begun))
            return
        state = self._progress.get(run_id)
        if state is None:
            return
        wdp = self.ls.work_done_progress
        if kind == "report":
            if state.open:
                wdp.report(state.token, t.WorkDoneProgressReport(message=message))
            else:
                state.report = message
            return
        if state.open:
            wdp.end(state.token, t.WorkDoneProgressEnd(message=message))
            self._forget(run_id)
        else:
            state.end = message

    async def _create(self, state: _Progress) -> None:
        wdp = self.ls.work_done_progress
        wdp.tokens.pop(state.token, None)  # a token of an earlier daemon's run: ours again
        try:
            await _answer(wdp.create_async(state.token), None)
        except Exception as e:  # the client refused: no progress UI for this run
            log.info("progress token refused: %s", e)
            self._progress.pop(state.run_id, None)
            return
        if self._progress.get(state.run_id) is not state:
            return
        state.open = True
        wdp.begin(state.token, t.WorkDoneProgressBegin(title="Baton", message=state.begin,
                                                       cancellable=False))
        if state.report is not None:
            wdp.report(state.token, t.WorkDoneProgressReport(message=state.report))
        if state.end is not None:
            wdp.end(state.token, t.WorkDoneProgressEnd(message=state.end))
            self._forget(state.run_id)

    def _forget(self, run_id: str) -> None:
        state = self._progress.pop(run_id, None)
        if state is not None:
            self.ls.work_done_progress.tokens.pop(state.token, None)

    # -- documents, prompts, messages -------------------------------------------------
    async def show_document(self, p: ShowDocument) -> None:
        if not self.support.show_document:
            self.ls.window_show_message(t.ShowMessageParams(
                type=t.MessageType.Info, message=notices.open_this(p["uri"])))
            return
        try:
            await _answer(self.ls.window_show_document_async(
                t.ShowDocumentParams(uri=p["uri"], external=False, take_focus=p["takeFocus"])),
                self.timeout_s)
        except Exception as e:
            log.info("showDocument %s failed: %s", p["uri"].rsplit("/", 1)[-1], e)

    async def choose(self, p: Choose) -> str | None:
        kind = t.MessageType.Warning if p.get("warning") else t.MessageType.Info
        # `timeoutS: null`: no limit, for what a person may take their time over (the workspace
        # trust offer, a run's question or permission).
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

    def log_message(self, p: LogMessage) -> None:
        kind = "warning" if p.get("warning") else p.get("type", "info")
        self.ls.window_log_message(t.LogMessageParams(
            type=MESSAGE_TYPES.get(kind, t.MessageType.Log), message=p["message"]))

    async def apply_edit(self, p: ApplyEdit) -> Applied:
        try:
            result = await _answer(self.ls.protocol.send_json_request(
                "workspace/applyEdit", {"label": p["label"], "edit": p["edit"]}), self.timeout_s)
        except TimeoutError:
            return {"applied": False, "reason": "the editor did not answer in time"}
        reason = result.failure_reason or ""
        if not result.applied and not self.support.transactional:
            # Without transactional failure handling a part may have landed; the delivery
            # reads every file again before it sends anything more.
            where = (f" at change {result.failed_change + 1}" if result.failed_change is not None
                     else "")
            reason = (reason + "; " if reason else "") + f"the editor stopped{where}"
        return {"applied": bool(result.applied), "reason": reason}

    def publish_diagnostics(self, p: dict[str, Any]) -> None:
        """`p` is the PublishDiagnosticsParams the engine process built, as JSON."""
        self.ls.protocol.send_json_notification("textDocument/publishDiagnostics", p)
