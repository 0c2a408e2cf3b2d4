"""The messages between the editor's process and the engine process (lsp/channel.py), one
type per method. TypedDicts, not models: the editor's process loads no pydantic, and a
message is parsed once, by whoever acts on it (the engine's commands by baton/wire.py, an
edit or diagnostics by the editor), never in between.

Editor's process → engine: init, didOpen, didChange, didClose (notifications, in order),
start, command, shutdown (requests). Engine → editor's process: runChanged, progress,
logMessage, publishDiagnostics (notifications), showDocument, choose, applyEdit, message
(requests)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


# -- editor's process → engine ---------------------------------------------------------

class Init(TypedDict):
    root: str
    encoding: str  # the negotiated position encoding: utf-16, utf-8 or utf-32
    client: dict[str, bool]  # ClientSupport.to_json()
    config: dict[str, Any] | None  # initializationOptions.config


class DidOpen(TypedDict):
    uri: str
    languageId: str
    version: int
    text: str


class Change(TypedDict):
    text: str
    range: list[int] | None  # [start line, start character, end line, end character]


class DidChange(TypedDict):
    uri: str
    version: int
    changes: list[Change]


class DidClose(TypedDict):
    uri: str


class Message(TypedDict):
    """window/showMessage (or the log, for "log"), shown as visible text."""
    type: str
    message: str


class Started(TypedDict):
    """The answer to `start`."""
    runsDir: str
    actions: dict[str, list[str]]  # run id → what it allows, for code actions from memory
    timeoutS: float
    messages: list[Message]


class Command(TypedDict):
    name: str  # one of command_names.COMMANDS
    args: list[Any]  # as the client sent them; the engine parses them (baton/wire.py)


# -- engine → editor's process ---------------------------------------------------------

class Progress(TypedDict):
    runId: str
    kind: Literal["begin", "report", "end"]
    message: str


class ShowDocument(TypedDict):
    uri: str
    takeFocus: bool


class Choose(TypedDict):
    """window/showMessageRequest; answered with the title chosen, or None."""
    message: str
    options: list[str]
    warning: NotRequired[bool]
    timeoutS: NotRequired[float | None]  # None: as long as the person takes


class LogMessage(TypedDict):
    message: str
    type: NotRequired[str]  # "error", "warning", "info" or "log"
    warning: NotRequired[bool]


class ApplyEdit(TypedDict):
    label: str
    edit: dict[str, Any]  # a WorkspaceEdit as the editor receives it, built in the engine process


class Applied(TypedDict):
    """The answer to `applyEdit`."""
    applied: bool
    reason: str
