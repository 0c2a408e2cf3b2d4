"""Agent work runs in a child process of `baton serve`: if it dies, it is restarted and
runs resume from the journal; if the server dies, it does not outlive it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .conftest import plan_script
from .test_restart import assert_each_call_once, mid_implementation


def engine_pid(ed) -> int:
    server = ed.client._server.pid
    children = [int(c) for task in Path(f"/proc/{server}/task").iterdir()
                for c in (task / "children").read_text().split()]
    assert len(children) == 1, children
    return children[0]


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


async def test_a_crashed_engine_is_restarted_and_the_run_resumes(make_editor):
    ed, run_id = await mid_implementation(make_editor)
    old = engine_pid(ed)
    os.kill(old, signal.SIGKILL)
    await ed.wait_state(run_id, "done")
    assert engine_pid(ed) != old
    warnings = [m.message for m in ed.client.messages if "engine stopped" in m.message]
    assert warnings and "restarting" in warnings[0]
    assert_each_call_once(ed, run_id)
    # The editor's path kept working: commands and code actions are answered.
    assert any(r["runId"] == run_id for r in await ed.command("baton.runs", {}))


async def test_the_engine_does_not_outlive_its_server(make_editor):
    ed = await make_editor(plan_script())
    pid = engine_pid(ed)
    await ed.kill()
    deadline = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid), "the engine process is still running after its server died"
