"""Workspace trust (PROTOCOL §2): which workspace configuration files the person trusts.

A workspace's `.baton/config.toml` comes with the repository, so anyone who can push to
it could write one. Trust is recorded per file, as the sha256 of its exact bytes, in the
person's own config directory (never in the workspace): a file changed by a `git pull`
no longer matches and is untrusted again.

The workspace file is read once, without following links, as a regular file of bounded
size; its digest and its text come from the same bytes, so what is checked is what is
parsed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CONFIG_DIR, CONFIG_NAME = ".baton", "config.toml"
MAX_CONFIG_BYTES = 1 << 20   # a configuration is a few hundred bytes; this bounds a hostile one
MAX_STORE_BYTES = 16 << 20


class UnsafeConfig(Exception):
    """The workspace file is there but Baton will not read it (why, and how to fix it)."""


@dataclass(frozen=True)
class WorkspaceFile:
    path: Path      # absolute: <resolved workspace>/.baton/config.toml
    text: str
    digest: str     # sha256 of the exact bytes `text` was decoded from


def workspace_config_path(workspace: Path) -> Path:
    return workspace.resolve() / CONFIG_DIR / CONFIG_NAME


def read_workspace_config(workspace: Path) -> WorkspaceFile | None:
    """The workspace's `.baton/config.toml`, or None when there is none.

    Raises UnsafeConfig for a link (the folder or the file), anything but a regular file,
    a file over MAX_CONFIG_BYTES, or bytes that are not UTF-8."""
    path = workspace_config_path(workspace)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        # O_DIRECTORY|O_NOFOLLOW on a link fails with ELOOP or ENOTDIR, depending on the target.
        if e.errno in (errno.ELOOP, errno.ENOTDIR) and path.parent.is_symlink():
            raise UnsafeConfig(f"{path.parent} is a symbolic link; Baton reads workspace "
                               "configuration only from a real folder") from None
        if e.errno == errno.ENOTDIR:
            return None  # a file named .baton: no configuration here
        raise UnsafeConfig(f"{path.parent}: cannot open: {e.strerror}") from None
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
        fd = os.open(CONFIG_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafeConfig(f"{path} is a symbolic link; replace it by a regular file, or point "
                               "BATON_CONFIG at the file it names") from None
        raise UnsafeConfig(f"{path}: cannot open: {e.strerror}") from None
    finally:
        os.close(dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeConfig(f"{path} is not a regular file")
        data = b""
        while len(data) <= MAX_CONFIG_BYTES and (chunk := os.read(fd, MAX_CONFIG_BYTES + 1 - len(data))):
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise UnsafeConfig(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnsafeConfig(f"{path} is not UTF-8 (byte {e.start})") from None
    return WorkspaceFile(path=path, text=text, digest=hashlib.sha256(data).hexdigest())


class TrustStore:
    """`<user config dir>/baton/trusted.json`: {"version": 1, "files": {path: {"sha256", "trusted_at"}}}.

    One digest per file: trusting new content replaces the old. Written atomically (a
    temporary file renamed over it) under a lock, so two `baton trust` at once lose nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def is_trusted(self, file: WorkspaceFile) -> bool:
        entry = self._load().get(str(file.path))
        return isinstance(entry, dict) and entry.get("sha256") == file.digest

    def trust(self, path: Path, digest: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked():
            files = self._load()
            files[str(path)] = {"sha256": digest,
                                "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            self._write({"version": 1, "files": files})

    def _load(self) -> dict[str, object]:
        try:
            with self.path.open("rb") as f:
                raw = f.read(MAX_STORE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as e:
            log.warning("cannot read %s (%s): no workspace configuration is trusted", self.path, e.strerror)
            return {}
        try:
            data = json.loads(raw) if len(raw) <= MAX_STORE_BYTES else None
        except ValueError:
            data = None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict):
            # Unreadable trust is no trust: the worst outcome is being asked again.
            log.warning("%s is not a Baton trust store; no workspace configuration is trusted", self.path)
            return {}
        return files

    def _write(self, data: dict[str, object]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".trusted-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
