"""The content key of a command's view: what the command can see, as one hash.

A view is the workspace with a shadow's files laid over it (sandbox/views.py). Its key
hashes the command and how it runs (time limit, network, environment names, layer), the
workspace's tree as a stat walk, and each file the shadow overrides by the sha256 of its
content. Two views that show the same files get the same key, whichever run made them: a
shadow file equal to the file on disk counts as the file on disk. So the base of a run (the
files it touched, at their base) is run once and reused by every round and by later runs on
the same workspace, and a command whose result the journal holds is not run again after a
restart.

Why a stat walk and not git: `git status` would run the repository's own configuration
(an fsmonitor hook is a command), and content hashes of every file cost O(workspace bytes).
File size and mtime change whenever a file is written, so a changed file is never missed;
a rewrite with identical bytes only costs a re-run. Left out: `.baton/` (hidden from
commands) and tools' own caches (`__pycache__`, `.pytest_cache`, ...), which commands of
the person write all the time; `.git` counts by its HEAD, index and packed refs; the
dependency folders (`node_modules`, `.venv`, ...) by their top-level entries, which an
install or upgrade changes, so a workspace with 100,000 installed files walks fast.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import ToolRefused
from ..sandbox.nofollow import read_tree_file
from ..sandbox.shadow import MAX_FILE_BYTES, Shadow

VERSION = "1"  # bump when what an Outcome holds or how output is parsed changes
MAX_ENTRIES = 250_000  # a bigger tree is not keyed (never cached): walking it costs too much
CACHES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SHALLOW = frozenset({"node_modules", ".venv", "venv", ".tox", ".nox"})
GIT_FILES = ("HEAD", "index", "packed-refs")

Tree = dict[str, str]


def _stat(st: os.stat_result) -> str:
    return f"{stat.S_IFMT(st.st_mode):o}:{st.st_size}:{st.st_mtime_ns}"


def tree_state(root: Path) -> Tree | None:
    """path → stat signature of what a command's view shows from the workspace; None when
    the tree has more than MAX_ENTRIES entries. Never follows a link."""
    out: Tree = {}
    git = root / ".git"
    for name in GIT_FILES:
        try:
            out[f".git/{name}"] = _stat(os.lstat(git / name))
        except OSError:
            pass
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = list(os.scandir(root / rel if rel else root))
        except OSError:
            continue
        for e in entries:
            sub = f"{rel}/{e.name}" if rel else e.name
            if e.name in (".git", ".baton") or e.name in CACHES or e.name.endswith(".pyc"):
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                # A folder counts by what is in it: its own mtime moves when a tool adds
                # a cache folder to it.
                out[sub] = "dir"
                if e.name in SHALLOW:
                    _shallow(root, sub, out)
                else:
                    stack.append(sub)
            else:
                out[sub] = _stat(st)
            if len(out) > MAX_ENTRIES:
                return None
    return out


def _shallow(root: Path, rel: str, out: Tree) -> None:
    try:
        for e in os.scandir(root / rel):
            try:
                out[f"{rel}/{e.name}"] = _stat(e.stat(follow_symlinks=False))
            except OSError:
                pass
    except OSError:
        pass


def view_key(view: Shadow, tree: Tree, spec: Sequence[str]) -> str:
    """The key of `view` (a shadow over the workspace `tree` was taken of), for the command
    described by `spec`."""
    entries = dict(tree)
    root = view.policy.root
    for rel, touched in view.touched.items():
        if touched.deleted:
            entries.pop(rel, None)
        elif touched.written:
            data = (view.read(rel) or "").encode("utf-8", "surrogatepass")
            if _on_disk(root, rel) != data:
                entries[rel] = "sha256:" + hashlib.sha256(data).hexdigest()
        # neither: the view shows the file on disk, which the walk has
    h = hashlib.sha256("\0".join([VERSION, *spec]).encode("utf-8", "surrogatepass"))
    for rel in sorted(entries):
        h.update(f"\0{rel}\0{entries[rel]}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _on_disk(root: Path, rel: str) -> bytes | None:
    try:
        return read_tree_file(root, rel, MAX_FILE_BYTES)
    except (OSError, ToolRefused):
        return None
