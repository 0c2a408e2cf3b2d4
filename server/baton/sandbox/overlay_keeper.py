"""`overlay_keeper SPEC.json CTL_FD ACK_FD`: a long-lived process (an MCP server) in bwrap
over the run's overlay view, and the one way to change that view while it runs.

A command's overlay lives only as long as the command, so overlay_exec brings it up to
date before exec'ing bwrap and the daemon folds the upper layer once it has exited. A
server outlives many agent steps, and the upper layer of a mounted overlay must not be
changed underneath it (the kernel calls that undefined behaviour). So this helper builds
the view as overlay_exec does, starts bwrap as its child instead of becoming it, and stays
in the namespace where the overlay is mounted: before each tool call the daemon sends it
the files the agent changed since, as one JSON line on CTL_FD
(`{"writes": [[rel, base64]], "deletes": [rel]}`), which it applies through the overlay,
no-follow, and answers `ok` or `error: why` on ACK_FD.

Its first line on ACK_FD is `ready` once bwrap runs, or `error: why` (then it exits 125).
It ends with the server: when bwrap exits (it exits with that status), when CTL_FD closes
(the daemon let go), on SIGTERM, or when the daemon dies (parent-death signal); bwrap's
--die-with-parent and its PID namespace take every process of the server down with it.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import select
import signal
import sys
from pathlib import Path

from .overlay_exec import apply_changes, build_view

PR_SET_PDEATHSIG = 1


def _say(ack: int, line: str) -> None:
    os.write(ack, (line.replace("\n", " ") + "\n").encode())


def _serve(ctl: int, ack: int, root: Path, child: int) -> int:
    """Apply change requests until the child exits or the daemon closes CTL_FD."""
    from ..errors import ToolRefused
    pidfd = os.pidfd_open(child)
    buf = b""
    while True:
        ready, _, _ = select.select([ctl, pidfd], [], [])
        if pidfd in ready:
            _, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code
        chunk = os.read(ctl, 1 << 20)
        if not chunk:  # the daemon let go of the server
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return 0
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                req = json.loads(line)
                apply_changes(root, req.get("deletes", []),
                              [(rel, base64.b64decode(data)) for rel, data in req.get("writes", [])])
                _say(ack, "ok")
            except (OSError, ToolRefused, ValueError) as e:
                _say(ack, f"error: {e}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("baton sandbox: usage: overlay_keeper SPEC.json CTL_FD ACK_FD", file=sys.stderr)
        return 125
    spec = json.loads(Path(argv[0]).read_text())
    ctl, ack = int(argv[1]), int(argv[2])
    for fd in (ctl, ack):  # bwrap and the server must not hold the daemon's channel
        os.set_inheritable(fd, False)
    problem = build_view(spec)
    if problem is not None:
        _say(ack, f"error: {problem}")
        return 125
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after unshare, which may reset it
    if os.getppid() != parent:
        return 125
    argv_ = spec["argv"]
    child = os.fork()
    if child == 0:
        code = 125
        try:
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            os.execvp(argv_[0], argv_)
        except OSError as e:
            print(f"baton sandbox: cannot run {argv_[0]}: {e.strerror}", file=sys.stderr)
        finally:
            os._exit(code)
    # The server's stdin and stdout are its own: holding them here would keep the daemon
    # from seeing end-of-file when it exits.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    _say(ack, "ready")
    return _serve(ctl, ack, Path(spec["workspace"]), child)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
