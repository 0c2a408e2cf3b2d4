"""`python -m baton.sandbox.overlay_exec SPEC.json`: build the shadow view, then exec bwrap.

Run in a fresh single-threaded process (never a `preexec_fn`). It enters a new user and
mount namespace (no privilege needed), mounts an overlay on the workspace's own path
(lower = the real workspace, upper = the run's persistent upper directory), brings the
overlay in line with the run's shadow (files the agent wrote, files it deleted), and execs
bubblewrap on top for the rest: read-only root, private /tmp, no network, new session, no
capabilities, the seccomp filter (from an fd the daemon passed, named in the argv).
The real workspace is the read-only lower layer: nothing the command does reaches it.

SPEC: {"workspace", "upper", "work", "resets": [rel], "writes": [[rel, source]],
"deletes": [rel], "argv": [...]}. Exit status 125: the view could not be built.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import stat
import sys
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_REC, MS_PRIVATE = 0x4000, 0x40000


def _fail(message: str) -> int:
    print(f"baton sandbox: {message}", file=sys.stderr)
    return 125


def enter_namespaces(libc: ctypes.CDLL) -> None:
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(user+mount namespace) failed")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making mounts private failed")


def mount_overlay(libc: ctypes.CDLL, workspace: str, upper: str, work: str) -> None:
    for c in (workspace, upper, work):
        if any(ch in c for ch in ",:\\"):
            raise OSError(f"overlay cannot take a path containing , : or \\: {c}")
    # userxattr: overlay's own metadata (opaque dirs) in user.* xattrs, as an
    # unprivileged mount requires; the fold reads them back.
    opts = f"lowerdir={workspace},upperdir={upper},workdir={work},userxattr".encode()
    if libc.mount(b"overlay", workspace.encode(), b"overlay", 0, opts) != 0:
        raise OSError(ctypes.get_errno(), "mounting the overlay failed")


def build_view(spec: dict) -> str | None:
    """Enter the namespaces, mount the overlay and bring it in line with the run's shadow;
    None when done, else why not (the message starts as the daemon expects)."""
    ws, upper, work = spec["workspace"], Path(spec["upper"]), Path(spec["work"])
    # Local import keeps this helper's start-up small; paths.py imports only errors.py.
    from .nofollow import remove_tree_entry
    from ..errors import ToolRefused
    # Until bwrap runs, this process has all of the person's rights, and the upper layer
    # holds what earlier commands left (symlinks included): every change below goes
    # through no-follow directory fds.
    try:
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        for rel in spec["resets"]:  # back to the live workspace: drop the upper copy
            remove_tree_entry(upper, rel)
        libc = ctypes.CDLL(None, use_errno=True)
        enter_namespaces(libc)
        mount_overlay(libc, ws, str(upper), str(work))
    except (OSError, ToolRefused) as e:
        return f"cannot build the workspace view: {e}"
    try:
        apply_changes(Path(ws), spec["deletes"],
                      [(rel, Path(source).read_bytes())  # the run's own store (state_dir.py)
                       for rel, source in spec["writes"]])
    except (OSError, ToolRefused) as e:
        return f"cannot bring the view up to date with the run's changes: {e}"
    return None


def apply_changes(root: Path, deletes: list[str], writes: list[tuple[str, bytes]]) -> None:
    """Deletes and writes through the mounted overlay, with no-follow dir fds: a symlink a
    previous command left in the view must not carry a write outside (we are not inside
    bwrap). Raises OSError or ToolRefused."""
    from .nofollow import clear_way, delete_tree_file, write_tree_file
    from ..errors import ToolRefused
    for rel in deletes:
        try:
            st = os.lstat(root / rel)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        try:
            delete_tree_file(root, rel)
        except ToolRefused:
            pass  # under a link a command left: not a file of the view itself
    for rel, data in writes:
        clear_way(root, rel)
        write_tree_file(root, rel, data)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        return _fail("usage: overlay_exec SPEC.json")
    spec = json.loads(Path(argv[0]).read_text())
    problem = build_view(spec)
    if problem is not None:
        return _fail(problem)
    argv_ = spec["argv"]
    # Python ignores these; the command must not inherit that through bwrap (`yes | head`).
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    try:
        os.execvp(argv_[0], argv_)
    except OSError as e:
        return _fail(f"cannot run {argv_[0]}: {e.strerror}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
