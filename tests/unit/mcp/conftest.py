from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from baton.config import McpServerConfig
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow

from tests.unit.sandbox.conftest import require_layer

DEMO = Path(__file__).with_name("demo_server.py")
LAYERS = ["bwrap", "landlock"]


def demo(env: dict[str, str] | None = None, **kw: object) -> McpServerConfig:
    """The demo server (demo_server.py) as the person would configure it. Where this
    Python finds its packages through PYTHONPATH (the attacker's suite as uid 65534), the
    server is given it: a server inherits nothing it is not given."""
    env = dict(env or {})
    if os.environ.get("PYTHONPATH"):
        env.setdefault("PYTHONPATH", os.environ["PYTHONPATH"])
    return McpServerConfig(command=[sys.executable, str(DEMO)], env=env, **kw)


@pytest.fixture(params=LAYERS)
def layer(request: pytest.FixtureRequest) -> str:
    require_layer(request.param)
    return request.param


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "notes.txt").write_text("live\n")
    return root


@pytest.fixture
def shadow(ws: Path) -> Shadow:
    return Shadow(PathPolicy(ws), ws / ".baton" / "runs" / "r1" / "shadow", lambda p: None)


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line holds `marker`."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            continue
    return out
