"""The shadow benchmark runs and reports every measure (on a small tree: it is a unit test)."""

from __future__ import annotations

import io

from benchmarks.shadow_cost import bench_shadow


def test_bench_shadow_small_tree() -> None:
    out = io.StringIO()
    r = bench_shadow(300, with_command=False, repeat=2, out=out)
    assert r["files"] == 300 and r["touched"] == 5
    assert r["shadow_create_ms"] >= 0 and r["changes_list_ms"] >= 0 and r["cp_a_ms"] > 0
    assert "changes_list_ms" in out.getvalue()
