"""Walking the workspace the way git sees it, shared by `list_files`, `search` and the
repository map.

The walk honours `.gitignore` files (nested ones, `!` re-includes, `.git/info/exclude`) with
git's rule that the deepest matching pattern decides, prunes ignored folders without entering
them, and never lists `.git/`, `.baton/` or `node_modules/`. Measured here: ~0.2 s for a
36,000-entry tree (30,000 files visible, 40-pattern root .gitignore), same file set as
`git ls-files -o --exclude-standard`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pathspec

# Never listed, whatever .gitignore says: git's own data, Baton's runs, installed packages.
MAP_SKIPPED_DIRS = frozenset({".git", ".baton", "node_modules"})
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


class _Ignore:
    """One .gitignore, with a cheap pre-filter: most paths match none of its patterns."""

    def __init__(self, base: str, lines: list[str]) -> None:
        self.base = base  # workspace-relative folder, "" for the root, else ending in "/"
        self.spec = pathspec.GitIgnoreSpec.from_lines(lines)
        # Pre-filter: one alternation of every pattern's regex. A path none of them matches
        # cannot be decided by this file, and that is most paths. Should pathspec's regexes
        # ever not combine, every path goes to the exact check instead.
        regexes = [r.pattern for p in self.spec.patterns
                   if (r := getattr(p, "regex", None)) is not None]
        self.empty = not regexes
        try:
            self.any: re.Pattern[str] | None = re.compile(
                "|".join(f"(?:{_NAMED_GROUP.sub('(?:', r)})" for r in regexes))
        except re.error:
            self.any = None

    def verdict(self, rel: str) -> bool | None:
        """True: ignored, False: re-included by a `!` pattern, None: no pattern matches."""
        sub = rel[len(self.base):]
        if self.empty or (self.any is not None and not self.any.match(sub)):
            return None
        return self.spec.check_file(sub).include


def _read_ignore(path: str, base: str) -> _Ignore | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    return _Ignore(base, lines) if any(ln.strip() and not ln.startswith("#") for ln in lines) else None


def _ignored(rel: str, ignores: list[_Ignore]) -> bool:
    # Git's rule: the deepest .gitignore with a matching pattern decides.
    for ig in reversed(ignores):
        v = ig.verdict(rel)
        if v is not None:
            return v
    return False


def walk_files(root: Path) -> dict[str, list[str]]:
    """Workspace-relative folder ("" for the root, else "a/b/") → sorted file names, as git
    would list them: .gitignore files (nested ones and .git/info/exclude too) honoured."""
    top: list[_Ignore] = []
    for path in (root / ".git" / "info" / "exclude", root / ".gitignore"):
        ig = _read_ignore(str(path), "")
        if ig is not None:
            top.append(ig)
    out: dict[str, list[str]] = {}
    stack: list[tuple[str, str, list[_Ignore]]] = [(str(root), "", top)]
    while stack:
        folder, rel, ignores = stack.pop()
        if rel:
            ig = _read_ignore(os.path.join(folder, ".gitignore"), rel)
            if ig is not None:
                ignores = [*ignores, ig]
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        files: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name not in MAP_SKIPPED_DIRS and not _ignored(f"{rel}{entry.name}/", ignores):
                    stack.append((entry.path, f"{rel}{entry.name}/", ignores))
            elif not _ignored(rel + entry.name, ignores):
                files.append(entry.name)
        if files:
            out[rel] = sorted(files)
    return out


def iter_files(root: Path, sub: str = ".") -> Iterator[str]:
    """Workspace-relative POSIX paths of the files under `sub` ("." for all), sorted."""
    prefix = "" if sub == "." else sub.rstrip("/") + "/"
    for folder, names in sorted(walk_files(root).items()):
        if folder.startswith(prefix):
            yield from (folder + name for name in names)
