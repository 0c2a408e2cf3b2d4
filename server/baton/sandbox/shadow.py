"""A lazy copy-on-write shadow of the workspace for one run.

Reads fall through to the person's open buffers, then disk; writes are captured in the
run's folder and never touch the workspace. Creating a shadow costs nothing and listing
its changes costs O(files touched): the workspace is never copied. The first time a file
is touched its base content (what the agent's change is computed against) and hash are
recorded, so a later merge knows what the person had when the agent read it.

Every read of the workspace walks by directory fds with O_NOFOLLOW (nofollow.py), the same
rule the path policy checks: nothing a symlink reaches is read, even a link planted after
the check. What a run stores (bases and new contents) is held to a budget of bytes and
files (`[limits] shadow_max_bytes`, `shadow_max_files`), for tool writes and for what
commands fold in alike, since both go through `write`.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from ..config import LimitsConfig
from ..errors import ToolRefused
from .nofollow import delete_tree_file, read_tree_file, tree_kind, write_tree_file
from .paths import PathPolicy

MAX_FILE_BYTES = 8 * 1024 * 1024


class Touched(BaseModel):
    base_exists: bool
    deleted: bool = False
    written: bool = False


class Change(BaseModel):
    path: str
    base: str | None  # None: the file did not exist
    new: str | None  # None: the agent deleted it


def decode_text(name: str, data: bytes) -> str:
    """A file's bytes as text, or ToolRefused for binary and non-UTF-8 files."""
    if b"\x00" in data:
        raise ToolRefused(f"{name} is a binary file; agents edit text files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolRefused(f"{name} is not UTF-8 text; agents edit text files only") from None


def read_text_file(path: Path) -> str | None:
    """A workspace file's text, byte-exact (line endings kept); None if it does not exist
    or is not a regular file. The last component is opened with O_NOFOLLOW (a symlink is
    refused) and O_NONBLOCK (a FIFO cannot block), and a file over the limit is never read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ToolRefused(f"{path.name} is a symbolic link; Baton never reads through links") from None
        raise ToolRefused(f"{path.name} cannot be read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        data = f.read(MAX_FILE_BYTES + 1)
    if st.st_size > MAX_FILE_BYTES or len(data) > MAX_FILE_BYTES:
        raise ToolRefused(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    return decode_text(path.name, data)


class Shadow:
    def __init__(self, policy: PathPolicy, store: Path,
                 open_text: Callable[[Path], str | None], limits: LimitsConfig | None = None) -> None:
        self.policy = policy
        self.store = store
        self._open_text = open_text
        self.limits = limits or LimitsConfig()
        self._index_path = store / "index.json"
        self.touched: dict[str, Touched] = {}
        # One command at a time per run: they share the run's command view.
        self.command_lock = asyncio.Lock()
        # Writes arrive from worker threads (tools) and the executor (a command's fold).
        self._write_lock = threading.Lock()
        if self._index_path.exists():  # a run rebuilt after a restart
            raw = json.loads(self._index_path.read_text())
            self.touched = {k: Touched.model_validate(v) for k, v in raw.items()}
        # Bytes the store holds per touched path (its base and its new content).
        self._stored = {rel: self._size("base", rel) + self._size("files", rel)
                        for rel in self.touched}

    # -- reading -------------------------------------------------------------------
    def live_text(self, rel: str) -> str | None:
        """What the person has now: the open buffer, else disk. The path on disk is looked
        at without following links first, so a buffer is never returned for a path that
        goes through one (a host may resolve links when it finds a buffer)."""
        kind = tree_kind(self.policy.root, rel)
        if kind == "link":
            raise ToolRefused(f"{rel} is a symbolic link; Baton never reads through links")
        if kind == "dir":
            raise ToolRefused(f"{rel} is a folder, not a file")
        if kind == "other":
            raise ToolRefused(f"{rel} is not a regular file (device, FIFO or socket)")
        text = self._open_text(self.policy.absolute(rel))
        if text is not None or kind is None:
            return text
        try:
            data = read_tree_file(self.policy.root, rel, MAX_FILE_BYTES)
        except FileNotFoundError:
            return None
        return decode_text(rel, data)

    def read(self, rel: str) -> str | None:
        t = self.touched.get(rel)
        if t is not None:
            if t.deleted:
                return None
            if t.written:
                return read_tree_file(self.store / "files", rel).decode("utf-8")
        return self.live_text(rel)

    def base(self, rel: str) -> str | None:
        t = self.touched.get(rel)
        if t is None:
            return self.live_text(rel)
        if not t.base_exists:
            return None
        return read_tree_file(self.store / "base", rel).decode("utf-8")

    def exists(self, rel: str) -> bool:
        t = self.touched.get(rel)
        if t is not None and (t.deleted or t.written):
            return not t.deleted
        return (self._open_text(self.policy.absolute(rel)) is not None
                or tree_kind(self.policy.root, rel) == "file")

    def created_paths(self) -> list[str]:
        return [p for p, t in self.touched.items() if t.written and not t.deleted and not t.base_exists]

    def deleted_paths(self) -> set[str]:
        return {p for p, t in self.touched.items() if t.deleted}

    # -- writing -------------------------------------------------------------------
    def _touch(self, rel: str, new_bytes: int, *, enforce: bool = True) -> Touched:
        """`rel`'s entry, recording its base the first time, once the budget allows the
        store to hold `new_bytes` as rel's new content (plus that base)."""
        t = self.touched.get(rel)
        base: str | None = None
        if t is None:
            base = self.live_text(rel)
            held = len(base.encode("utf-8", "surrogatepass")) if base is not None else 0
        else:
            held = self._size("base", rel)
        if enforce:
            self._check_budget(rel, held + new_bytes, new_file=t is None)
        if t is None:
            if base is not None:
                self._put("base", rel, base.encode("utf-8", "surrogatepass"))
            t = Touched(base_exists=base is not None)
            self.touched[rel] = t
        return t

    def _check_budget(self, rel: str, held: int, *, new_file: bool) -> None:
        limits = self.limits
        if new_file and len(self.touched) + 1 > limits.shadow_max_files:
            raise ToolRefused(
                f"{rel}: this run has already changed {len(self.touched)} files, its budget "
                f"(`[limits] shadow_max_files` = {limits.shadow_max_files}); finish with the "
                "files you have, or the person can raise the limit")
        total = sum(self._stored.values()) - self._stored.get(rel, 0) + held
        if total > limits.shadow_max_bytes:
            raise ToolRefused(
                f"{rel}: this would take what the run stores to {_mib(total)}, over its budget "
                f"of {_mib(limits.shadow_max_bytes)} (`[limits] shadow_max_bytes`); write "
                "less, or the person can raise the limit")

    def write(self, rel: str, content: str) -> None:
        data = content.encode("utf-8", "surrogatepass")
        if len(data) > MAX_FILE_BYTES:
            raise ToolRefused(f"{rel}: content larger than {MAX_FILE_BYTES // 2**20} MiB")
        with self._write_lock:
            t = self._touch(rel, len(data))
            self._put("files", rel, data)
            t.written, t.deleted = True, False
            self._account(rel)
            self._save()

    def delete(self, rel: str) -> None:
        if not self.exists(rel):
            raise ToolRefused(f"{rel}: no such file")
        with self._write_lock:
            t = self._touch(rel, 0)
            t.written, t.deleted = False, True
            delete_tree_file(self.store, f"files/{rel}")  # a deleted file's content is not kept
            self._account(rel)
            self._save()

    def rebase(self, rel: str, text: str | None) -> None:
        """Record `text` as the new base of `rel` (after it was delivered, or changed outside).
        Not held to the budget: the person's own files are what it records."""
        with self._write_lock:
            t = self._touch(rel, 0, enforce=False)
            if text is None:
                (self.store / "base" / rel).unlink(missing_ok=True)
            else:
                self._put("base", rel, text.encode("utf-8", "surrogatepass"))
            t.base_exists = text is not None
            self._account(rel)
            self._save()

    def changes(self) -> list[Change]:
        """Every touched file whose shadow content differs from its base."""
        out = []
        for rel in sorted(self.touched):
            base, new = self.base(rel), self.read(rel)
            if base != new:
                out.append(Change(path=rel, base=base, new=new))
        return out

    def _size(self, kind: str, rel: str) -> int:
        try:
            return os.lstat(self.store / kind / rel).st_size
        except OSError:
            return 0

    def _account(self, rel: str) -> None:
        self._stored[rel] = self._size("base", rel) + self._size("files", rel)

    def _put(self, kind: str, rel: str, data: bytes) -> None:
        # Through dir fds with O_NOFOLLOW: a symlink planted in the store is never followed.
        self.store.mkdir(parents=True, exist_ok=True)
        write_tree_file(self.store, f"{kind}/{rel}", data)

    def _save(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        tmp = self._index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: v.model_dump() for k, v in self.touched.items()}))
        os.replace(tmp, self._index_path)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"
