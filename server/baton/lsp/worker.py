"""Agent work on its own event loop, in a worker thread.

The editor's requests (a code action, a keystroke's didChange) are answered on the LSP
loop; runs step on the engine's loop. A run step that takes a few milliseconds of Python
then delays an editor request by at most a GIL switch (the interval is lowered to
`SWITCH_INTERVAL_S` when serving), not by the whole step.

`CrossLoopHost` is the seam: the engine calls its host from the engine loop, and every
call that talks to the editor is run on the LSP loop, where pygls lives.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:  # importing pydantic models here would slow `baton serve`'s start-up
    from ..runtime.host import (ApplyResult, FileEdit, Finding, OpenDocument,
                                PermissionAnswer, Question, RunNotice)

T = TypeVar("T")
SWITCH_INTERVAL_S = 0.0005


class Worker:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="baton-engine", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the engine loop and wait for it from the calling loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def stop(self) -> None:
        """Cancel whatever still runs there (an isolation probe, a late host call), then stop:
        a task left pending when the loop stops is destroyed with an error in the log."""
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join, 5)


class CrossLoopHost:
    """A host whose editor-facing calls run on `loop` (the LSP loop)."""

    def __init__(self, inner: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.loop = loop

    async def _there(self, coro: Coroutine[Any, Any, T]) -> T:
        # Cancelling the waiting task (a cancelled run) cancels the call on the LSP loop too.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    # Reads of pygls's document store: plain lookups, safe from either thread.
    def open_document(self, path: Path) -> OpenDocument | None:
        return self.inner.open_document(path)

    def open_paths(self) -> list[Path]:
        return self.inner.open_paths()

    async def run_changed(self, notice: RunNotice) -> None:
        await self._there(self.inner.run_changed(notice))

    async def progress(self, run_id: str, kind: Literal["begin", "report", "end"],
                       message: str) -> None:
        await self._there(self.inner.progress(run_id, kind, message))

    async def show_document(self, path: Path, *, take_focus: bool) -> None:
        await self._there(self.inner.show_document(path, take_focus=take_focus))

    async def ask_permission(self, run_id: str, prompt: str) -> PermissionAnswer:
        return await self._there(self.inner.ask_permission(run_id, prompt))

    async def ask_question(self, run_id: str, question: Question) -> str | None:
        return await self._there(self.inner.ask_question(run_id, question))

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit], *,
                          confirm: bool = False) -> ApplyResult:
        return await self._there(self.inner.apply_edits(run_id, label, edits, confirm=confirm))

    async def publish_findings(self, run_id: str, findings: list[Finding]) -> None:
        await self._there(self.inner.publish_findings(run_id, findings))
