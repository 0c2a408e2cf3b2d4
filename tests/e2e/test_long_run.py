"""`baton run` of a task whose implementer reads far more than its model's window holds
(the scripted provider with `context_window = 12000`, which refuses a prompt that does not
fit, as a real provider does): the run compacts its conversation and ends done."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from .conftest import HELLO, plan_script, turn
from .editor import write_workspace

BIG = "".join(f"def f{k}(x):\n    return x * {k}\n" for k in range(1_200))  # ~33 KB


async def test_a_run_reading_more_than_the_window_completes(tmp_path: Path) -> None:
    implementer = [*(turn(("read_file", {"path": f"big{i}.py"})) for i in range(6)),
                   turn(("edit_file", {"path": "hello.py", "old": "def hello():",
                                       "new": "def hello(name):"})),
                   turn(("finish", {"summary": "done"}))]
    ws = tmp_path / "ws"
    ws.mkdir()
    files = {"hello.py": HELLO, **{f"big{i}.py": BIG for i in range(6)}}
    config = write_workspace(ws, files, {"runs": [plan_script(implementer=implementer)]},
                             "context_window = 12000\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton", "run", "--workspace", str(ws), "--yes", "Greet by name",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BATON_CONFIG": str(config), "BATON_LOG": "WARNING"})
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode() + err.decode()
    assert "def hello(name):" in (ws / "hello.py").read_text()
    [transcript] = (ws / ".baton").rglob("transcript.jsonl")
    kinds = [json.loads(line)["kind"] for line in transcript.read_text().splitlines()]
    assert "compacted" in kinds
