from __future__ import annotations

import os
from pathlib import Path

import pytest

from baton.sandbox import isolation
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "keep.txt").write_text("old\n")
    (root / "del.txt").write_text("gone\n")
    (root / "olddir").mkdir()
    (root / "olddir" / "a.txt").write_text("a\n")
    (root / "olddir" / "b.txt").write_text("b\n")
    (root / ".gitignore").write_text("build/\n")
    return root


@pytest.fixture
def shadow(ws: Path) -> Shadow:
    return Shadow(PathPolicy(ws), ws / ".baton" / "runs" / "r1" / "shadow", lambda p: None)


def require_layer(layer: str) -> None:
    """Skip when the layer is not available here, unless BATON_REQUIRE_SANDBOX names it:
    scripts/test sets it so that real isolation is tested, not skipped, in CI."""
    result = isolation.probe(None)
    available = layer not in result.reasons and (
        layer == result.layer or isolation.ORDER.index(layer) > isolation.ORDER.index(result.layer))
    if layer == "landlock":
        available = isolation.probe_landlock()[1] is None
    if not available:
        required = os.environ.get("BATON_REQUIRE_SANDBOX", "").split(",")
        if layer in required:
            pytest.fail(f"{layer} is required here but unavailable: {result.reasons.get(layer)}")
        pytest.skip(f"{layer} unavailable: {result.reasons.get(layer)}")
