"""The shadow's budget: bytes stored and files touched, for tool writes and folded
command changes alike, with the config key named when a write is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baton.config import LimitsConfig
from baton.errors import ToolRefused
from baton.sandbox.fold import Folder
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow


def budget(ws: Path, max_bytes: int = 1_000, max_files: int = 3) -> Shadow:
    return Shadow(PathPolicy(ws), ws / ".baton" / "runs" / "b" / "shadow", lambda p: None,
                  LimitsConfig(shadow_max_bytes=max_bytes, shadow_max_files=max_files))


def test_file_count_is_enforced_on_new_files_only(ws: Path) -> None:
    shadow = budget(ws)
    for name in ("a.txt", "b.txt", "c.txt"):
        shadow.write(name, "x\n")
    with pytest.raises(ToolRefused, match=r"shadow_max_files` = 3"):
        shadow.write("d.txt", "x\n")
    with pytest.raises(ToolRefused, match="shadow_max_files"):
        shadow.delete("keep.txt")
    shadow.write("a.txt", "rewritten\n")  # already counted
    assert shadow.read("a.txt") == "rewritten\n" and "d.txt" not in shadow.touched


def test_bytes_count_the_base_and_the_new_content(ws: Path) -> None:
    (ws / "big.txt").write_text("b" * 600)
    shadow = budget(ws)
    with pytest.raises(ToolRefused, match=r"shadow_max_bytes"):
        shadow.write("big.txt", "n" * 500)  # 600 of base + 500 new
    assert "big.txt" not in shadow.touched
    shadow.write("big.txt", "n" * 300)
    with pytest.raises(ToolRefused, match=r"shadow_max_bytes"):
        shadow.write("other.txt", "o" * 200)
    shadow.write("big.txt", "n" * 100)  # shrinking frees room
    shadow.write("other.txt", "o" * 200)


def test_deleting_frees_the_new_content_but_keeps_the_base(ws: Path) -> None:
    shadow = budget(ws, max_files=10)
    shadow.write("tmp.txt", "t" * 900)
    shadow.delete("tmp.txt")
    assert not (shadow.store / "files" / "tmp.txt").exists()
    shadow.write("again.txt", "a" * 900)


def test_a_commands_folded_changes_count(ws: Path, tmp_path: Path) -> None:
    """A command's changes reach the shadow through Shadow.write, so the same budget holds."""
    shadow = budget(ws, max_bytes=100)
    view = tmp_path / "view"
    view.mkdir()
    (view / "out.txt").write_text("z" * 500)
    folder = Folder(shadow, 0)
    with pytest.raises(ToolRefused, match="shadow_max_bytes"):
        folder.file("out.txt", view / "out.txt", os.stat(view / "out.txt"))
    assert shadow.changes() == []


def test_a_reloaded_shadow_keeps_counting(ws: Path) -> None:
    shadow = budget(ws)
    shadow.write("a.txt", "a" * 800)
    again = budget(ws)
    with pytest.raises(ToolRefused, match="shadow_max_bytes"):
        again.write("b.txt", "b" * 300)


def test_rebase_records_the_persons_file_whatever_the_budget(ws: Path) -> None:
    shadow = budget(ws, max_bytes=10)
    shadow.rebase("keep.txt", "what the person has now, longer than the budget\n")
    assert shadow.base("keep.txt") == "what the person has now, longer than the budget\n"


def test_defaults_come_from_the_config() -> None:
    limits = LimitsConfig()
    assert limits.shadow_max_bytes == 256 * 2**20 and limits.shadow_max_files == 5_000
    with pytest.raises(ValueError):
        LimitsConfig(shadow_max_bytes=0)
