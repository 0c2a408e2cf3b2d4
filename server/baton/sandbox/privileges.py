"""Give up every privilege before a sandboxed command is exec'd (the Landlock layer; bwrap
does the same with `--cap-drop ALL`).

As root, a command that keeps its capabilities can sethostname, configure interfaces, read
any process's environment (the daemon's API key) and ignore file modes. Dropping them:
the securebits that stop uid 0 from regaining capabilities at exec (when we may set them),
the bounding set (when we may shrink it), the ambient set, then effective, permitted and
inheritable, and finally no_new_privs, so no setuid binary or file capability hands any
back. For an unprivileged user only the last steps have something to do.
"""

from __future__ import annotations

import ctypes

PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 24, 28, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAP_SETPCAP = 8
LINUX_CAPABILITY_VERSION_3 = 0x20080522
# NOROOT, NO_SETUID_FIXUP, KEEP_CAPS, NO_CAP_AMBIENT_RAISE and their locks (KEEP_CAPS
# itself stays off).
SECUREBITS_LOCKED_NOROOT = 0b11101111


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _effective_caps() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return 63


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise OSError(ctypes.get_errno(), f"{what} failed")


def drop_all(libc: ctypes.CDLL) -> None:
    """Drop every capability of this process and set no_new_privs. Raises OSError."""
    if _effective_caps() >> CAP_SETPCAP & 1:
        _check(libc.prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_NOROOT, 0, 0, 0) == 0,
               "prctl(PR_SET_SECUREBITS)")
        for cap in range(_last_cap() + 1):
            _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0,
                   f"prctl(PR_CAPBSET_DROP, {cap})")
    _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0,
           "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()  # all zero: effective, permitted, inheritable
    _check(libc.capset(ctypes.byref(header), data) == 0, "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "prctl(PR_SET_NO_NEW_PRIVS)")
    if _effective_caps():
        raise OSError("capabilities are still effective after dropping them")


def status_flags(text: str) -> dict[str, int]:
    """The capability sets, NoNewPrivs and Seccomp mode from a /proc/PID/status text."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            out[key] = int(value.strip(), 16)
        elif key in ("NoNewPrivs", "Seccomp"):
            out[key] = int(value.strip())
    return out

