"""`reaper -- CMD...`: run CMD and make sure every process it starts ends with it.

A command's children can leave its process group and session (`setsid`, `nohup`, a
double fork), so killing the group misses them. This small supervisor is the parent of
the command and a child subreaper (PR_SET_CHILD_SUBREAPER): whatever the command's
descendants do, orphans are reparented to it, never to init. When the command exits, or
the supervisor is told to stop (SIGTERM from the daemon at timeout or cancel, SIGHUP,
SIGINT), or the daemon dies (PR_SET_PDEATHSIG), it SIGKILLs every descendant, reaps them
all, and exits with the command's status (128+N for a signal).

The bwrap layer gets the same from its PID namespace (its init dies, the kernel kills the
rest); this is for the Landlock layer (landlock_exec runs its sandboxed child under it)
and for unsandboxed commands. It is never itself restricted: sandboxed processes cannot
signal or trace it (Landlock's signal scope and the seccomp filter).

Pdeath signals fire when the *thread* that forked us exits: the daemon spawns commands
from its event loop thread, which lives as long as the daemon.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def _ppid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain ") ".
    return int(data.rsplit(b")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    """Every live process below `root`, parents before children."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            ppid = _ppid_of(int(name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill(pid: int, tree: set[int]) -> None:
    """SIGKILL `pid` through a pidfd, after checking it is still a member of `tree` (the
    pid could have been reaped by a sandboxed parent and reused by a stranger)."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if _ppid_of(pid) in tree:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(fd)


def kill_tree() -> None:
    """SIGKILL every descendant and reap until none is left. Killed parents hand their
    children to us (we are the subreaper), so each round finds what the last one left."""
    me = os.getpid()
    while True:
        found = descendants(me)
        tree = {me, *found}
        for pid in found:
            _kill(pid, tree)
        try:
            os.waitpid(-1, 0)
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def supervise(child: Callable[[], int]) -> int:
    """Fork; the child runs `child()` (which execs, or returns an exit status on failure);
    return the child's exit status once it and every descendant are gone."""
    libc = _libc()
    parent = os.getppid()
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)
    status = 128 + signal.SIGTERM
    try:
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            print(f"baton sandbox: cannot become a subreaper: {os.strerror(ctypes.get_errno())}",
                  file=sys.stderr)
            return 125
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the daemon died before the pdeath signal was armed
            return status
        pid = os.fork()
        if pid == 0:
            _in_child(child, libc)
        while True:
            got, raw = os.waitpid(-1, 0)
            if got == pid:
                code = os.waitstatus_to_exitcode(raw)
                status = code if code >= 0 else 128 - code
                break
    except _Stop:
        pass
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        kill_tree()
    return status


def _in_child(child: Callable[[], int], libc: ctypes.CDLL) -> None:
    code = 125
    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        # Python ignores these; an exec'd command must not inherit that (`yes | head`).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        # Should the supervisor itself be killed, the command goes with it.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        code = child()
    except BaseException as e:  # never return into the supervisor's code in the child
        print(f"baton sandbox: {e}", file=sys.stderr)
    finally:
        os._exit(code)


def exec_command(argv: list[str]) -> int:
    """exec argv, or report why not (127)."""
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        print(f"baton sandbox: cannot run {argv[0]}: {e.strerror}", file=sys.stderr)
    return 127


def main(argv: list[str]) -> int:
    if argv[:1] != ["--"] or len(argv) < 2:
        print("baton sandbox: usage: reaper -- CMD...", file=sys.stderr)
        return 125
    return supervise(lambda: exec_command(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
