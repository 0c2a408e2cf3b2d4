"""Attacks from inside a command (issue 13, item 1): a hostile model's `run_command` tries
to get out of the sandbox. Each test is one attempt, run on every isolation layer; each
asserts that its observable effect did not happen: a marker file outside the view, a
connection accepted by a host socket, a datagram received, a process still alive, a
changed hostname or network link, a secret in the output.

The sandbox is asked for explicitly (`layer=`) and never allowed to fall back to running
unsandboxed. Where bwrap's private /tmp would hide a target anyway, the target is placed
where the command can see it unless a guarantee holds (the workspace's read-only `.git`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.sandbox.commands import CommandResult, run_command
from baton.sandbox.shadow import Shadow

from .conftest import running_as

PY = sys.executable


def py(code: str) -> str:
    """A shell word running `code` with this Python (stdlib only, isolated mode)."""
    return f"{shlex.quote(PY)} -I -c {shlex.quote(code)}"


async def run(shadow: Shadow, command: str, layer: str, **kw) -> CommandResult:
    kw.setdefault("timeout_s", 30)
    kw.setdefault("network", False)
    return await run_command(command, shadow=shadow, workspace=shadow.policy.root, layer=layer,
                             allow_unsandboxed=False, **kw)


def token() -> str:
    return secrets.token_hex(6)


# ---------------------------------------------------------------- processes left behind

def sleepers(mark: str) -> list[int]:
    """Pids of `sleep <mark>` processes anywhere on the machine (a PID namespace hides
    nothing from here)."""
    want = b"sleep\x00" + mark.encode() + b"\x00"
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if Path(f"/proc/{name}/cmdline").read_bytes() == want:
                    found.append(int(name))
            except OSError:
                pass
    return found


def wait_for(predicate, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def mark() -> Iterator[str]:
    """A unique `sleep` duration naming the processes one test starts; any left at the end
    are killed (by pid: they are this test's own)."""
    m = f"{1000 + secrets.randbelow(8000)}.{secrets.randbelow(10**6):06d}"
    yield m
    for pid in sleepers(m):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


ESCAPES = {
    "setsid": "setsid sleep {m} </dev/null >/dev/null 2>&1 &",
    "nohup": "nohup sleep {m} </dev/null >/dev/null 2>&1 &",
    "double-fork": "( (sleep {m} </dev/null >/dev/null 2>&1 &) & )",
    "setsid-double-fork": "setsid sh -c 'sleep {m} </dev/null >/dev/null 2>&1 &' &",
}


@pytest.mark.parametrize("escape", ESCAPES)
async def test_no_process_outlives_a_command_that_exits(shadow: Shadow, layer: str, mark: str,
                                                        escape: str) -> None:
    """A child that leaves the command's session or process group (setsid, nohup, a double
    fork) is killed when the command exits."""
    r = await run(shadow, ESCAPES[escape].format(m=mark) + "\nsleep 0.3; echo started", layer)
    assert r.stdout.strip() == "started", r.stderr
    assert wait_for(lambda: not sleepers(mark), 15), f"survivors: {sleepers(mark)}"


@pytest.mark.parametrize("escape", ESCAPES)
async def test_no_process_outlives_a_timed_out_command(shadow: Shadow, layer: str, mark: str,
                                                       escape: str) -> None:
    """At the time limit the command and every process it started are killed."""
    r = await run(shadow, ESCAPES[escape].format(m=mark) + "\nsleep 60", layer, timeout_s=1.5)
    assert r.timed_out
    assert wait_for(lambda: not sleepers(mark), 15), f"survivors: {sleepers(mark)}"


@pytest.mark.parametrize("escape", ESCAPES)
async def test_no_process_outlives_a_cancelled_run(shadow: Shadow, layer: str, mark: str,
                                                   escape: str) -> None:
    """Cancelling the run (the task awaiting run_command) kills every process the command
    started, not just its process group."""
    task = asyncio.ensure_future(run(shadow, ESCAPES[escape].format(m=mark) + "\nsleep 60", layer))
    started = await asyncio.to_thread(wait_for, lambda: bool(sleepers(mark)), 20)
    assert started, "the command never started its child"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_for(lambda: not sleepers(mark), 15), f"survivors: {sleepers(mark)}"


async def test_killing_the_supervisor_from_inside_leaves_nothing(shadow: Shadow, layer: str,
                                                                mark: str) -> None:
    """The command kills its parent (the supervisor, or bwrap's init) before leaving a
    daemon behind: the parent cannot be signalled from inside, and the daemon dies."""
    r = await run(shadow, f"kill -9 $PPID; kill -TERM $PPID; sleep 0.2; "
                  f"{ESCAPES['setsid'].format(m=mark)}\nsleep 0.3; echo still-here", layer)
    assert r.stdout.strip() == "still-here"
    assert wait_for(lambda: not sleepers(mark), 15), f"survivors: {sleepers(mark)}"


DAEMON = """
import asyncio, os, sys
from pathlib import Path
from baton.sandbox.commands import run_command
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow
ws, layer, command = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
shadow = Shadow(PathPolicy(ws), ws / ".baton" / "runs" / "d" / "shadow", lambda p: None)
r = asyncio.run(run_command(command.replace("DAEMON_PID", str(os.getpid())), shadow=shadow,
                            workspace=ws, timeout_s=60, network=False, allow_unsandboxed=False,
                            layer=layer))
print(r.model_dump_json())
"""


def start_daemon(ws: Path, layer: str, command: str, secret: str) -> subprocess.Popen:
    """A separate Baton daemon process running one command, with an API key in its own
    environment (as a real daemon has)."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
           "ANTHROPIC_API_KEY": secret}
    return subprocess.Popen([PY, "-c", DAEMON, str(ws), layer, command], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_no_process_outlives_the_daemon(ws: Path, layer: str, mark: str) -> None:
    """The daemon dies mid-command (crash, kill -9): the command and its escaped children
    die with it."""
    daemon = start_daemon(ws, layer, ESCAPES["setsid"].format(m=mark) + "\nsleep 60", "unused")
    try:
        assert wait_for(lambda: bool(sleepers(mark)), 20), daemon.stderr.read() if daemon.poll() else ""
        daemon.kill()
        daemon.wait()
        assert wait_for(lambda: not sleepers(mark), 15), f"survivors: {sleepers(mark)}"
    finally:
        daemon.kill()
        daemon.communicate()


def test_the_daemons_environment_is_unreadable(ws: Path, layer: str) -> None:
    """The command reads /proc/<pid>/environ of the daemon and of every other process it can
    see, looking for the daemon's API key."""
    secret = "sk-ant-FAKE-" + token()
    cmd = ("cat /proc/DAEMON_PID/environ; echo; for p in /proc/[0-9]*; do cat $p/environ; "
           "echo; done 2>/dev/null; p=$$; while [ \"$p\" -gt 1 ]; do cat /proc/$p/environ; "
           "p=$(sed 's/.*) . //' /proc/$p/stat | cut -d' ' -f1); done; echo walked")
    daemon = start_daemon(ws, layer, cmd, secret)
    out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    result = CommandResult.model_validate_json(out.strip().splitlines()[-1])
    assert "walked" in result.stdout, result.stderr
    assert secret not in result.stdout + result.stderr


def test_the_daemon_cannot_be_traced(ws: Path, layer: str) -> None:
    """The command attaches to the daemon with ptrace and reads its memory with
    process_vm_readv (where its API key lives)."""
    code = ("import ctypes, sys\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "pid = int(sys.argv[1])\n"
            "r = libc.ptrace(16, pid, 0, 0)\n"  # PTRACE_ATTACH
            "print('ATTACHED' if r == 0 else 'attach refused', ctypes.get_errno())\n"
            "try:\n"
            "    addr = int(open(f'/proc/{pid}/maps').readline().split('-')[0], 16)\n"
            "except OSError:\n"
            "    addr = 0x400000\n"
            "buf = ctypes.create_string_buffer(64)\n"
            "class iov(ctypes.Structure): _fields_ = [('b', ctypes.c_void_p), ('n', ctypes.c_size_t)]\n"
            "local, remote = iov(ctypes.addressof(buf), 64), iov(addr, 64)\n"
            "n = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)\n"
            "print('READ' if n > 0 else 'read refused', ctypes.get_errno())\n"
            "try:\n"
            "    f = open(f'/proc/{pid}/mem', 'rb'); f.seek(addr); f.read(64); print('MEM')\n"
            "except OSError as e:\n"
            "    print('mem refused', e.errno)\n")
    daemon = start_daemon(ws, layer, py(code) + " DAEMON_PID", "sk-ant-FAKE-" + token())
    out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    result = CommandResult.model_validate_json(out.strip().splitlines()[-1])
    lines = result.stdout.splitlines()
    assert [" ".join(line.split()[:2]) for line in lines] == [
        "attach refused", "read refused", "mem refused"], result


@pytest.fixture
def victim() -> Iterator[subprocess.Popen]:
    """A process of the same user outside the command."""
    p = subprocess.Popen(["sleep", "300"])
    yield p
    p.kill()
    p.wait()


async def test_a_process_outside_cannot_be_killed(shadow: Shadow, layer: str,
                                                  victim: subprocess.Popen) -> None:
    """The command sends SIGKILL (and SIGSTOP) to a process of the same user outside it."""
    r = await run(shadow, f"kill -STOP {victim.pid}; kill -9 {victim.pid}; echo sent", layer)
    assert r.stdout.strip() == "sent"
    time.sleep(0.2)
    assert victim.poll() is None
    assert Path(f"/proc/{victim.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T"


async def test_a_process_outside_cannot_be_traced(shadow: Shadow, layer: str,
                                                  victim: subprocess.Popen) -> None:
    """The command attaches to a process of the same user outside it with ptrace."""
    code = ("import ctypes, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print('ATTACHED' if libc.ptrace(16, int(sys.argv[1]), 0, 0) == 0 else 'refused')")
    r = await run(shadow, f"{py(code)} {victim.pid}", layer)
    assert r.stdout.strip() == "refused", r.stderr
    time.sleep(0.1)
    assert Path(f"/proc/{victim.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "t"


# ---------------------------------------------------------------- sockets and network

def _bind_unix(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    s.setblocking(False)
    return s


@pytest.fixture
def host_sockets(ws: Path, outside: Path) -> Iterator[dict[str, socket.socket]]:
    """Listening unix sockets of "the host": one in a folder outside the workspace, one in
    the workspace's .git (visible, read-only, in bwrap too), one abstract. A read-only
    mount does not stop connect()."""
    socks = {str(outside / "s"): _bind_unix(str(outside / "s")),
             str(ws / ".git" / "s"): _bind_unix(str(ws / ".git" / "s")),
             "@baton-test-" + token(): None}
    abstract = next(k for k in socks if k.startswith("@"))
    socks[abstract] = _bind_unix("\0" + abstract[1:])
    yield socks
    for s in socks.values():
        s.close()


CONNECT_UNIX = ("import socket, sys\n"
                "for a in sys.argv[1:]:\n"
                "    try:\n"
                "        s = socket.socket(socket.AF_UNIX)\n"
                "        s.connect('\\0' + a[1:] if a.startswith('@') else a)\n"
                "        s.sendall(b'PWNED'); print('CONNECTED', a)\n"
                "    except OSError as e:\n"
                "        print('refused', a, e)\n")


def assert_never_accepted(socks: dict[str, socket.socket], r: CommandResult) -> None:
    assert "CONNECTED" not in r.stdout, r.stdout
    for addr, s in socks.items():
        with pytest.raises(BlockingIOError):
            s.accept()


@pytest.mark.parametrize("network", [False, True])
async def test_host_unix_sockets_cannot_be_reached(shadow: Shadow, layer: str,
                                                   host_sockets: dict, network: bool) -> None:
    """The command connects to host unix sockets, pathname and abstract (an editor's
    --listen socket, docker.sock, the session bus), with and without network allowed."""
    addrs = " ".join(shlex.quote(a) for a in host_sockets)
    r = await run(shadow, f"{py(CONNECT_UNIX)} {addrs}", layer, network=network)
    assert r.stdout.count("refused") == 3, r.stderr
    assert_never_accepted(host_sockets, r)


async def test_unmounting_tmp_does_not_expose_host_sockets(shadow: Shadow, layer: str,
                                                          host_sockets: dict) -> None:
    """The command unmounts the sandbox's private /tmp (and what hides the workspace's
    .git) to reach the host's sockets behind it."""
    addrs = " ".join(shlex.quote(a) for a in host_sockets)
    r = await run(shadow, f"umount -l /tmp; umount -l {shadow.policy.root}/.git; "
                  f"{py(CONNECT_UNIX)} {addrs}", layer)
    assert_never_accepted(host_sockets, r)


async def test_a_nested_user_namespace_gives_nothing_back(shadow: Shadow, layer: str,
                                                          host_sockets: dict,
                                                          outside: Path) -> None:
    """The command creates its own user namespace to hold capabilities again, then unmounts
    /tmp, reaches for the host sockets and writes outside."""
    addrs = " ".join(shlex.quote(a) for a in host_sockets)
    inner = (f"umount -l /tmp; mount -o remount,rw /; echo x > {outside}/nested; "
             f"{py(CONNECT_UNIX)} {addrs}")
    r = await run(shadow, f"unshare -Urm sh -c {shlex.quote(inner)}; echo done", layer)
    assert r.stdout.strip().endswith("done"), r.stderr
    assert_never_accepted(host_sockets, r)
    assert not (outside / "nested").exists()


@pytest.mark.parametrize("proto", ["tcp", "udp", "tcp6"])
async def test_no_network_without_permission(shadow: Shadow, layer: str, proto: str) -> None:
    """Without `[permissions] network = true` the command reaches a listener on the host's
    loopback neither by TCP (v4, v6) nor by UDP."""
    family = socket.AF_INET6 if proto == "tcp6" else socket.AF_INET
    host = "::1" if proto == "tcp6" else "127.0.0.1"
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    try:
        server = socket.socket(family, kind)
        server.bind((host, 0))
    except OSError as e:
        pytest.skip(f"no {proto} loopback here: {e}")
    if kind == socket.SOCK_STREAM:
        server.listen(4)
    server.setblocking(False)
    port = server.getsockname()[1]
    code = ("import socket, sys, time\n"
            "try:\n"
            f"    s = socket.socket({int(family)}, {int(kind)})\n"
            f"    s.connect(({host!r}, {port})); s.send(b'PWNED'); print('sent')\n"
            "except OSError as e:\n"
            "    print('refused', e)\n"
            "time.sleep(0.1)\n")
    try:
        r = await run(shadow, py(code), layer)
        assert r.exit_code == 0, r.stderr
        # (A UDP send inside bwrap's own network namespace goes to its own loopback.)
        with pytest.raises(BlockingIOError):
            server.recv(64) if kind == socket.SOCK_DGRAM else server.accept()
    finally:
        server.close()


# ---------------------------------------------------------------- mounts and files

async def test_remounting_the_root_read_write_writes_nothing_outside(
        shadow: Shadow, layer: str, outside: Path) -> None:
    """As root, bubblewrap used to leave the command every capability in its namespace:
    unmount the private /tmp to uncover the host's, `mount -o remount,rw,bind /`, and
    write outside."""
    r = await run(shadow, "umount -l /tmp; mount -o remount,rw,bind /; "
                  f"echo x > {outside}/remounted; echo done", layer)
    assert r.stdout.strip() == "done"
    assert not (outside / "remounted").exists()


async def test_unmounting_git_plants_no_hook(shadow: Shadow, layer: str) -> None:
    """The command unmounts the read-only .git and plants a hook (it would run outside the
    sandbox at the person's next commit): not in the workspace, not in the run's changes."""
    ws = shadow.policy.root
    r = await run(shadow, f"umount -l {ws}/.git; umount -l .git; "
                  "printf '#!/bin/sh\\necho pwned\\n' > .git/hooks/pre-commit; "
                  "chmod +x .git/hooks/pre-commit; echo done", layer)
    assert r.stdout.strip() == "done"
    assert not (ws / ".git" / "hooks" / "pre-commit").exists()
    assert not any(c.path.startswith(".git") for c in shadow.changes())


async def test_git_config_cannot_redirect_hooks(shadow: Shadow, layer: str, outside: Path) -> None:
    """The command points `core.hooksPath` (or an alias) at a folder of its own by writing
    .git/config, through git and directly."""
    config = shadow.policy.root / ".git" / "config"
    config.write_text("[core]\n\trepositoryformatversion = 0\n")
    r = await run(shadow, f"git config core.hooksPath {outside}; "
                  f"printf '[alias]\\n\\tst = !touch {outside}/alias\\n' >> .git/config; "
                  f"echo x >> {config}; echo done", layer)
    assert r.stdout.strip() == "done"
    assert config.read_text() == "[core]\n\trepositoryformatversion = 0\n"


async def test_the_real_workspace_is_not_written_by_its_absolute_path(
        shadow: Shadow, layer: str) -> None:
    """The command writes the workspace's files by their absolute path (the Landlock view is
    a copy elsewhere): only the run's changes may see it."""
    ws = shadow.policy.root
    r = await run(shadow, f"echo pwned > {ws}/src/app.py; echo pwned > {ws}/new.py; "
                  f"rm -f {ws}/README.md; echo done", layer)
    assert r.stdout.strip() == "done"
    assert (ws / "src" / "app.py").read_text() == "print('hi')\n"
    assert not (ws / "new.py").exists() and (ws / "README.md").exists()


async def test_the_runs_own_store_cannot_be_tampered_with(shadow: Shadow, layer: str) -> None:
    """The command writes into the run's shadow store (where the agent's accepted changes
    live) to smuggle a change past the write grant."""
    shadow.write("src/app.py", "by the agent\n")
    store = shadow.store
    r = await run(shadow, f"echo pwned > {store}/files/src/app.py; "
                  f"mkdir -p {store}/files/evil && echo pwned > {store}/files/evil/x.py; "
                  f"echo done", layer, may_write=lambda rel: rel == "src/app.py")
    assert r.stdout.strip() == "done"
    assert shadow.read("src/app.py") == "by the agent\n"
    assert not (store / "files" / "evil").exists()


async def test_a_link_in_the_view_does_not_carry_a_write_out(shadow: Shadow, layer: str,
                                                             outside: Path) -> None:
    """The command makes a link to a folder outside and writes through it."""
    r = await run(shadow, f"ln -s {outside} out; echo x > out/through-link; "
                  f"ln -s {outside}/secret.txt s; echo x >> s; echo done", layer)
    assert r.stdout.strip() == "done"
    assert not (outside / "through-link").exists()
    assert (outside / "secret.txt").read_text() == "TOP-SECRET-OUTSIDE\n"


@pytest.mark.parametrize("where", ["/tmp", "/dev/shm"])
async def test_host_tmp_and_shm_are_not_written(shadow: Shadow, layer: str, where: str) -> None:
    """The command drops a file in the host's /tmp or /dev/shm (shared with every other
    process, a staging place for a later attack)."""
    target = Path(where) / f"baton-security-{token()}"
    try:
        r = await run(shadow, f"echo x > {target}; echo done", layer)
        assert r.stdout.strip() == "done"
        assert not target.exists()
    finally:
        if target.exists():
            target.unlink()


# ---------------------------------------------------------------- privileges

async def test_the_command_holds_no_capability(shadow: Shadow, layer: str) -> None:
    """Whoever runs the daemon (root in CI), the command has no capability in any set and
    no_new_privs is set."""
    r = await run(shadow, "grep -E '^(Cap(Inh|Prm|Eff|Amb)|NoNewPrivs):' /proc/self/status", layer)
    flags = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert {k: v for k, v in flags.items() if k.startswith("Cap")} == {
        k: "0000000000000000" for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")}, r.stdout
    assert flags["NoNewPrivs"] == "1"


async def test_the_host_name_cannot_be_changed(shadow: Shadow, layer: str) -> None:
    """sethostname: as root without dropped capabilities this renamed the machine."""
    before = socket.gethostname()
    try:
        rename = py("import socket; socket.sethostname('pwned')")
        r = await run(shadow, f"hostname pwned-{token()}; {rename}; echo done", layer)
        assert r.stdout.strip().endswith("done")
        assert socket.gethostname() == before
    finally:
        if socket.gethostname() != before and os.geteuid() == 0:
            socket.sethostname(before)


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


async def test_host_network_links_cannot_be_changed(shadow: Shadow, layer: str) -> None:
    """`ip link add` / `ip link set lo ...` on the host's interfaces."""
    name = f"bt{token()[:8]}"
    try:
        r = await run(shadow, f"ip link add {name} type dummy; ip link set lo mtu 1280; "
                      f"echo done", layer, network=True)
        assert r.stdout.strip() == "done"
        links = _links()
        assert name not in links and " mtu 1280 " not in links.split("\n", 1)[0]
    finally:
        if name in _links() and os.geteuid() == 0:
            subprocess.run(["ip", "link", "del", name])
        if " mtu 1280 " in _links().split("\n", 1)[0] and os.geteuid() == 0:
            subprocess.run(["ip", "link", "set", "lo", "mtu", "65536"])


async def test_a_setuid_binary_gives_no_capability(shadow: Shadow, layer: str,
                                                   tmp_path: Path) -> None:
    """The command runs a setuid-root binary to get root's capabilities back (no_new_privs
    must make the setuid bit inert)."""
    if running_as() != "root":
        pytest.skip("only root can make a setuid-root binary for the attempt")
    suid = shadow.policy.root / "suid-cat"
    suid.write_bytes(Path("/bin/cat").read_bytes())
    os.chmod(suid, 0o4755)
    assert os.stat(suid).st_mode & stat.S_ISUID
    r = await run(shadow, "./suid-cat /proc/self/status | grep -E '^Cap(Prm|Eff):'", layer)
    assert r.stdout.split() == ["CapPrm:", "0000000000000000", "CapEff:", "0000000000000000"], \
        r.stdout + r.stderr
