"""A long-lived process in the run's sandbox (sandbox/services.py), on each layer: its
view follows the shadow between uses, what it changes during a use is folded (checked
against the grant), what it changes between uses is not, and it ends with `stop()`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from baton.sandbox.environment import child_env
from baton.sandbox.services import ServiceProcess
from baton.sandbox.shadow import Shadow

from .conftest import require_layer

# One request a line: `write NAME TEXT`, `read NAME`, `later NAME` (write NAME after the
# answer, while nobody is asking), `rm NAME`, `ls`.
SERVER = r'''
import os, sys, threading, time
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    try:
        if cmd == "write":
            name, _, text = arg.partition(" ")
            open(name, "w").write(text + "\n"); out = "ok"
        elif cmd == "read":
            out = open(arg).read().strip()
        elif cmd == "later":
            threading.Timer(0.2, lambda: open(arg, "w").write("later\n")).start(); out = "ok"
        elif cmd == "rm":
            os.remove(arg); out = "ok"
        elif cmd == "ls":
            out = " ".join(sorted(n for n in os.listdir(".") if not n.startswith(".")))
    except OSError as e:
        out = f"error {type(e).__name__}"
    print(out, flush=True)
'''


@pytest.fixture(params=["bwrap", "landlock"])
async def service(request: pytest.FixtureRequest, ws: Path, shadow: Shadow):
    require_layer(request.param)
    (ws / "srv.py").write_text(SERVER)
    svc = ServiceProcess(shadow, "t", [sys.executable, "srv.py"], child_env(), network=False,
                         layer=request.param)
    async with shadow.command_lock:
        await svc.start()
    yield svc
    await svc.stop()


async def use(svc: ServiceProcess, request: str, may_write=None):
    """One use, as the MCP client makes it: sync, ask, fold, under the command lock."""
    async with svc.shadow.command_lock:
        await svc.sync()
        assert svc.proc is not None and svc.proc.stdin is not None and svc.proc.stdout is not None
        svc.proc.stdin.write(request.encode() + b"\n")
        await svc.proc.stdin.drain()
        answer = (await svc.proc.stdout.readline()).decode().strip()
        return answer, await svc.fold(may_write)


async def test_the_view_follows_the_shadow(service: ServiceProcess, ws: Path, shadow: Shadow) -> None:
    assert (await use(service, "read keep.txt"))[0] == "old"
    shadow.write("keep.txt", "agent\n")
    shadow.write("src/new.py", "new\n")
    shadow.delete("del.txt")
    assert (await use(service, "read keep.txt"))[0] == "agent"
    assert (await use(service, "read src/new.py"))[0] == "new"
    assert (await use(service, "read del.txt"))[0] == "error FileNotFoundError"
    # A file the run only rebased (touched, not written) shows what the person has, even
    # where the process had written its own version that the grant kept out.
    _, fold = await use(service, "write src/app.py own", lambda rel: False)
    assert fold.denied == ["src/app.py"]
    (ws / "src/app.py").write_text("person\n")
    shadow.rebase("src/app.py", "person\n")
    assert (await use(service, "read src/app.py"))[0] == "person"


async def test_changes_during_a_use_fold_against_the_grant(service: ServiceProcess, ws: Path,
                                                           shadow: Shadow) -> None:
    grant = lambda rel: rel.startswith("src/")  # noqa: E731
    answer, fold = await use(service, "write src/out.txt made", grant)
    assert answer == "ok" and fold.changed == ["src/out.txt"]
    assert shadow.read("src/out.txt") == "made\n" and not (ws / "src/out.txt").exists()
    _, fold = await use(service, "write keep.txt nope", grant)
    assert fold.denied == ["keep.txt"] and shadow.read("keep.txt") == "old\n"
    _, fold = await use(service, "rm src/app.py", grant)
    assert fold.changed == ["src/app.py"] and shadow.read("src/app.py") is None
    assert (ws / "src/app.py").exists()


async def test_changes_between_uses_stay_in_its_view(service: ServiceProcess, shadow: Shadow) -> None:
    await use(service, "later between.txt")
    await asyncio.sleep(0.5)
    _, fold = await use(service, "ls")
    assert fold.changed == [] and shadow.read("between.txt") is None


async def test_stop_ends_it(service: ServiceProcess) -> None:
    proc = service.proc
    assert proc is not None and service.running
    await service.stop()
    assert proc.returncode is not None and not service.running
    await service.stop()  # idempotent
