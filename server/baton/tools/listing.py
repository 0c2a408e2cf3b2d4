"""Walking the workspace the way git sees it: `.gitignore` files (nested ones too) honoured,
`.git/` and `.baton/` never listed. Shared by `list_files`, `search` and the repository map."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pathspec

ALWAYS_SKIPPED = {".git", ".baton"}


def _load_ignore(folder: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())


def iter_files(root: Path, sub: str = ".") -> Iterator[str]:
    """Workspace-relative POSIX paths of the files under `sub`, sorted per folder."""
    start = root if sub == "." else root / sub
    inherited: list[tuple[pathspec.GitIgnoreSpec, Path]] = []
    # Ignore files of the folders above `sub` apply too.
    here = start
    chain = []
    while True:
        chain.append(here)
        if here == root or root not in here.parents:
            break
        here = here.parent
    for folder in reversed(chain):
        spec = _load_ignore(folder)
        if spec is not None:
            inherited.append((spec, folder))
    yield from _walk(root, start, inherited)


def _ignored(path: Path, is_dir: bool, specs: list[tuple[pathspec.GitIgnoreSpec, Path]]) -> bool:
    for spec, base in specs:
        rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        if spec.match_file(rel):
            return True
    return False


def _walk(root: Path, folder: Path,
          specs: list[tuple[pathspec.GitIgnoreSpec, Path]]) -> Iterator[str]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    local = None if any(base == folder for _, base in specs) else _load_ignore(folder)
    if local is not None:
        specs = [*specs, (local, folder)]
    for entry in entries:
        if entry.name in ALWAYS_SKIPPED:
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if _ignored(path, is_dir, specs):
            continue
        if is_dir:
            yield from _walk(root, path, specs)
        elif entry.is_file(follow_symlinks=False):
            yield path.relative_to(root).as_posix()
