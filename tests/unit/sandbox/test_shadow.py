"""The shadow: lazy, O(touched), and its store never followed through a planted link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baton.errors import ToolRefused
from baton.sandbox.shadow import Shadow


def test_changes_list_only_touched_files(ws: Path, shadow: Shadow) -> None:
    assert shadow.changes() == []
    shadow.write("keep.txt", "new\n")
    shadow.write("created.txt", "c\n")
    shadow.delete("del.txt")
    assert {c.path: (c.base, c.new) for c in shadow.changes()} == {
        "keep.txt": ("old\n", "new\n"), "created.txt": (None, "c\n"), "del.txt": ("gone\n", None)}
    assert (ws / "keep.txt").read_text() == "old\n"


def test_store_symlink_is_not_followed(ws: Path, shadow: Shadow, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (shadow.store / "files").mkdir(parents=True)
    os.symlink(victim, shadow.store / "files" / "src")
    with pytest.raises(ToolRefused):
        shadow.write("src/app.py", "pwned\n")
    assert list(victim.iterdir()) == []


def test_reloaded_shadow_keeps_its_index(ws: Path, shadow: Shadow) -> None:
    shadow.write("keep.txt", "x\n")
    again = Shadow(shadow.policy, shadow.store, lambda p: None)
    assert again.read("keep.txt") == "x\n" and again.base("keep.txt") == "old\n"


def test_store_file_swapped_for_a_link_is_not_read(ws: Path, shadow: Shadow, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("secret\n")
    shadow.write("keep.txt", "x\n")
    stored = shadow.store / "files" / "keep.txt"
    stored.unlink()
    os.symlink(tmp_path / "secret", stored)
    with pytest.raises(ToolRefused):
        shadow.read("keep.txt")
