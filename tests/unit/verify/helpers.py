"""Small projects to run real test runners and linters on, and their output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FAILING_TESTS = '''\
import pytest
from pkg import add


def test_ok():
    assert add(1, 2) == 3


def test_fail():
    assert add(1, 2) == 4


@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    assert x == 1


class TestK:
    def test_m(self):
        raise ValueError("boom")


@pytest.fixture
def broken():
    raise RuntimeError("fixture")


def test_err(broken):
    pass


@pytest.mark.skip
def test_skip():
    pass
'''


def project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    files = {"pkg/__init__.py": "def add(a, b):\n    return a + b\n", **files}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def run(root: Path, *argv: str) -> str:
    """`python -m ARGV` in `root`, stdout and stderr together (as a command's output is
    parsed), with no third-party pytest plugins so the output is pytest's own."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", *argv], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    return proc.stdout + "\n" + proc.stderr
