"""Running a real editor headless for a scenario: in a session of its own, so the editor,
the Baton server it started and anything else below it are killed as one group, at the
time limit and after it ends."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def run_headless(argv: list[str], cwd: Path, env: dict[str, str],
                 timeout_s: float) -> tuple[int | None, str, str, bool]:
    """(exit status, stdout, stderr, timed out)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        timed_out = True
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), timed_out
