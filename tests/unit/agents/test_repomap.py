"""The repository map: git's view of the workspace, budgets, order, and speed on 30,000 files."""

from __future__ import annotations

import os
import time
from pathlib import Path

from baton.agents.repomap import repo_map, walk_files


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")


def test_walk_honours_gitignore_nested_negation_and_skips(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.py", "b.log", "keep.log", "build/out.py", "src/x.py", "src/gen.py",
                     "src/sub/y.py", "node_modules/m/index.js", ".git/config", ".baton/runs/r",
                     "docs/tmp.md", "excluded.txt"])
    (tmp_path / ".gitignore").write_text("*.log\n!keep.log\nbuild/\n# comment\n")
    (tmp_path / "src" / ".gitignore").write_text("gen.py\n")
    (tmp_path / "docs" / ".gitignore").write_text("!*.md\n*.md\n")  # last match wins
    (tmp_path / ".git" / "info").mkdir()
    (tmp_path / ".git" / "info" / "exclude").write_text("excluded.txt\n")
    tree = walk_files(tmp_path)
    files = sorted(f"{d}{n}" for d, names in tree.items() for n in names)
    assert files == [".gitignore", "a.py", "keep.log", "src/.gitignore", "src/sub/y.py", "src/x.py"] \
        or files == [".gitignore", "a.py", "docs/.gitignore", "keep.log", "src/.gitignore",
                     "src/sub/y.py", "src/x.py"]
    assert "docs/tmp.md" not in files


def test_a_deeper_gitignore_can_reinclude(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.txt", "sub/b.txt", "sub/c.txt"])
    (tmp_path / ".gitignore").write_text("*.txt\n")
    (tmp_path / "sub" / ".gitignore").write_text("!b.txt\n")
    tree = walk_files(tmp_path)
    assert tree.get("sub/") == [".gitignore", "b.txt"]
    assert "a.txt" not in tree.get("", [])


def test_repo_map_fits_its_budget_prefers_shallow_folders_and_counts_the_rest(tmp_path: Path) -> None:
    _tree(tmp_path, ["README.md", "pyproject.toml"]
          + [f"pkg/mod{i}.py" for i in range(5)]
          + [f"pkg/deep/er/still/f{i}.py" for i in range(50)]
          + [f"zz/{i}.txt" for i in range(3)])
    full = repo_map(tmp_path, 100_000)
    assert full.splitlines()[0].startswith("60 files")
    assert "./  README.md  pyproject.toml" in full and "more files" not in full
    small = repo_map(tmp_path, 200)
    assert len(small) <= 200
    assert "./  README.md" in small and "pkg/deep" not in small
    assert small.splitlines()[-1].startswith("… ") and "more files" in small
    assert repo_map(tmp_path, 200) == small  # deterministic


def test_repo_map_caps_names_per_folder(tmp_path: Path) -> None:
    _tree(tmp_path, [f"big/f{i:03}.py" for i in range(100)])
    out = repo_map(tmp_path, 100_000)
    assert "… +60" in out and "f039.py" in out and "f040.py" not in out


def test_repo_map_of_30000_files_is_fast(tmp_path: Path) -> None:
    # Hard links make the 30,000 files cheap to create; the walk sees 30,000 directory entries.
    src = tmp_path / "one.py"
    src.write_text("x")
    for d in range(300):
        folder = tmp_path / "ws" / f"pkg{d // 30}" / f"mod{d}"
        folder.mkdir(parents=True)
        for f in range(100):
            os.link(src, folder / f"f{f}.py")
    (tmp_path / "ws" / ".gitignore").write_text("*.pyc\n__pycache__/\nbuild/\n*.log\n!keep.log\n")
    start = time.perf_counter()
    out = repo_map(tmp_path / "ws", 20_000)
    elapsed = time.perf_counter() - start
    assert out.startswith("30001 files") and len(out) <= 20_000  # + the .gitignore
    assert elapsed < 5.0, f"repo_map took {elapsed:.2f}s on 30,000 files"


def test_the_prefilter_never_changes_the_verdict() -> None:
    from baton.tools.listing import _Ignore

    lines = ["*.log", "!keep.log", "build/", "/top.txt", "docs/**/*.tmp", "a?c", "[ab].py"]
    fast = _Ignore("", lines)
    exact = _Ignore("", lines)
    exact.any = None  # as if the patterns could not be combined: every path checked exactly
    for path in ["x.log", "keep.log", "d/keep.log", "build/", "src/build/", "build", "top.txt",
                 "sub/top.txt", "docs/a/b/c.tmp", "docs/c.tmp", "abc", "a.py", "c.py", "ok.py"]:
        assert fast.verdict(path) == exact.verdict(path) == exact.spec.check_file(path).include, path
