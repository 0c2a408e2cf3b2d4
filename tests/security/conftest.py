"""The attacker's suite (issue 13): every test here is one attempt to get past Baton's
sandbox, grants, trust or prompts, and asserts an observable effect did NOT happen (a
marker file outside the workspace, a secret in output, a surviving process, a stalled
loop). Each test's docstring names what the attempt proves.

The whole suite runs twice in CI: as the user running pytest (root there) and again as an
unprivileged user (`test_as_unprivileged.py` re-runs it under `setpriv`). Attempts that run
commands are parametrized over both isolation layers with the `layer` fixture.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow

from tests.unit.sandbox.conftest import require_layer

LAYERS = ["bwrap", "landlock"]
UNPRIVILEGED_ENV = "BATON_SECURITY_UNPRIVILEGED"  # set by the unprivileged re-run


def running_as() -> str:
    return "root" if os.geteuid() == 0 else "user"


@pytest.fixture(params=LAYERS)
def layer(request: pytest.FixtureRequest) -> str:
    """An isolation layer that must hold; skipped when this machine lacks it, failed when
    BATON_REQUIRE_SANDBOX names it (CI)."""
    require_layer(request.param)
    return request.param


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the workspace: attempts try to read from or write into it."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret.txt").write_text("TOP-SECRET-OUTSIDE\n")
    return d


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "README.md").write_text("# demo\n")
    return root


@pytest.fixture
def shadow(ws: Path) -> Shadow:
    return Shadow(PathPolicy(ws), ws / ".baton" / "runs" / "r1" / "shadow", lambda p: None)
