"""The workspace walk: regular files only, never through a link, same set when pruned."""

from __future__ import annotations

import os
from pathlib import Path

from baton.tools.listing import iter_files, walk_files


def test_links_fifos_and_linked_folders_are_not_listed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src" / "deep").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a")
    (root / "src" / "deep" / "b.py").write_text("b")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    os.symlink(outside, root / "ext")
    os.symlink(outside / "secret.txt", root / "src" / "leak.txt")
    os.symlink("a.py", root / "src" / "alias.py")
    os.symlink("src", root / "inner")
    os.mkfifo(root / "src" / "pipe")
    assert walk_files(root) == {"src/": ["a.py"], "src/deep/": ["b.py"]}


def test_a_linked_gitignore_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a")
    (tmp_path / "patterns").write_text("*.py\n")
    os.symlink(tmp_path / "patterns", root / ".gitignore")
    os.symlink(tmp_path / "patterns", root / "src" / ".gitignore")
    assert list(iter_files(root)) == ["src/a.py"]


def test_walking_a_subfolder_gives_the_same_files_as_filtering(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for rel in ("a/x.py", "a/b/y.py", "a/b/c/z.log", "ab/w.py", "top.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    (root / ".gitignore").write_text("*.log\n")
    (root / "a" / ".gitignore").write_text("!c/z.log\n")
    everything = list(iter_files(root))
    for sub in ("a", "a/b", "ab", "a/b/c"):
        assert list(iter_files(root, sub)) == [p for p in everything if p.startswith(sub + "/")]


def test_git_and_baton_in_any_spelling_are_not_listed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for rel in (".git/config", ".GIT/hooks/x", ".baton/runs/r", "sub/.git", ".git./x", "keep.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    assert list(iter_files(root)) == ["keep.py"]


SCRATCH = (".#notes.md", "#notes.md#", "notes.md~", ".notes.md.swp", ".notes.md.swo",
           "src/.a.py.swx", "src/.a.py.kate-swp", "src/a.py~")


def test_editor_lock_swap_and_backup_files_are_not_listed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for rel in (*SCRATCH, "notes.md", "src/a.py", "src/#hash.py", "src/.swp", "tilde~x"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    assert list(iter_files(root)) == ["notes.md", "tilde~x", "src/#hash.py", "src/.swp", "src/a.py"]


def test_a_listing_too_long_names_folders_with_their_file_counts() -> None:
    from baton.tools.listing import summarize
    paths = sorted(["README.md", "src/main.py"]
                   + [f"pkg/p{i}/m{j}/f{k}.ts" for i in range(3) for j in range(4) for k in range(5)])
    assert summarize(paths, 100) == (paths, -1)
    lines, level = summarize(paths, 10)  # 3 packages fit, 12 modules do not
    assert level == 1 and lines == ["README.md", "pkg/p0/ (20 files)", "pkg/p1/ (20 files)",
                                    "pkg/p2/ (20 files)", "src/main.py"]
    lines, level = summarize([p for p in paths if p.startswith("pkg/p1/")], 5, "pkg/p1/")
    assert level == 0 and lines == [f"pkg/p1/m{j}/ (5 files)" for j in range(4)]
    flat = [f"f{i:03d}" for i in range(50)]  # one folder with more files than fit
    lines, level = summarize(flat, 10)
    assert level is None and lines[:9] == flat[:9] and lines[9] == "… and 41 more"
