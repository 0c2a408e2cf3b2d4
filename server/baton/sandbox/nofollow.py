"""Symlink-safe file operations inside a directory tree.

Everything Baton writes with the person's full rights (the real workspace when no editor
is attached, a run's shadow store, a command view that earlier commands could change) goes
through here: directories are walked by fd with O_NOFOLLOW, files are replaced by rename,
so no symlink is ever followed, even one planted between a check and the write.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import ToolRefused

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
                                  "Baton never goes through links") from None
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
    _remove(root, rel, directories=True)


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
    _remove(root, rel, directories=False)


def _remove(root: Path, rel: str, *, directories: bool) -> None:
    try:
        fd, name = _open_parent(root, rel, create=False)
    except FileNotFoundError:
        return
    try:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=fd)
        elif directories:
            shutil.rmtree(name, dir_fd=fd)  # fd-based: does not follow links inside either
        else:
            raise ToolRefused(f"{rel} is a directory; only files are deleted")
    finally:
        os.close(fd)


def _umask() -> int:
    # os.umask can only be read by setting it; 0o022 is what nearly everyone has, and the
    # permission bits of a file that already exists are kept anyway.
    return 0o022


def force_rmtree(path: Path) -> None:
    """`shutil.rmtree` that also removes what overlayfs leaves in its work directory (a
    `work/` of mode 000 that an unprivileged owner cannot list until it chmods it). Use it
    to delete a run's shadow store. Links are never followed."""
    def retry(func: Callable[[str], object], p: str, _exc: object) -> None:
        parent = os.path.dirname(p)
        try:
            os.chmod(parent, 0o700, follow_symlinks=False)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700, follow_symlinks=False)
                shutil.rmtree(p, onerror=retry)
            else:
                func(p)
        except FileNotFoundError:
            pass
    if os.path.lexists(path):
        shutil.rmtree(path, onerror=retry)


def read_tree_file(root: Path, rel: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file `root/rel`, reached without following any symlink.
    Raises FileNotFoundError if missing, ToolRefused if a link or non-file is in the way or
    the file is larger than `limit` (checked before reading: a huge file is never loaded).
    O_NONBLOCK: a FIFO swapped in after a check cannot block the open."""
    fd, name = _open_parent(root, rel, create=False)
    try:
        try:
            ffd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                          dir_fd=fd)
        except FileNotFoundError:
            raise
        except OSError:
            raise ToolRefused(f"{rel} is a symlink or cannot be opened") from None
        with os.fdopen(ffd, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise ToolRefused(f"{rel} is a folder, not a file")
            if not stat.S_ISREG(st.st_mode):
                raise ToolRefused(f"{rel} is not a regular file")
            if limit is None:
                return f.read()
            if st.st_size > limit:
                raise ToolRefused(f"{rel} is larger than {limit // 2**20} MiB")
            data = f.read(limit + 1)  # st_size can lie (a file growing, a pseudo-file)
            if len(data) > limit:
                raise ToolRefused(f"{rel} is larger than {limit // 2**20} MiB")
            return data
    finally:
        os.close(fd)


def tree_kind(root: Path, rel: str) -> str | None:
    """What `root/rel` is, looked at without following any symlink: "file", "dir", "link",
    "other" (device, FIFO, socket), or None when it does not exist. ToolRefused if a link
    or a file stands where a parent folder should be."""
    try:
        fd, name = _open_parent(root, rel, create=False)
    except FileNotFoundError:
        return None
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "link" if stat.S_ISLNK(st.st_mode) else "other"
