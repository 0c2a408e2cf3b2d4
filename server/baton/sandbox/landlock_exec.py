"""`landlock_exec [--write DIR]... [--write-file F]... [--hide PATH]... [--no-network]
-- CMD...`: run CMD under Landlock, seccomp and no capabilities, supervised so that every
process it starts dies with it.

The isolation where namespaces (bubblewrap) are not allowed, e.g. Ubuntu 24.04's AppArmor
rule against unprivileged user namespaces. The supervisor (reaper.py) stays unrestricted;
its forked child restricts itself and execs CMD. That happens in this fresh
single-threaded process, never in a `preexec_fn` (unsafe in a threaded parent):

1. Landlock: writes only beneath the given directories (and to the given files); reads
   everywhere except the `--hide` paths (credential stores in $HOME), which are cut out of
   the read rules (directories along the way stay listable, their other entries readable);
   without network, TCP bind/connect denied (ABI >= 4); signals and abstract unix sockets
   scoped to the sandbox (ABI >= 6). Landlock also refuses mount changes and ptrace of any
   process outside the sandbox, so the daemon's /proc/PID/environ and memory are out of
   reach even for the same user.
2. privileges.drop_all: every capability (as root too) and no_new_privs.
3. seccomp.program: no unix sockets, no other socket family without network, no ptrace,
   io_uring or keyring.

Exit status 125 means the sandbox could not be applied, and nothing was run.
"""

from __future__ import annotations

import ctypes
import os
import sys

from . import privileges, reaper, seccomp

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # same on every arch
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE = 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK = 1 << 6, 1 << 7, 1 << 8, 1 << 9
MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE = 1 << 13, 1 << 14
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
SCOPED_ABI = 6  # the first ABI that scopes signals and abstract unix sockets


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


def read_rules(hidden: list[str]) -> list[tuple[str, int]]:
    """(path, rights) granting reads of the whole filesystem except beneath `hidden`.

    Landlock only adds rights, so "everything but X" is spelt as: every directory on the
    way to a hidden path may be listed (READ_DIR beneath "/"), and every other entry of
    those directories is readable. A hidden path that is a link is hidden at its target
    too; an entry that leads (through a link) into or above a hidden path gets no rule."""
    hide = set()
    for p in hidden:
        hide.add(os.path.abspath(p))
        if os.path.exists(p):
            hide.add(os.path.realpath(p))
    hide.discard("/")
    along = {os.path.dirname(h) for h in hide}
    for a in list(along):
        while a != "/":
            a = os.path.dirname(a)
            along.add(a)
    if not along:
        return [("/", READ_FILE | READ_DIR)]
    rules = [("/", READ_DIR)]

    def leads_to_hidden(path: str) -> bool:
        real = os.path.realpath(path)
        return real in along or real in hide or any(real.startswith(h + "/") for h in hide)

    for parent in sorted(along):
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for e in entries:
            path = e.path if parent != "/" else "/" + e.name
            if leads_to_hidden(path):
                continue
            try:
                is_dir = e.is_dir()  # follows a link: the rule lands on its target
            except OSError:
                continue
            rules.append((path, READ_FILE | READ_DIR if is_dir else READ_FILE))
    return rules


def restrict(write_dirs: list[str], write_files: list[str], no_network: bool,
             hidden: list[str] | None = None) -> int:
    """Create the Landlock ruleset and add its rules; returns its fd, for `enforce`.
    Raises OSError."""
    libc = _libc()
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    writes = write_rights(abi)
    reads = READ_FILE | READ_DIR
    attr = RulesetAttr(handled_access_fs=writes | reads, handled_access_net=0, scoped=0)
    size = 8
    if abi >= 4 and no_network:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP  # no rule: all TCP denied
        size = 16
    if abi >= SCOPED_ABI:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    fd = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                      ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    file_rights = WRITE_FILE | READ_FILE | (TRUNCATE if abi >= 3 else 0)
    try:
        for path, rights in read_rules(hidden or []):
            try:
                _add_rule(libc, fd, path, rights)
            except FileNotFoundError:
                continue  # an entry that vanished since it was listed
        for path, rights in [*((d, writes | reads) for d in write_dirs),
                             *((f, file_rights) for f in write_files)]:
            _add_rule(libc, fd, path, rights)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _add_rule(libc: ctypes.CDLL, ruleset_fd: int, path: str, rights: int) -> None:
    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = PathBeneathAttr(allowed_access=rights, parent_fd=pfd)
        if libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset_fd), ctypes.c_int(RULE_PATH_BENEATH),
                        ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(pfd)


def enforce(ruleset_fd: int, no_network: bool) -> None:
    """Drop every privilege, then restrict this process with the ruleset and the seccomp
    filter. Raises OSError."""
    libc = _libc()
    try:
        privileges.drop_all(libc)  # sets no_new_privs, which both of the next need
        if libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset_fd)
    seccomp.load(seccomp.program(inet=not no_network))


def _sandboxed(write_dirs: list[str], write_files: list[str], hidden: list[str],
               no_network: bool, cmd: list[str]) -> int:
    try:
        enforce(restrict(write_dirs, write_files, no_network, hidden), no_network)
    except (OSError, ValueError) as e:
        print(f"baton sandbox: cannot apply the sandbox: {e}", file=sys.stderr)
        return 125
    return reaper.exec_command(cmd)


def main(argv: list[str]) -> int:
    lists: dict[str, list[str]] = {"--write": [], "--write-file": [], "--hide": []}
    no_network = False
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] in lists and i + 1 < len(argv):
            lists[argv[i]].append(argv[i + 1])
            i += 2
        elif argv[i] == "--no-network":
            no_network = True
            i += 1
        else:
            print(f"baton sandbox: landlock_exec: unknown argument {argv[i]!r}", file=sys.stderr)
            return 125
    cmd = argv[i + 1:]
    if not cmd:
        print("baton sandbox: landlock_exec: no command after --", file=sys.stderr)
        return 125
    return reaper.supervise(lambda: _sandboxed(lists["--write"], lists["--write-file"],
                                               lists["--hide"], no_network, cmd))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
