"""The route-cost measurement runs, and its goal (ask/edit ≤ 25% of plan) holds."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks import route_cost


async def test_route_cost_goal(tmp_path, monkeypatch):
    monkeypatch.setattr(route_cost, "TASKS", route_cost.TASKS[:1])
    ws = tmp_path / "ws"
    shutil.copytree(Path(route_cost.ROOT) / "server", ws / "server",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    results = await route_cost.measure(ws)
    [task] = results["tasks"]
    k = task["tokens"]
    assert task["prefix_reused"]
    assert k["ask"] <= 0.25 * k["plan"] and k["edit"] <= 0.25 * k["plan"], k
