"""server/baton type-checks clean under pyproject.toml's [tool.mypy] settings, and stays so:
a change that breaks a type fails here with mypy's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_server_type_checks_clean():
    # The repository's .mypy_cache (mypy keeps it git-ignored) makes a rerun take a second;
    # a fresh clone checks cold, in about 20 s.
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.fail(f"mypy found type errors in server/baton (fix them; the settings are "
                    f"[tool.mypy] in pyproject.toml):\n{r.stdout}{r.stderr}", pytrace=False)
