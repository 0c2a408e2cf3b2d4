"""Walking the workspace the way git sees it, shared by `list_files`, `search` and the
repository map.

The walk honours `.gitignore` files (nested ones, `!` re-includes, `.git/info/exclude`) with
git's rule that the deepest matching pattern decides, prunes ignored folders without entering
them, and never lists `.git/`, `.baton/` or `node_modules/`. Measured here: ~0.2 s for a
36,000-entry tree (30,000 files visible, 40-pattern root .gitignore), same file set as
`git ls-files -o --exclude-standard`.

It lists regular files only and never goes through a symbolic link (the path policy's
rule): folders are entered by fd with O_NOFOLLOW, so a folder swapped for a link during the
walk is not entered, and `.gitignore` files are read the same way (a linked one would make
the listing an oracle for the lines of a file outside). FIFOs, sockets and devices are not
listed either. Open fds stay bounded by the depth of the tree.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pathspec

from ..sandbox.paths import protected_name

# Never listed, whatever .gitignore says: git's own data and Baton's runs (in any spelling
# the path policy refuses, files named so too), installed packages.
MAP_SKIPPED_DIRS = frozenset({"node_modules"})
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
# Editors' lock, swap, auto-save and backup files: an editor's, not the project's, so never
# listed, searched or shown in the repository map, and not changes the watcher reports.
# Emacs `.#name` (lock) and `#name#` (auto-save), `name~` (Emacs and Vim backups), Vim's
# `.name.swp` (and .swo, .swx …), Kate's `.name.kate-swp`.
EDITOR_SCRATCH = (r"^\.#", r"^#.*#$", r"~$", r"^\..+\.sw[a-z]$", r"^\..+\.kate-swp$")
_SCRATCH = re.compile("|".join(EDITOR_SCRATCH))


def editor_scratch(name: str) -> bool:
    """Whether a file named `name` is an editor's lock, swap or backup file."""
    return _SCRATCH.search(name) is not None


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


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_IGNORE_BYTES = 1 << 20


def _read_ignore(dir_fd: int, name: str, base: str) -> _Ignore | None:
    """The ignore file `name` in the folder `dir_fd`, if it is a regular file (not a link)."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        lines = f.read(MAX_IGNORE_BYTES).decode("utf-8", "replace").splitlines()
    return _Ignore(base, lines) if any(ln.strip() and not ln.startswith("#") for ln in lines) else None


def _open_dir(name: str, dir_fd: int | None = None) -> int | None:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError:  # gone, unreadable, or swapped for a link since it was listed
        return None


def _ignored(rel: str, ignores: list[_Ignore]) -> bool:
    # Git's rule: the deepest .gitignore with a matching pattern decides.
    for ig in reversed(ignores):
        v = ig.verdict(rel)
        if v is not None:
            return v
    return False


def walk_files(root: Path, under: str = "") -> dict[str, list[str]]:
    """Workspace-relative folder ("" for the root, else "a/b/") → sorted names of regular
    files, as git would list them: .gitignore files (nested ones and .git/info/exclude too)
    honoured. With `under` ("a/b/"), only that folder's subtree is walked."""
    root_fd = _open_dir(str(root))
    if root_fd is None:
        return {}
    top: list[_Ignore] = []
    git_fd = _open_dir(".git", root_fd)
    info_fd = _open_dir("info", git_fd) if git_fd is not None else None
    for fd, ignore_file in ((info_fd, "exclude"), (root_fd, ".gitignore")):
        ig = _read_ignore(fd, ignore_file, "") if fd is not None else None
        if ig is not None:
            top.append(ig)
    for fd in (info_fd, git_fd):
        if fd is not None:
            os.close(fd)
    out: dict[str, list[str]] = {}
    # Depth-first; each frame holds its folder's fd and the subfolders still to enter.
    stack: list[tuple[int, str, list[_Ignore], Iterator[str]]] = [(root_fd, "", top, iter(()))]
    try:
        stack[0] = (root_fd, "", top, _scan(root_fd, "", top, under, out))
        while stack:
            fd, rel, ignores, pending = stack[-1]
            name = next(pending, None)
            if name is None:
                os.close(stack.pop()[0])
                continue
            sub_fd = _open_dir(name, fd)
            if sub_fd is None:
                continue
            sub = f"{rel}{name}/"
            stack.append((sub_fd, sub, ignores, iter(())))
            ig = _read_ignore(sub_fd, ".gitignore", sub)
            sub_ignores = [*ignores, ig] if ig is not None else ignores
            stack[-1] = (sub_fd, sub, sub_ignores, _scan(sub_fd, sub, sub_ignores, under, out))
    finally:
        for frame in stack:
            os.close(frame[0])
    return out


def _scan(fd: int, rel: str, ignores: list[_Ignore], under: str,
          out: dict[str, list[str]]) -> Iterator[str]:
    """Record the folder's listed files in `out`; the subfolders to enter, in order."""
    try:
        with os.scandir(fd) as it:
            entries = list(it)
    except OSError:
        return iter(())
    files: list[str] = []
    subdirs: list[str] = []
    inside = rel.startswith(under)
    for entry in entries:
        try:
            # d_type (or fstatat by the folder's fd): a link is neither a file nor a folder.
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = not is_dir and entry.is_file(follow_symlinks=False)
        except OSError:
            continue
        if protected_name(entry.name):
            continue
        if is_dir:
            sub = f"{rel}{entry.name}/"
            if (entry.name not in MAP_SKIPPED_DIRS and (sub.startswith(under) or under.startswith(sub))
                    and not _ignored(sub, ignores)):
                subdirs.append(entry.name)
        elif is_file and inside and not editor_scratch(entry.name) and not _ignored(rel + entry.name, ignores):
            files.append(entry.name)
    if files:
        out[rel] = sorted(files)
    return iter(subdirs)


def iter_files(root: Path, sub: str = ".") -> Iterator[str]:
    """Workspace-relative POSIX paths of the files under `sub` ("." for all), sorted."""
    prefix = "" if sub == "." else sub.rstrip("/") + "/"
    for folder, names in sorted(walk_files(root, prefix).items()):
        yield from (folder + name for name in names)


def summarize(paths: list[str], max_lines: int, base: str = "") -> tuple[list[str], int | None]:
    """At most `max_lines` lines for the sorted workspace-relative `paths` under folder
    `base` ("" or "a/b/"): every path when they fit; else files down to the deepest level at
    which they still fit, and each folder below that as `folder/ (N files)`. Returns (lines,
    that level: the folders' depth, -1 when every path is listed, None when one folder alone
    has more files than fit: then its first ones and a count of the rest)."""
    if len(paths) <= max_lines:
        return list(paths), -1
    rel = [p[len(base):] for p in paths]
    depths = [p.count("/") for p in rel]
    best: list[str] | None = None
    level = 0
    for d in range(max(depths) + 1):
        lines = _collapsed(rel, depths, d, max_lines)
        if lines is None:
            break
        best, level = lines, d
    if best is None:  # one folder alone holds too many: its first files, then a count
        lines = _collapsed(rel, depths, 0, len(rel))
        assert lines is not None
        return ([base + line for line in lines[:max_lines - 1]]
                + [f"… and {len(lines) - max_lines + 1:,} more"]), None
    return [base + line for line in best], level


def _collapsed(rel: list[str], depths: list[int], level: int, cap: int) -> list[str] | None:
    """Files `level` folders deep or less, and the folders at depth `level` + 1 with counts;
    None as soon as that is more than `cap` lines."""
    lines: list[str] = []
    folder, count = "", 0
    for path, depth in zip(rel, depths):
        if len(lines) > cap:
            return None
        if count and path.startswith(folder):
            count += 1
            continue
        if count:
            lines.append(f"{folder} ({count:,} file{'s' * (count != 1)})")
            count = 0
        if depth <= level:
            lines.append(path)
        else:
            folder, count = "/".join(path.split("/", level + 1)[:level + 1]) + "/", 1
    if count:
        lines.append(f"{folder} ({count:,} file{'s' * (count != 1)})")
    return lines if len(lines) <= cap else None
