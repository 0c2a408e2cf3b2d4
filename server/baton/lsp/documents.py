"""The open-buffer store: what the editor has, unsaved text included (pygls keeps it in
sync through didOpen/didChange/didClose)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from pygls.workspace import Workspace

from ..runtime.host import OpenDocument


def path_uri(path: Path) -> str:
    return path.as_uri()


def open_document(workspace: Workspace, path: Path) -> OpenDocument | None:
    # pygls keys documents by their unquoted URI.
    doc = workspace.text_documents.get(unquote(path.as_uri()))
    if doc is None:
        return None
    return OpenDocument(text=doc.source, version=doc.version)
