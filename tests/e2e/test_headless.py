"""`baton run` in a terminal that cannot answer: the agent's edits reach the disk as it works;
one that conflicts with a change made on disk meanwhile is held, never dropped; the run
applies once and stops naming what is held, rather than asking again and again."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from .conftest import HELLO, plan_script, turn
from .editor import write_workspace


async def test_a_conflict_in_a_terminal_that_cannot_answer_is_held(tmp_path: Path) -> None:
    implementer = [turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
                   turn(("read_file", {"path": "hello.py"}), delay_ms=1500),
                   turn(("edit_file", {"path": "hello.py", "old": "def hello(name):",
                                       "new": "def hello(name: str):"})),
                   turn(("finish", {"summary": "done"}))]
    ws = tmp_path / "ws"
    ws.mkdir()
    config = write_workspace(ws, {"hello.py": HELLO}, {"runs": [plan_script(implementer=implementer)]})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton", "run", "--workspace", str(ws), "--yes", "Greet by name",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BATON_CONFIG": str(config), "BATON_LOG": "WARNING"})
    path = ws / "hello.py"
    try:
        deadline = time.monotonic() + 30
        while "def hello(name):" not in path.read_text():  # streamed while the agent thinks on
            assert time.monotonic() < deadline, "the first edit never reached the disk"
            await asyncio.sleep(0.02)
        path.write_text(HELLO.replace("def hello():", "def hello(who):"))  # another editor saves
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:  # it would apply and ask again and again
            proc.kill()
            await proc.wait()
    text = out.decode()
    assert proc.returncode == 1, text + err.decode()
    assert "1 hunk(s) held back" in text and text.count("Apply these changes?") == 0
    assert path.read_text() == HELLO.replace("def hello():", "def hello(who):")  # theirs, kept
    [run] = (ws / ".baton" / "runs").iterdir()
    assert "+def hello(name: str):" in (run / "changes.diff").read_text()  # the agent's, held
