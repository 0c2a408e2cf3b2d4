"""Baton works only where the person pointed: a workspace folder, else the root, else the
project (nearest .git or .baton) of a document; never /, the home folder or nowhere."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as t

from baton.lsp.workspace_root import declared_root, project_of


def init(*, folders: list[Path] = (), root_uri: Path | None = None, root_path: Path | None = None):
    return t.InitializeParams(
        capabilities=t.ClientCapabilities(),
        workspace_folders=[t.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders] or None,
        root_uri=root_uri.as_uri() if root_uri else None,
        root_path=str(root_path) if root_path else None)


def test_the_first_workspace_folder_then_the_root(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert declared_root(init(folders=[a, b], root_uri=b)) == a
    assert declared_root(init(root_uri=b)) == b
    assert declared_root(init(root_path=a)) == a


def test_no_root_the_filesystem_root_or_home_names_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert declared_root(init()) is None
    assert declared_root(init(root_uri=Path("/"))) is None
    assert declared_root(init(root_uri=tmp_path, root_path=tmp_path)) is None
    assert declared_root(init(root_uri=tmp_path / "missing")) is None


def test_a_document_names_its_project(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    project = tmp_path / "src" / "project"
    (project / ".git").mkdir(parents=True)
    (project / "pkg" / "deep").mkdir(parents=True)
    assert project_of((project / "pkg" / "deep" / "x.py").as_uri()) == project
    (project / "pkg" / ".baton").mkdir()
    assert project_of((project / "pkg" / "deep" / "x.py").as_uri()) == project / "pkg"
    assert project_of((tmp_path / "loose.py").as_uri()) is None
    (tmp_path / ".git").mkdir()  # a home folder under git (dotfiles) is still not a project
    assert project_of((tmp_path / "loose.py").as_uri()) is None
    assert project_of("untitled:Untitled-1") is None
