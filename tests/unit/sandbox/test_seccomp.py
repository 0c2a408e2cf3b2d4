"""The hand-assembled seccomp filter: its shape, and what it refuses once loaded."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from baton.sandbox import seccomp


def instructions(prog: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("<HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]


@pytest.mark.parametrize("arch", list(seccomp.SYSCALLS))
@pytest.mark.parametrize("inet", [False, True])
def test_every_jump_lands_on_an_instruction_and_it_ends_in_returns(arch: str, inet: bool) -> None:
    code = instructions(seccomp.program(inet=inet, arch=arch))
    for i, (op, jt, jf, _) in enumerate(code):
        if op in (seccomp.JEQ_K, seccomp.JGE_K):
            assert i + 1 + max(jt, jf) < len(code)
    assert [op for op, *_ in code[-3:]] == [seccomp.RET_K] * 3
    assert code[0] == (seccomp.LD_W_ABS, 0, 0, seccomp.OFF_ARCH)
    assert code[1][3] == seccomp.AUDIT_ARCH[arch]
    args = code.index((seccomp.LD_W_ABS, 0, 0, seccomp.OFF_ARG0))  # socket(): load the family
    families = {k for op, _, _, k in code[args + 1:] if op == seccomp.JEQ_K}
    assert families == (set(seccomp.INET_FAMILIES) if inet else set())


def test_x86_64_kills_the_x32_abi() -> None:
    code = instructions(seccomp.program(inet=True, arch="x86_64"))
    assert (seccomp.JGE_K, len(code) - 1 - 4, 0, seccomp.X32_SYSCALL_BIT) == code[3]


def test_an_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="riscv64"):
        seccomp.program(inet=True, arch="riscv64")


PROBE = """
import ctypes, os, socket, sys
sys.path.insert(0, sys.argv[1])
from baton.sandbox import seccomp
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0
seccomp.load(seccomp.program(inet=sys.argv[2] == "inet"))
out = []
for name, fam, kind in [("unix", socket.AF_UNIX, socket.SOCK_STREAM),
                        ("udp", socket.AF_INET, socket.SOCK_DGRAM),
                        ("tcp6", socket.AF_INET6, socket.SOCK_STREAM)]:
    try:
        socket.socket(fam, kind).close(); out.append(name + "=ok")
    except PermissionError:
        out.append(name + "=refused")
socket.socketpair()
out.append("socketpair=ok")
out.append("ptrace=" + ("ok" if libc.ptrace(16, os.getppid(), 0, 0) == 0 else "refused"))
print(" ".join(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux only")
@pytest.mark.parametrize("inet,expected", [
    (False, "unix=refused udp=refused tcp6=refused socketpair=ok ptrace=refused"),
    (True, "unix=refused udp=ok tcp6=ok socketpair=ok ptrace=refused"),
])
def test_loaded_filter_refuses_unix_sockets_and_ptrace(inet: bool, expected: str) -> None:
    src = str(Path(seccomp.__file__).resolve().parents[2])
    r = subprocess.run([sys.executable, "-I", "-c", PROBE, src, "inet" if inet else "-"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == expected, r.stderr
