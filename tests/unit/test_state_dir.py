"""Where Baton keeps things: a workspace's state directory is its own (named, hashed from
the resolved root) under $XDG_STATE_HOME, the documents stay in the workspace, and what an
earlier Baton left in the workspace is named, never read."""

from __future__ import annotations

from pathlib import Path

from baton import doctor
from baton.state_dir import Locations, state_home


def test_each_workspace_has_its_own_state_directory(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    (tmp_path / "a" / "proj").mkdir(parents=True)
    (tmp_path / "b" / "proj").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "a" / "proj")
    a = Locations.of(tmp_path / "a" / "proj", env)
    assert a.state.parent == tmp_path / "state" / "baton" / "workspaces"
    assert a.state.name.startswith("proj-")
    assert Locations.of(tmp_path / "b" / "proj", env).state != a.state  # same name, other folder
    assert Locations.of(tmp_path / "link", env) == a  # the resolved root decides
    assert a.runs_dir == tmp_path / "a" / "proj" / ".baton" / "runs"
    assert not a.journal.is_relative_to(a.root) and not a.lock.is_relative_to(a.root)


def test_the_state_home_follows_xdg_and_ignores_a_relative_value(tmp_path: Path) -> None:
    assert state_home({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "baton"
    assert state_home({"XDG_STATE_HOME": "relative/dir"}) == Path.home() / ".local" / "state" / "baton"
    assert state_home({}) == Path.home() / ".local" / "state" / "baton"


def test_prepare_makes_the_documents_folder_ignored_and_the_state_private(tmp_path: Path,
                                                                          monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "ws").mkdir()
    where = Locations.of(tmp_path / "ws")
    where.prepare()
    assert (tmp_path / "ws" / ".baton" / ".gitignore").read_text() == "*\n"
    assert where.runs_dir.is_dir() and where.state.is_dir()
    assert sorted(p.name for p in (tmp_path / "ws" / ".baton").iterdir()) == [".gitignore", "runs"]


def test_doctor_names_the_state_directory_and_an_old_journal(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    ws = tmp_path / "ws"
    (ws / ".baton").mkdir(parents=True)
    (ws / ".baton" / "journal.sqlite3").write_text("from an earlier Baton")
    (ws / ".baton" / "runs" / "r1" / "shadow").mkdir(parents=True)
    out = doctor.report(ws)
    assert out["state"]["directory"] == str(Locations.of(ws).state)
    assert any(p.startswith(".baton/journal.sqlite3, .baton/runs/r1/shadow: not read")
               for p in out["problems"])
