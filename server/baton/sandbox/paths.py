"""Confinement: the one gate every file tool passes.

A path from a model is resolved against the workspace root and refused if it escapes
(`..`, absolute paths elsewhere, symlinks leading out, existing or dangling), names
`.git/` (or the directory a `gitdir:` file points at) or `.baton/`, names a device file,
FIFO or socket, or carries a NUL byte or too many characters.

Writes into the real workspace (the terminal host applying edits when no editor is
attached) go through `write_workspace_file` / `delete_workspace_file`: the policy's check,
then nofollow.py's walk by O_NOFOLLOW directory fds and replacement by rename, so no
symlink is ever followed, even one planted between the check and the write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from ..errors import ToolRefused
from .nofollow import delete_tree_file, write_tree_file

PROTECTED = (".git", ".baton")
MAX_PATH = 1024
MAX_COMPONENT = 255  # bytes, as most filesystems count them


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
            # Any .git or .baton, at any depth (a nested repository's hooks run code too),
            # compared case-insensitively for case-insensitive filesystems.
            if part.casefold() in PROTECTED:
                raise ToolRefused(f"{raw}: {part}/ is off limits to agents")
            parts.append(part)
        if not parts:
            return "."
        rel = "/".join(parts)
        self._check_target(rel, raw)
        return rel

    def _check_target(self, rel: str, raw: str) -> None:
        # Every existing component that is a symlink (dangling ones too) must land inside
        # the root and outside the protected directories; the final object must be a
        # regular file or a directory when it exists.
        current = self.root
        for part in rel.split("/"):
            current = current / part
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                break  # nothing further exists; creating it is decided by the writer
            except OSError as e:
                raise ToolRefused(f"{raw}: cannot be checked ({e.strerror})") from None
            if stat.S_ISLNK(st.st_mode):
                try:
                    target = Path(os.path.realpath(current))
                except (OSError, RuntimeError):
                    raise ToolRefused(f"{raw}: a symlink on the way cannot be resolved") from None
                if not _inside(target, self.root):
                    raise ToolRefused(f"{raw}: a symlink on the way leads outside the workspace")
                self._check_guards(target, raw)
        final = self.root / rel
        self._check_guards(Path(os.path.realpath(final)), raw)
        try:
            st = os.stat(final)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:
            raise ToolRefused(f"{raw}: cannot be checked ({e.strerror})") from None
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise ToolRefused(f"{raw}: not a regular file (device, FIFO or socket)")

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
