"""Confinement: the one gate every file tool passes.

A path from a model is resolved against the workspace root and refused if it escapes
(`..`, absolute paths elsewhere, symlinks leading out, existing or dangling), names
`.git/` (or the directory a `gitdir:` file points at) or `.baton/`, names a device file,
FIFO or socket, or carries a NUL byte or too many characters.

Writes into the real workspace (the terminal host applying edits when no editor is
attached) go through `write_workspace_file` / `delete_workspace_file`: they walk the
directories with `O_NOFOLLOW` directory fds and replace the last component by rename,
so no symlink is ever followed, even one planted between the check and the write.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import ToolRefused

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


# -- symlink-safe writes into a directory tree --------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_parent(root: Path, rel: str, *, create: bool) -> tuple[int, str]:
    """An fd of `rel`'s parent directory reached without following any symlink, and the
    last component's name. Missing directories are created when `create` is set."""
    parts = rel.split("/")
    if not parts or any(p in ("", ".", "..") for p in parts):
        raise ToolRefused(f"{rel}: not a normalised relative path")
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                raise ToolRefused(f"{rel}: {part} is a symlink or not a directory; "
                                  "Baton does not write through links") from None
            os.close(fd)
            fd = nxt
        return fd, parts[-1]
    except BaseException:
        os.close(fd)
        raise


def write_tree_file(root: Path, rel: str, data: bytes | BinaryIO, mode: int | None = None) -> None:
    """Write `data` to `root/rel` atomically, never following a symlink anywhere: the
    directories are walked by fd with O_NOFOLLOW, and the file is replaced by rename, which
    replaces a name rather than following it. An existing file's permission bits are kept
    unless `mode` is given."""
    fd, name = _open_parent(root, rel, create=True)
    try:
        keep = 0o666 & ~_umask()
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise ToolRefused(f"{rel} is a symlink; Baton does not write through links")
            if not stat.S_ISREG(st.st_mode):
                raise ToolRefused(f"{rel} is not a regular file")
            keep = stat.S_IMODE(st.st_mode)
        except FileNotFoundError:
            pass
        mode = keep if mode is None else stat.S_IMODE(mode)
        tmp = f".{name[:200]}.baton-{os.getpid()}.tmp"
        wfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      mode, dir_fd=fd)
        try:
            with os.fdopen(wfd, "wb", closefd=True) as f:
                if isinstance(data, bytes):
                    f.write(data)
                else:
                    shutil.copyfileobj(data, f, 1 << 20)
                os.fchmod(f.fileno(), mode)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)


def remove_tree_entry(root: Path, rel: str) -> None:
    """Remove whatever is at `root/rel` (file, symlink, special file or whole directory)
    without following a symlink on the way; raises ToolRefused if a parent is a link."""
    try:
        fd, name = _open_parent(root, rel, create=False)
    except FileNotFoundError:
        return
    try:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=fd)  # fd-based: does not follow links inside either
        else:
            os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def clear_way(root: Path, rel: str) -> None:
    """Make every parent of `root/rel` a real directory, removing links or files in the way,
    and remove a non-regular entry at `rel` itself. For views a command could have changed:
    the run's shadow says `rel` is a file, so what stands in the way goes. Checked top-down,
    each `lstat` only crosses directories already found real."""
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        try:
            st = os.lstat(root / prefix)
        except FileNotFoundError:
            return
        last = i == len(parts)
        if (not last and not stat.S_ISDIR(st.st_mode)) or (last and not stat.S_ISREG(st.st_mode)):
            remove_tree_entry(root, prefix)
            return


def symlink_tree_entry(root: Path, rel: str, target: str) -> None:
    """Create the symlink `root/rel` -> `target` without following links on the way."""
    fd, name = _open_parent(root, rel, create=True)
    try:
        os.symlink(target, name, dir_fd=fd)
    finally:
        os.close(fd)


def read_regular_file(path: Path, limit: int) -> bytes | None:
    """The bytes of `path` if its last component is a regular file (not a link, FIFO or
    device) of at most `limit` bytes; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        return f.read(limit + 1)[:limit]


def delete_tree_file(root: Path, rel: str) -> None:
    """Remove `root/rel` (a regular file, or a symlink itself, never what it points at)."""
    try:
        fd, name = _open_parent(root, rel, create=False)
    except FileNotFoundError:
        return
    try:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise ToolRefused(f"{rel} is a directory; only files are deleted")
        os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def _umask() -> int:
    # os.umask can only be read by setting it; 0o022 is what nearly everyone has, and the
    # permission bits of a file that already exists are kept anyway.
    return 0o022


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
