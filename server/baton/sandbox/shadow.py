"""A lazy copy-on-write shadow of the workspace for one run.

Reads fall through to the person's open buffers, then disk; writes are captured in the
run's folder and never touch the workspace. Creating a shadow costs nothing and listing
its changes costs O(files touched): the workspace is never copied. The first time a file
is touched its base content (what the agent's change is computed against) and hash are
recorded, so a later merge knows what the person had when the agent read it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from ..errors import ToolRefused
from .nofollow import read_tree_file, write_tree_file
from .paths import PathPolicy

MAX_FILE_BYTES = 8 * 1024 * 1024


class Touched(BaseModel):
    base_exists: bool
    base_sha256: str | None
    deleted: bool = False
    written: bool = False


class Change(BaseModel):
    path: str
    base: str | None  # None: the file did not exist
    new: str | None  # None: the agent deleted it


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read_text_file(path: Path) -> str | None:
    """A workspace file's text, byte-exact (line endings kept); None if it does not exist."""
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ToolRefused(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if b"\x00" in data:
        raise ToolRefused(f"{path.name} is a binary file; agents edit text files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolRefused(f"{path.name} is not UTF-8 text; agents edit text files only") from None


class Shadow:
    def __init__(self, policy: PathPolicy, store: Path,
                 open_text: Callable[[Path], str | None]) -> None:
        self.policy = policy
        self.store = store
        self._open_text = open_text
        self._index_path = store / "index.json"
        self.touched: dict[str, Touched] = {}
        # One command at a time per run: they share the run's command view.
        self.command_lock = asyncio.Lock()
        if self._index_path.exists():  # a run rebuilt after a restart
            raw = json.loads(self._index_path.read_text())
            self.touched = {k: Touched.model_validate(v) for k, v in raw.items()}

    # -- reading -------------------------------------------------------------------
    def live_text(self, rel: str) -> str | None:
        """What the person has now: the open buffer, else disk."""
        path = self.policy.absolute(rel)
        text = self._open_text(path)
        return text if text is not None else read_text_file(path)

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
        path = self.policy.absolute(rel)
        return self._open_text(path) is not None or path.exists()

    def created_paths(self) -> list[str]:
        return [p for p, t in self.touched.items() if t.written and not t.deleted and not t.base_exists]

    def deleted_paths(self) -> set[str]:
        return {p for p, t in self.touched.items() if t.deleted}

    # -- writing -------------------------------------------------------------------
    def _touch(self, rel: str) -> Touched:
        t = self.touched.get(rel)
        if t is None:
            base = self.live_text(rel)
            if base is not None:
                self._put(self.store / "base" / rel, base)
            t = Touched(base_exists=base is not None,
                        base_sha256=sha256(base) if base is not None else None)
            self.touched[rel] = t
        return t

    def write(self, rel: str, content: str) -> None:
        if len(content.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise ToolRefused(f"{rel}: content larger than {MAX_FILE_BYTES // 2**20} MiB")
        t = self._touch(rel)
        self._put(self.store / "files" / rel, content)
        t.written, t.deleted = True, False
        self._save()

    def delete(self, rel: str) -> None:
        if not self.exists(rel):
            raise ToolRefused(f"{rel}: no such file")
        t = self._touch(rel)
        t.written, t.deleted = False, True
        self._save()

    def rebase(self, rel: str, text: str | None) -> None:
        """Record `text` as the new base of `rel` (after it was delivered, or changed outside)."""
        t = self._touch(rel)
        if text is None:
            (self.store / "base" / rel).unlink(missing_ok=True)
        else:
            self._put(self.store / "base" / rel, text)
        t.base_exists = text is not None
        t.base_sha256 = sha256(text) if text is not None else None
        self._save()

    def changes(self) -> list[Change]:
        """Every touched file whose shadow content differs from its base."""
        out = []
        for rel in sorted(self.touched):
            base, new = self.base(rel), self.read(rel)
            if base != new:
                out.append(Change(path=rel, base=base, new=new))
        return out

    def _put(self, path: Path, text: str) -> None:
        # Through dir fds with O_NOFOLLOW: a symlink planted in the store is never followed.
        self.store.mkdir(parents=True, exist_ok=True)
        write_tree_file(self.store, path.relative_to(self.store).as_posix(),
                        text.encode("utf-8", "surrogatepass"))

    def _save(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        tmp = self._index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: v.model_dump() for k, v in self.touched.items()}))
        os.replace(tmp, self._index_path)
