"""Verification end to end (issue 17): `[verify] commands` run on the run's change in the
command sandbox after the implementer finishes; new failures go back to it, failures that
were there before do not count, evidence travels with the run (runChanged, diagnostics,
changes.diff, the Apply action, `baton run`), and a restart does not run again a command
that completed. The project is a small Python package with pytest; ruff for lint."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from pathlib import Path

from lsprotocol import types as t

from .conftest import plan_script, turn
from .editor import write_workspace

PY = shlex.quote(sys.executable)
PYTEST = f"{PY} -m pytest -q"
RUFF = f"{PY} -m ruff check --no-cache --isolated --select F ."
CALC = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
PROJECT = {"calc.py": CALC, "tests/test_calc.py": TESTS,
           "pytest.ini": "[pytest]\npythonpath = .\naddopts = -p no:cacheprovider\n"}
FILES = ["calc.py", "tests/test_calc.py"]


def verify_config(*commands: str, rounds: int = 2, extra: str = "") -> str:
    return (f"[verify]\ncommands = {json.dumps(list(commands))}\nrounds = {rounds}\n"
            f"timeout_s = 120\n{extra}")


def edit(path: str, old: str, new: str) -> dict:
    return turn(("edit_file", {"path": path, "old": old, "new": new}))


def finish(summary: str = "done") -> dict:
    return turn(("finish", {"summary": summary}))


def to_implementer(root: Path, run_id: str) -> list[str]:
    lines = (root / ".baton" / "runs" / run_id / "transcript.jsonl").read_text().splitlines()
    return [e["message"]["text"] for e in map(json.loads, lines)
            if e["kind"] == "message" and e["agent"] == "implementer" and e["message"]["role"] == "user"]


def verify_ran(root: Path, run_id: str) -> list[tuple[str, str]]:
    lines = (root / ".baton" / "runs" / run_id / "transcript.jsonl").read_text().splitlines()
    return [(e["outcome"]["command"], e["outcome"]["side"]) for e in map(json.loads, lines)
            if e["kind"] == "verify_ran"]


async def start(make_editor, implementer, *commands, rounds=2, files=None, extra="",
                task="Add sub"):
    script = plan_script(files=FILES, implementer=implementer)
    ed = await make_editor(script, files={**PROJECT, **(files or {})},
                           extra_config=verify_config(*commands, rounds=rounds, extra=extra))
    run_id = await ed.run(task)
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    return ed, run_id


async def test_a_new_failing_test_goes_back_to_the_implementer_which_fixes_it(make_editor):
    implementer = [
        edit("calc.py", "return a + b\n", "return a + b\n\n\ndef sub(a, b):\n    return a + b\n"),
        edit("tests/test_calc.py", "from calc import add\n", "from calc import add, sub\n"),
        turn(("write_file", {"path": "tests/test_calc.py", "content": TESTS.replace(
            "import add", "import add, sub") + "\n\ndef test_sub():\n    assert sub(3, 1) == 2\n"})),
        finish("sub added"),
        edit("calc.py", "def sub(a, b):\n    return a + b", "def sub(a, b):\n    return a - b"),
        finish("sub fixed"),
    ]
    ed, run_id = await start(make_editor, implementer, PYTEST)
    done = await ed.wait_state(run_id, "done", timeout=90)
    assert ed.states(run_id)[-6:] == ["implementing", "verifying", "implementing", "verifying",
                                      "reviewing", "done"]
    told = to_implementer(ed.root, run_id)[-1]
    assert "1 new failure" in told and "tests/test_calc.py::test_sub" in told
    assert "assert 4 == 2" in told  # the relevant output, not the whole log
    failing = next(n for n in ed.notices if n["runId"] == run_id and n.get("verify")
                   and not n["verify"]["passed"])
    assert failing["verify"]["summary"] == "1 new failure: tests/test_calc.py::test_sub"
    assert done["verify"] == {"passed": True, "summary": "2 passed"}
    shown = await ed.command("baton.run.show", {"runId": run_id})
    assert shown["verify"]["passed"] and shown["verify"]["summary"] == "2 passed"
    assert any("verify" in line for line in shown["events"])


async def test_a_failing_test_that_was_there_before_does_not_block_the_run(make_editor):
    old = "\n\ndef test_old():\n    assert add(2, 2) == 5\n"
    implementer = [edit("calc.py", "def add(a, b):\n", 'def add(a, b):\n    """The sum."""\n'),
                   finish()]
    ed, run_id = await start(make_editor, implementer, PYTEST, files={"tests/test_old.py": TESTS + old})
    done = await ed.wait_state(run_id, "done", timeout=90)
    assert ed.states(run_id).count("verifying") == 1
    assert done["verify"] == {"passed": True,
                              "summary": "2 passed (1 failing before the change too)"}
    assert len(to_implementer(ed.root, run_id)) == 1  # only its briefing: nothing sent back
    assert ("" + PYTEST, "base") in verify_ran(ed.root, run_id)


async def test_a_lint_only_change_is_verified_with_ruff_and_its_failure_reaches_review(make_editor):
    """rounds = 0: the new lint message is not sent back; the run goes to review with it
    attached, the reviewer sees it, it is a diagnostic at its line, changes.diff and the
    Apply action say verification did not pass."""
    implementer = [edit("calc.py", "def add", "import os\n\n\ndef add"), finish("import added")]
    ed, run_id = await start(make_editor, implementer, RUFF, rounds=0,
                             extra='[edits]\nmode = "review"\n')
    notice = await ed.wait_state(run_id, "awaiting_apply", timeout=90)
    assert notice["verify"] == {"passed": False, "summary": "1 new failure: calc.py:1 F401"}
    reviewer = [e for e in map(json.loads, (ed.root / ".baton/runs" / run_id / "transcript.jsonl")
                               .read_text().splitlines())
                if e["kind"] == "message" and e["agent"] == "reviewer" and e["message"]["role"] == "user"]
    assert "Verification did not pass" in reviewer[0]["message"]["text"]
    assert "F401" in reviewer[0]["message"]["text"]
    uri = ed.uri("calc.py")
    diags = [d for d in ed.client.diagnostics.get(uri, []) if d.source == "baton"]
    assert [(d.range.start.line, "F401" in d.message) for d in diags] == [(0, True)]
    diff = ed.root / ".baton" / "runs" / run_id / "changes.diff"
    assert "# Verification did not pass: 1 new failure: calc.py:1 F401" in diff.read_text()
    actions = await ed.client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=diff.as_uri()),
        range=t.Range(start=t.Position(line=0, character=0), end=t.Position(line=0, character=0)),
        context=t.CodeActionContext(diagnostics=[])))
    titles = [a.title for a in actions or []]
    assert any(title.startswith("Apply changes (verify did not pass") for title in titles), titles


async def test_a_restart_while_verifying_runs_no_completed_command_again(make_editor):
    slow = "sleep 4; echo slow-check-ok"
    implementer = [edit("calc.py", "def add(a, b):\n", 'def add(a, b):\n    """The sum."""\n'),
                   finish()]
    ed, run_id = await start(make_editor, implementer, PYTEST, slow)
    token = f"baton-run-{run_id}"
    await ed.wait_for(lambda: any(tok == token and m and m.startswith("verify: sleep 4")
                                  for tok, _, m in ed.progress), "the slow command to start", 60)
    ed = await make_editor.restart(ed)
    done = await ed.wait_state(run_id, "done", timeout=90)
    ran = verify_ran(ed.root, run_id)
    assert ran.count((PYTEST, "change")) == 1, ran  # completed before the restart: not again
    assert ran.count((slow, "change")) == 1, ran  # killed by the restart, run once after it
    assert done["verify"]["passed"]


async def test_the_terminal_run_prints_the_evidence(tmp_path: Path):
    implementer = [edit("calc.py", "def add(a, b):\n", 'def add(a, b):\n    """The sum."""\n'),
                   finish()]
    ws = tmp_path / "ws"
    ws.mkdir()
    config = write_workspace(ws, PROJECT, {"runs": [plan_script(files=FILES, implementer=implementer)]},
                             verify_config(PYTEST, RUFF))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton", "run", "--workspace", str(ws), "--yes", "Document add",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BATON_CONFIG": str(config), "BATON_LOG": "WARNING"})
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, text + err.decode()
    assert "● verifying" in text
    assert "Verification passed: 1 passed, 0 new lint messages" in text
