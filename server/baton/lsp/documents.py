"""The open-buffer store: what the editor has, unsaved text included (pygls keeps it in
sync through didOpen/didChange/didClose). Imports no models: the editor's process uses it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from pygls.workspace import TextDocument, Workspace


def open_buffer(workspace: Workspace, path: Path) -> TextDocument | None:
    # pygls keys documents by their unquoted URI.
    return workspace.text_documents.get(unquote(path.as_uri()))
