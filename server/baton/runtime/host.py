"""The `Host` protocol: how the engine talks to whoever drives it.

The LSP server is one host (`lsp/host.py`), the terminal (`baton run`) another, tests a
third. The engine never imports LSP; a host never makes run decisions.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from ..wire import Question, RunChanged


class PermissionAnswer(StrEnum):
    ONCE = "Allow once"
    RUN = "Allow for this run"
    DENY = "Deny"


class FileEdit(BaseModel):
    """One file's change, computed against `before`: what the person has now.

    `before is None` creates the file; `after is None` deletes it. `version` is the
    open document's version that `before` was read from (None for a closed file).
    `rename_from` moves that file to `path` first (its text is `before`).
    """

    path: str  # relative to the workspace root, forward slashes
    # Defaults, not required: the journal leaves None out (a created file has no `before`).
    before: str | None = None
    after: str | None = None
    version: int | None = None
    rename_from: str | None = None


class ApplyResult(BaseModel):
    applied: bool
    reason: str = ""


class Finding(BaseModel):
    path: str
    line: int = Field(ge=1, default=1)
    message: str
    severity: Literal["error", "warning", "info", "hint"] = "warning"


class OpenDocument(BaseModel):
    text: str
    version: int | None


class Host(Protocol):
    def open_document(self, path: Path) -> OpenDocument | None:
        """The editor's buffer for `path` if it is open (unsaved text included)."""

    def open_paths(self) -> list[Path]:
        """The files the person has open, for the agents' context."""

    async def run_changed(self, notice: RunChanged) -> None: ...

    async def progress(self, run_id: str, kind: Literal["begin", "report", "end"],
                       message: str) -> None: ...

    async def show_document(self, path: Path, *, take_focus: bool) -> None: ...

    async def ask_permission(self, run_id: str, prompt: str) -> PermissionAnswer | None:
        """Ask the person, as long as they take; None when not answered here (a prompt
        dismissed: the answer may still come through `baton.run.answer`). A host where no
        answer can ever come (a terminal that is not interactive) answers DENY."""

    async def ask_question(self, run_id: str, question: Question) -> str | None:
        """Ask directly where the host can (a terminal prompt, a message box with the
        options); None when the answer will come later through `baton.run.answer`."""

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit]) -> ApplyResult:
        """Deliver edits to the person's files (the editor applies them)."""

    async def tell(self, run_id: str, text: str) -> None:
        """Something the person should learn now, unasked, where they look (the editor's
        message): their Apply applied nothing, and why."""

    async def publish_findings(self, run_id: str, findings: list[Finding]) -> None: ...
