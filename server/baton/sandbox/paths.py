"""Confinement: the one gate every file tool passes.

A path from a model is resolved against the workspace root and refused if it escapes
(`..`, absolute paths elsewhere), goes through a symbolic link anywhere on the way (even
one that stays inside: see below), names `.git/` (or the directory a `gitdir:` file points
at) or `.baton/` in any spelling a filesystem could take for them, names a device file,
FIFO or socket, or carries a NUL byte or too many characters.

Links are never followed, whether they lead out or not. One rule is what makes the check
and the access agree: reads and writes walk by directory fds with O_NOFOLLOW (nofollow.py),
so a link planted between the check and the access is refused there too, and nothing a
link reaches (outside, `.git/`, an open buffer of the file it points at) is read, listed,
searched or written. A link that stays inside is refused with the path it points to, so a
model can use that path instead. Hard links are out of scope: a hard link *is* the file.

Writes into the real workspace (the terminal host applying edits when no editor is
attached) go through `write_workspace_file` / `delete_workspace_file`: the policy's check,
then nofollow.py's walk by O_NOFOLLOW directory fds and replacement by rename.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path, PurePosixPath

from ..errors import ToolRefused
from .nofollow import delete_tree_file, write_tree_file

PROTECTED = (".git", ".baton")
# NTFS 8.3 short names of the protected folders (what git's own path check refuses too).
SHORT_NAMES = ("git~1", "baton~1")
# Code points HFS+ ignores in names (git's list, CVE-2014-9390): `.g\u200cit` *is* `.git` there.
HFS_IGNORED = dict.fromkeys(map(ord, "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                     "\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"))
MAX_PATH = 1024
MAX_COMPONENT = 255  # bytes, as most filesystems count them


def protected_name(part: str) -> bool:
    """Whether a path component is `.git` or `.baton` as some filesystem (case-insensitive,
    HFS+ ignorables, NTFS trailing dots and spaces or short names) or a reader (fullwidth
    lookalikes) would take it."""
    if part.isascii() and not part.startswith(".") and "~" not in part:
        return False  # most names: the walker asks for every entry of the tree
    name = unicodedata.normalize("NFKC", part.translate(HFS_IGNORED)).casefold().rstrip(". ")
    return name in PROTECTED or name in SHORT_NAMES


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class PathPolicy:
    def __init__(self, root: Path) -> None:
        self.given_root = Path(os.path.abspath(root))
        self.root = root.resolve()
        self._guards = self._protected_dirs()

    def _protected_dirs(self) -> list[Path]:
        """`.git/`, `.baton/` and, when `.git` is a file (worktree, submodule), its target."""
        guards = [self.root / name for name in PROTECTED]
        dotgit = self.root / ".git"
        try:
            if dotgit.is_file() and not dotgit.is_symlink():
                line = dotgit.read_text(errors="replace").splitlines()[0].strip()
                if line.startswith("gitdir:"):
                    target = Path(line[len("gitdir:"):].strip())
                    target = (self.root / target).resolve() if not target.is_absolute() else target.resolve()
                    guards.append(target)
                    common = target / "commondir"
                    if common.is_file():
                        c = Path(common.read_text(errors="replace").strip())
                        guards.append((target / c).resolve() if not c.is_absolute() else c.resolve())
            elif dotgit.is_symlink():
                guards.append(dotgit.resolve())
        except (OSError, IndexError):
            pass
        return guards

    def relative(self, raw: str) -> str:
        """Normalise a model-supplied path to a workspace-relative POSIX path, or refuse."""
        if not isinstance(raw, str) or not raw.strip():
            raise ToolRefused("path must be a non-empty string relative to the workspace root")
        if "\x00" in raw:
            raise ToolRefused("path contains a NUL byte")
        if len(raw) > MAX_PATH:
            raise ToolRefused(f"path is longer than {MAX_PATH} characters")
        p = PurePosixPath(raw)
        if p.is_absolute():
            for root in (self.root, self.given_root):
                try:
                    p = PurePosixPath(Path(raw).relative_to(root).as_posix())
                    break
                except ValueError:
                    continue
            else:
                raise ToolRefused(f"{raw}: outside the workspace; paths are relative to its root")
        parts: list[str] = []
        for part in p.parts:
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise ToolRefused(f"{raw}: leaves the workspace")
                parts.pop()
                continue
            if len(part.encode("utf-8", "surrogatepass")) > MAX_COMPONENT:
                raise ToolRefused(f"{raw}: a path component is longer than {MAX_COMPONENT} bytes")
            # Any .git or .baton, at any depth (a nested repository's hooks run code too).
            if protected_name(part):
                raise ToolRefused(f"{raw}: {part}/ is (or would be taken for) .git/ or .baton/, "
                                  "which are off limits to agents")
            parts.append(part)
        if not parts:
            return "."
        rel = "/".join(parts)
        self._check_target(rel, raw)
        return rel

    def _check_target(self, rel: str, raw: str) -> None:
        # No existing component may be a symlink (dangling ones included); the final object,
        # when it exists, must be a regular file or a directory.
        current = self.root
        for part in rel.split("/"):
            current = current / part
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                break  # nothing further exists; creating it is decided by the writer
            except NotADirectoryError:
                raise ToolRefused(f"{raw}: {current.parent.relative_to(self.root)} is a file, "
                                  "not a folder") from None
            except OSError as e:
                raise ToolRefused(f"{raw}: cannot be checked ({e.strerror})") from None
            if stat.S_ISLNK(st.st_mode):
                raise ToolRefused(self._link_refusal(raw, current))
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise ToolRefused(f"{raw}: not a regular file (device, FIFO or socket)")
        self._check_guards(self.root / rel, raw)

    def _link_refusal(self, raw: str, link: Path) -> str:
        """Why `link` is refused; names its target only when that stays inside and allowed,
        so the model can use the real path (and learns nothing about the outside)."""
        where = link.relative_to(self.root).as_posix()
        try:
            target = Path(os.path.realpath(link))
        except (OSError, RuntimeError):
            target = None
        if target is None or not _inside(target, self.root) or target == self.root \
                or any(_inside(target, g) for g in self._guards):
            return (f"{raw}: {where} is a symbolic link leading outside the workspace or into "
                    ".git/ or .baton/; file tools never follow links")
        inner = target.relative_to(self.root).as_posix()
        return (f"{raw}: {where} is a symbolic link to {inner}; file tools never follow links, "
                f"use {inner} instead")

    def _check_guards(self, target: Path, raw: str) -> None:
        for guard in self._guards:
            if _inside(target, guard):
                raise ToolRefused(f"{raw}: leads into {guard.name}/, which is off limits to agents")

    def absolute(self, rel: str) -> Path:
        return self.root if rel == "." else self.root / rel


def write_workspace_file(policy: PathPolicy, rel: str, text: str) -> None:
    """Write a text file into the real workspace (terminal host, no editor attached)."""
    rel = policy.relative(rel)
    if rel == ".":
        raise ToolRefused("cannot write the workspace root")
    write_tree_file(policy.root, rel, text.encode("utf-8", "surrogatepass"))


def delete_workspace_file(policy: PathPolicy, rel: str) -> None:
    """Delete a file of the real workspace without following a symlink at any component."""
    rel = policy.relative(rel)
    if rel == ".":
        raise ToolRefused("cannot delete the workspace root")
    delete_tree_file(policy.root, rel)
