"""One engine per workspace.

Two engines on one journal would both resume the same runs and do their work twice: a
`baton run` in a terminal while the editor's Baton serves the folder, two editors on one
folder, or a restarted server whose old engine is still closing. The engine holds an
exclusive lock on the workspace's `engine.lock` (in its state directory, state_dir.py)
while it runs (the kernel drops it if the process dies); a second one waits a little for
it, then says who holds it.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from ..errors import BatonError

POLL_S = 0.05


class WorkspaceBusy(BatonError):
    pass


def acquire(path: Path, wait_s: float) -> int:
    """Lock `path`, waiting up to `wait_s` for another holder to go; returns the fd."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise WorkspaceBusy(
                    f"another Baton (pid {holder}) is already running on this workspace; "
                    "runs are resumed by one Baton at a time. Stop it, or wait for it to finish."
                ) from None
            time.sleep(POLL_S)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def release(fd: int) -> None:
    os.close(fd)  # closing the last descriptor drops the lock
