"""One engine per workspace: a second waits, then says who holds the lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from baton.runtime.workspace_lock import WorkspaceBusy, acquire, release


def test_a_second_holder_waits_then_is_told_who_holds_it(tmp_path):
    path = tmp_path / "engine.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\nfrom pathlib import Path\nfrom baton.runtime.workspace_lock import acquire\n"
        f"acquire(Path({str(path)!r}), 0); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        with pytest.raises(WorkspaceBusy, match=f"pid {holder.pid}"):
            acquire(path, 0.3)
        assert time.monotonic() - t0 >= 0.3
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock.
    fd = acquire(path, 1.0)
    assert path.read_text() == str(os.getpid())
    release(fd)


def test_a_released_lock_is_taken_at_once(tmp_path):
    fd = acquire(tmp_path / "engine.lock", 0)
    release(fd)
    release(acquire(tmp_path / "engine.lock", 0))
