"""Folding a command's file changes into the run's shadow.

What a review can show is kept: UTF-8 text files outside `.git/`, `.baton/` and ignored
paths (`.gitignore` plus caches like `__pycache__/`), each checked by the path policy and,
when given, the run's write grant. Binary files, symlinks and refused paths stay in the
command view only and are reported as skipped; changes outside the grant as denied.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pathspec
from pydantic import BaseModel, Field

from ..errors import ToolRefused
from .nofollow import read_regular_file
from .paths import PROTECTED
from .shadow import MAX_FILE_BYTES, Shadow

ALWAYS_IGNORED = ["__pycache__/", "*.pyc", "*.pyo", ".pytest_cache/", ".mypy_cache/",
                  ".ruff_cache/", ".tox/", ".nox/", ".venv/", "venv/", "node_modules/",
                  ".cache/", "*.egg-info/", ".coverage", ".DS_Store"]


class Fold(BaseModel):
    changed: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # "path: reason"
    denied: list[str] = Field(default_factory=list)  # outside the write grant; discarded


def _protected(rel: str) -> bool:
    return any(p.casefold() in PROTECTED for p in rel.split("/"))


class Folder:
    """Applies a command's file changes to the shadow, one file at a time."""

    def __init__(self, shadow: Shadow, since_ns: int,
                 may_write: Callable[[str], bool] | None = None) -> None:
        self.shadow = shadow
        self.since_ns = since_ns
        self.may_write = may_write
        self.result = Fold()
        lines = list(ALWAYS_IGNORED)
        try:
            lines += (shadow.read(".gitignore") or "").splitlines()
        except ToolRefused:
            pass
        self.ignore = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        return _protected(rel) or self.ignore.match_file(rel + "/" if is_dir else rel)

    def _allowed(self, rel: str) -> bool:
        try:
            ok = self.shadow.policy.relative(rel) == rel
        except ToolRefused as e:
            self.result.skipped.append(f"{rel}: {e}")
            return False
        if ok and self.may_write is not None and not self.may_write(rel):
            self.result.denied.append(rel)
            return False
        return ok

    def file(self, rel: str, path: Path, st: os.stat_result) -> None:
        if self.ignored(rel) or not self._allowed(rel):
            return
        fresh = st.st_mtime_ns >= self.since_ns
        if st.st_size > MAX_FILE_BYTES:
            if fresh:
                self.result.skipped.append(f"{rel}: larger than {MAX_FILE_BYTES // 2**20} MiB")
            return
        data = read_regular_file(path, MAX_FILE_BYTES)
        if data is None:
            return
        try:
            if b"\x00" in data:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if fresh:
                self.result.skipped.append(f"{rel}: binary, kept in the command view only")
            return
        try:
            current = self.shadow.read(rel)
        except ToolRefused as e:
            self.result.skipped.append(f"{rel}: {e}")
            return
        if current != text:
            if self.may_write is not None and not self.may_write(rel):
                self.result.denied.append(rel)
                return
            self.shadow.write(rel, text)
            self.result.changed.append(rel)

    def deleted(self, rel: str) -> None:
        if self.ignored(rel) or not self._allowed(rel):
            return
        if self.shadow.exists(rel) and not self.shadow.policy.absolute(rel).is_dir():
            if self.may_write is not None and not self.may_write(rel):
                self.result.denied.append(rel)
                return
            self.shadow.delete(rel)
            self.result.changed.append(rel)

    def other(self, rel: str, st: os.stat_result, what: str) -> None:
        if not self.ignored(rel) and st.st_mtime_ns >= self.since_ns:
            self.result.skipped.append(f"{rel}: {what}, kept in the command view only")


def walk(root: Path, rel: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    try:
        entries = list(os.scandir(root / rel if rel else root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for e in entries:
        yield (f"{rel}/{e.name}" if rel else e.name), e


def files_under(root: Path, rel: str, folder: Folder) -> Iterator[str]:
    """Regular files below `root/rel` (lower layer), not descending into ignored dirs."""
    for sub, e in walk(root, rel):
        if e.is_dir(follow_symlinks=False):
            if not folder.ignored(sub, is_dir=True):
                yield from files_under(root, sub, folder)
        elif e.is_file(follow_symlinks=False):
            yield sub
