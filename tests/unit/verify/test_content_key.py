"""The content key: equal for views that show the same files, different otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow
from baton.verify.content_key import tree_state, view_key

SPEC = ["pytest -q", "timeout=300"]


def make_ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    for rel, text in {"a.py": "a = 1\n", "tests/test_a.py": "def test(): pass\n",
                      "node_modules/pkg/index.js": "x\n", ".git/HEAD": "ref: refs/heads/main\n"}.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    return ws


def shadow(ws: Path, name: str) -> Shadow:
    return Shadow(PathPolicy(ws), ws / ".baton" / "runs" / name / "shadow", lambda p: None)


def key(view: Shadow, spec: list[str] = SPEC) -> str:
    return view_key(view, tree_state(view.policy.root), spec)


def bump(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_same_content_same_key_whichever_run(tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    one, two = shadow(ws, "r1"), shadow(ws, "r2")
    assert key(one) == key(two)
    two.write("a.py", "a = 1\n")  # a shadow file equal to disk counts as the disk file
    assert key(one) == key(two)
    two.write("a.py", "a = 2\n")
    assert key(one) != key(two)
    one.write("a.py", "a = 2\n")
    assert key(one) == key(two)
    assert key(one) != key(one, ["ruff check .", "timeout=300"])


def test_workspace_changes_count_and_caches_do_not(tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    view = shadow(ws, "r1")
    before = key(view)
    (ws / "__pycache__").mkdir()
    (ws / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (ws / ".baton" / "other").mkdir(parents=True)
    (ws / ".baton" / "other" / "x").write_text("y")
    bump(ws / "node_modules" / "pkg" / "index.js")  # deep inside a dependency folder
    assert key(view) == before
    bump(ws / "tests" / "test_a.py")
    after = key(view)
    assert after != before
    (ws / "node_modules" / "other").mkdir()  # an install adds a top-level entry
    assert key(view) != after
    bump(ws / ".git" / "HEAD")  # a checkout
    assert key(view) not in (before, after)


def test_deleted_and_written_files(tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    view = shadow(ws, "r1")
    before = key(view)
    view.delete("a.py")
    deleted = key(view)
    assert deleted != before
    (ws / "a.py").unlink()
    assert key(shadow(ws, "r2")) == deleted  # the same files, seen without a shadow
    view.write("new.py", "n = 1\n")
    assert key(view) != deleted


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (ws / "link").symlink_to(outside)
    view = shadow(ws, "r1")
    before = key(view)
    (outside / "deep" / "f.txt").write_text("x")
    assert key(view) == before
    assert "link/deep" not in tree_state(ws)


def test_a_cache_folder_appearing_next_to_tests_changes_nothing(tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    view = shadow(ws, "r1")
    before = key(view)
    (ws / "tests" / "__pycache__").mkdir()
    (ws / "tests" / ".pytest_cache").mkdir()
    assert key(view) == before
