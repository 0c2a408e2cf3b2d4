"""Which folder Baton works in: only one the person pointed at.

The workspace folders the client sends (else its `rootUri`/`rootPath`) name it. A client
started without a root (a buffer outside any project, `vim.lsp.start` without `root_dir`)
points at nothing, and neither does a root that is the filesystem's root or the home
folder itself (what some clients send when they have no project): then the first
document opened names it, through the root of its project, the nearest folder above it
holding `.git` (or `.baton`, a folder Baton was set up in). With none of these Baton works
nowhere: it says so, and never watches or writes the folder it was started in.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as t
from pygls.uris import to_fs_path

MARKERS = (".git", ".baton")
NO_ROOT = ("Baton has no workspace: the editor named no workspace folder or root, and no file "
           "open in it is inside a project (a folder with .git above the file). Open a file of "
           "your project, or start the language server with that project's folder as its root "
           "(see docs/editors.md).")


def _path(uri: str | None) -> Path | None:
    path = to_fs_path(uri) if uri else None
    return Path(path) if path else None


def _pointed(path: Path | None) -> Path | None:
    """`path` if it names a folder a person works in."""
    if path is None or not path.is_absolute():
        return None
    path = path.resolve()
    if path == Path(path.anchor) or path == Path.home().resolve() or not path.is_dir():
        return None
    return path


def declared_root(params: t.InitializeParams) -> Path | None:
    """The root the client named in `initialize`, if it names one (module docstring)."""
    candidates = [_path(f.uri) for f in params.workspace_folders or []]
    candidates += [_path(params.root_uri),
                   Path(params.root_path) if params.root_path else None]
    for candidate in candidates:
        if (root := _pointed(candidate)) is not None:
            return root
    return None


def project_of(document_uri: str) -> Path | None:
    """The project a document is in: the nearest folder above it with a marker."""
    path = _path(document_uri)
    if path is None or not path.is_absolute():
        return None
    for folder in path.resolve().parents:
        if any((folder / m).exists() for m in MARKERS):
            return _pointed(folder)
    return None
