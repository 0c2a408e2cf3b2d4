"""The seccomp-BPF filter every sandboxed command runs under, assembled here by hand.

Landlock and namespaces have no rule for some ways out, so a syscall filter closes them:

- `socket(AF_UNIX)` is refused: a read-only bind or a Landlock read rule does not stop
  connect() to a host unix socket (an editor's `--listen` socket, docker.sock, the
  session bus), pathname or abstract. `socketpair` stays allowed: pipelines, test
  runners and language tools use it to talk to their own children.
- Other families: with `inet`, IPv4/IPv6 and netlink are allowed (the bwrap layer gives
  the command its own network namespace unless `[permissions] network = true`; Landlock
  with network); without `inet` (Landlock, no network) every family is refused, UDP
  included, which Landlock's own network rules do not cover.
- ptrace, process_vm_readv/writev and pidfd_getfd (another process's memory and files),
  io_uring (its SQEs open and connect sockets without passing through this filter), bpf,
  perf_event_open and userfaultfd (kernel attack surface no build needs), and the kernel
  keyring (keys the person's session holds are readable by a process of the same user).
- A syscall of a foreign ABI (i386 `int 0x80`, x32) kills the process: the numbers above
  mean nothing there, and `socketcall` would reach sockets unfiltered.

It is a few dozen instructions; no library is needed to build it, and it is the same
program for bubblewrap (`--seccomp FD`) and for the Landlock helper (prctl after
no_new_privs). Only x86_64 and aarch64 are known; elsewhere `program()` raises and the
layers that need it are reported unavailable.
"""

from __future__ import annotations

import ctypes
import os
import struct

# seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian on
# both architectures, so the low 32 bits of args[0] are at offset 16).
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16

LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
RET_K = 0x06  # BPF_RET | BPF_K

RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
EPERM = 1

AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
INET_FAMILIES = (AF_INET, AF_INET6, AF_NETLINK)

X32_SYSCALL_BIT = 0x40000000
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
          "io_uring_setup", "io_uring_enter", "io_uring_register",
          "bpf", "perf_event_open", "userfaultfd", "add_key", "request_key", "keyctl")

# From the kernel's unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64).
SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {"socket": 41, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
               "pidfd_getfd": 438, "io_uring_setup": 425, "io_uring_enter": 426,
               "io_uring_register": 427, "bpf": 321, "perf_event_open": 298,
               "userfaultfd": 323, "add_key": 248, "request_key": 249, "keyctl": 250},
    "aarch64": {"socket": 198, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
                "pidfd_getfd": 438, "io_uring_setup": 425, "io_uring_enter": 426,
                "io_uring_register": 427, "bpf": 280, "perf_event_open": 241,
                "userfaultfd": 282, "add_key": 217, "request_key": 218, "keyctl": 219},
}

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def native_arch() -> str:
    machine = os.uname().machine.lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def program(*, inet: bool, arch: str | None = None) -> bytes:
    """The filter as an array of `struct sock_filter` (what bwrap's `--seccomp` reads).
    Raises ValueError on an architecture this module has no syscall numbers for."""
    arch = arch or native_arch()
    if arch not in SYSCALLS:
        raise ValueError(f"no seccomp filter for the {arch} architecture "
                         f"(known: {', '.join(SYSCALLS)})")
    nr = SYSCALLS[arch]
    code: list[tuple[int, int | str, int | str, int]] = [
        (LD_W_ABS, 0, 0, OFF_ARCH),
        (JEQ_K, 0, "kill", AUDIT_ARCH[arch]),
        (LD_W_ABS, 0, 0, OFF_NR),
    ]
    if arch == "x86_64":
        code.append((JGE_K, "kill", 0, X32_SYSCALL_BIT))
    code += [(JEQ_K, "deny", 0, nr[name]) for name in DENIED]
    code += [(JEQ_K, 0, "allow", nr["socket"]),
             (LD_W_ABS, 0, 0, OFF_ARG0)]
    # AF_UNIX is never in the list: socket(AF_UNIX) falls through to "deny".
    code += [(JEQ_K, "allow", 0, family) for family in (INET_FAMILIES if inet else ())]
    labels = {"deny": len(code), "allow": len(code) + 1, "kill": len(code) + 2}
    code += [(RET_K, 0, 0, RET_ERRNO | EPERM), (RET_K, 0, 0, RET_ALLOW),
             (RET_K, 0, 0, RET_KILL_PROCESS)]

    def offset(i: int, target: int | str) -> int:
        if isinstance(target, int):
            return target
        jump = labels[target] - (i + 1)
        assert 0 <= jump < 256, "BPF conditional jumps reach 255 instructions at most"
        return jump

    return b"".join(struct.pack("<HBBI", op, offset(i, jt), offset(i, jf), k)
                    for i, (op, jt, jf, k) in enumerate(code))


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load(prog: bytes) -> None:
    """Install `prog` on the calling thread (inherited by everything it execs and forks).
    no_new_privs must already be set. Raises OSError."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(prog, len(prog))
    fprog = _SockFprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
