"""The verifier on real commands in the command sandbox: change and base views, what is
run and what is taken from the cache, the deadline, and that verification changes nothing."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from baton.config import PermissionsConfig, VerifyConfig
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow
from baton.verify.outcome import Outcome
from baton.verify.runner import OutcomeCache, Verifier

from .helpers import project

PY = shlex.quote(sys.executable)
PYTEST = f"{PY} -m pytest -q -p no:cacheprovider"
RUFF = f"{PY} -m ruff check --no-cache --isolated --select F ."

TESTS = ("from pkg import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
         "def test_old():\n    assert add(2, 2) == 5  # failing before any change\n")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return project(tmp_path / "ws", {"tests/test_a.py": TESTS})


def run_shadow(ws: Path, name: str = "r1") -> Shadow:
    return Shadow(PathPolicy(ws), ws / ".baton" / "runs" / name / "shadow", lambda p: None)


def verifier(*commands: str, cache: OutcomeCache | None = None, **kw) -> Verifier:
    return Verifier(VerifyConfig(commands=list(commands), **kw), PermissionsConfig(), cache=cache)


class Recorder(list):
    def __call__(self, outcome: Outcome) -> None:
        self.append(outcome)

    def sides(self) -> list[str]:
        return [o.side for o in self]


async def verify(v: Verifier, shadow: Shadow, recorder: Recorder | None = None, **kw):
    return await v.verify(shadow, shadow.store.parent / "verify-base", record=recorder, **kw)


async def test_a_new_failure_is_found_and_one_already_there_is_not(ws: Path) -> None:
    shadow = run_shadow(ws)
    shadow.write("pkg/__init__.py", "def add(a, b):\n    return a - b\n")
    rec = Recorder()
    result = await verify(verifier(PYTEST), shadow, rec)
    assert not result.passed
    assert [f.label for f in result.findings] == ["tests/test_a.py::test_add"]
    assert result.summary == "1 new failure: tests/test_a.py::test_add"
    [report] = result.commands
    assert report.before == 1 and report.base.counts.passed == 1
    feedback = result.feedback()
    assert "tests/test_a.py::test_add failed" in feedback and "assert -1 == 3" in feedback
    assert "test_old" not in feedback
    finding = result.findings[0]
    assert (finding.path, finding.line) == ("tests/test_a.py", 5)
    assert rec.sides() == ["change", "base"]


async def test_a_clean_change_runs_each_command_once(ws: Path) -> None:
    (ws / "tests" / "test_a.py").write_text(TESTS.split("\n\n\ndef test_old")[0] + "\n")
    shadow = run_shadow(ws)
    shadow.write("pkg/extra.py", "def sub(a, b):\n    return a - b\n")
    rec = Recorder()
    result = await verify(verifier(PYTEST, RUFF), shadow, rec)
    assert result.passed, result.summary
    assert result.summary == "1 passed, 0 new lint messages"
    assert rec.sides() == ["change", "change"]  # no base needed


async def test_the_base_runs_once_across_rounds_and_runs(ws: Path) -> None:
    cache = OutcomeCache()
    shadow = run_shadow(ws)
    shadow.write("pkg/__init__.py", "def add(a, b):\n    return a - b\n")
    rec = Recorder()
    await verify(verifier(PYTEST, cache=cache), shadow, rec)
    assert rec.sides() == ["change", "base"]
    shadow.write("pkg/__init__.py", "def add(a, b):\n    return a * b\n")  # round two, still failing
    rec.clear()
    result = await verify(verifier(PYTEST, cache=cache), shadow, rec)
    assert rec.sides() == ["change"] and not result.passed
    other = run_shadow(ws, "r2")  # another run, touching another file: the same base
    other.write("tests/test_b.py", "def test_b():\n    assert False\n")
    rec.clear()
    result = await verify(verifier(PYTEST, cache=cache), other, rec)
    assert rec.sides() == ["change"]
    assert [f.label for f in result.findings] == ["tests/test_b.py::test_b"]
    (ws / "README.md").write_text("the person adds a file\n")  # the workspace moved on
    rec.clear()
    await verify(verifier(PYTEST, cache=cache), other, rec)
    assert rec.sides() == ["change", "base"]


async def test_recorded_outcomes_spare_a_restart_every_completed_command(ws: Path) -> None:
    shadow = run_shadow(ws)
    shadow.write("pkg/__init__.py", "def add(a, b):\n    return a - b\n")
    rec, started = Recorder(), []

    async def starting(command: str, side: str) -> None:
        started.append((command, side))

    first = await verify(verifier(PYTEST, RUFF), shadow, rec, starting=starting)
    assert started == [(PYTEST, "change"), (PYTEST, "base"), (RUFF, "change")]
    restarted = OutcomeCache()
    restarted.seed(Outcome.model_validate(o.model_dump(mode="json")) for o in rec)  # via the journal
    again, started = Recorder(), []
    second = await verify(verifier(PYTEST, RUFF, cache=restarted), run_shadow(ws), again,
                          starting=starting)
    assert again == [] and started == [] and second == first


async def test_verification_changes_nothing(ws: Path) -> None:
    shadow = run_shadow(ws)
    shadow.write("pkg/__init__.py", "def add(a, b):\n    return a + b  # agent\n")
    before = [c.model_dump() for c in shadow.changes()]
    result = await verify(verifier(f"echo junk > pkg/__init__.py; echo new > made.txt; {PYTEST}"), shadow)
    assert [c.model_dump() for c in shadow.changes()] == before
    assert not (ws / "made.txt").exists()
    assert result.passed, result.summary


async def test_deadline_and_timeout(ws: Path) -> None:
    shadow = run_shadow(ws)
    shadow.write("pkg/__init__.py", "def add(a, b):\n    return a - b\n")
    cache = OutcomeCache()
    result = await verify(verifier(PYTEST, cache=cache), shadow, deadline=time.monotonic())
    assert not result.passed and "time is used up" in result.summary
    assert cache.get(result.commands[0].change.key) is None
    t0 = time.monotonic()
    result = await verify(verifier("sleep 30", timeout_s=1), shadow)
    assert time.monotonic() - t0 < 10
    [report] = result.commands  # it hangs on the base too: no verdict, nothing new
    assert report.change.timed_out and report.base.timed_out and report.new == []
    assert not result.passed and "timed out, as it did before the change" in result.summary


async def test_a_lint_change_counts_only_its_new_messages(ws: Path) -> None:
    (ws / "pkg" / "util.py").write_text("import os\n\n\ndef f():\n    return 1\n")
    shadow = run_shadow(ws)
    shadow.write("pkg/util.py", "import os\nimport sys\n\n\n\ndef f():\n    return 1\n")
    result = await verify(verifier(RUFF), shadow)
    assert [(f.path, f.line, f.label) for f in result.findings] == [("pkg/util.py", 2, "pkg/util.py:2 F401")]
    assert result.commands[0].before == 1
