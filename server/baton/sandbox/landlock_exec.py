"""`python -m baton.sandbox.landlock_exec [--write DIR]... [--write-file F]... [--no-network]
-- CMD...`: restrict this process with Landlock, then exec CMD.

The fallback isolation where namespaces (bubblewrap) are not allowed, e.g. Ubuntu 24.04's
AppArmor rule against unprivileged user namespaces. Landlock needs no privilege. It is
applied here, in a fresh single-threaded process, and never in a `preexec_fn` (unsafe in a
threaded parent). Writes are allowed only beneath the given directories (and to the given
files); reads stay open. With `--no-network`, TCP bind/connect are denied (ABI >= 4; UDP
is not covered by Landlock). Signals and abstract unix sockets are scoped (ABI >= 6).
Exit status 125 means the sandbox could not be applied, and nothing was run.
"""

from __future__ import annotations

import ctypes
import os
import sys

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # same on every arch
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
PR_SET_NO_NEW_PRIVS = 38

WRITE_FILE, REMOVE_DIR, REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK = 1 << 6, 1 << 7, 1 << 8, 1 << 9
MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE = 1 << 13, 1 << 14
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        v = _libc().syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                            ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(v), 0)


def write_rights(abi: int) -> int:
    rights = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG
              | MAKE_SOCK | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM)
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


def restrict(write_dirs: list[str], write_files: list[str], no_network: bool) -> None:
    """Apply the ruleset to the calling process (and what it execs). Raises OSError."""
    libc = _libc()
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    fs = write_rights(abi)
    attr = RulesetAttr(handled_access_fs=fs, handled_access_net=0, scoped=0)
    size = 8
    if abi >= 4 and no_network:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP  # no rule: all TCP denied
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    fd = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                      ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    file_rights = WRITE_FILE | (TRUNCATE if abi >= 3 else 0)
    try:
        for path, rights in [*((d, fs) for d in write_dirs), *((f, file_rights) for f in write_files)]:
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = PathBeneathAttr(allowed_access=rights, parent_fd=pfd)
                if libc.syscall(SYS_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(RULE_PATH_BENEATH),
                                ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(pfd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    write_dirs: list[str] = []
    write_files: list[str] = []
    no_network = False
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] in ("--write", "--write-file") and i + 1 < len(argv):
            (write_dirs if argv[i] == "--write" else write_files).append(argv[i + 1])
            i += 2
        elif argv[i] == "--no-network":
            no_network = True
            i += 1
        else:
            print(f"landlock_exec: unknown argument {argv[i]!r}", file=sys.stderr)
            return 125
    cmd = argv[i + 1:]
    if not cmd:
        print("landlock_exec: no command after --", file=sys.stderr)
        return 125
    try:
        restrict(write_dirs, write_files, no_network)
    except OSError as e:
        print(f"landlock_exec: cannot apply the sandbox: {e}", file=sys.stderr)
        return 125
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        print(f"landlock_exec: cannot run {cmd[0]}: {e.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
