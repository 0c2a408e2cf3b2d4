"""Each benchmark runs end to end in a tiny configuration and produces its rows.

No timing is asserted (benchmarks print ratios; they never pass or fail on speed): what
is checked is that each one measures something real, that its runs all ended `done`
and that nothing was lost."""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.concurrency import bench_concurrency
from benchmarks.latency import bench_latency
from benchmarks.report import table
from benchmarks.runtime import bench_overhead, bench_write_to_apply
from benchmarks.shadow import bench_shadow_rows
from benchmarks.startup import bench_startup


def _finite(*values: float) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values)


async def test_startup_measures_both_servers(tmp_path: Path) -> None:
    rows, raw = await bench_startup(tmp_path, repeat=1, warmup=False)
    assert len(raw["startup_ms"]["baton"]) == len(raw["startup_ms"]["bare"]) == 1
    assert all(kib > 0 for kib in raw["rss_kib"]["baton"] + raw["rss_kib"]["bare"])
    assert _finite(rows[0].ratio, rows[1].ratio)


async def test_latency_samples_bare_idle_and_loaded(tmp_path: Path) -> None:
    rows, raw = await bench_latency(tmp_path, n=5, slots=2)
    assert raw["failures"] == []
    assert raw["loaded_runs"] >= 2  # the load really ran
    for phase in ("bare", "idle", "loaded"):
        assert _finite(*raw["percentiles_ms"][phase].values())
    assert "| codeAction p50, idle |" in table(rows)


async def test_plan_run_overhead_and_write_to_apply(tmp_path: Path) -> None:
    row, raw = await bench_overhead(tmp_path, runs=1)
    assert raw["errors"] == [] and len(raw["overhead_ms"]) == 1
    row, raw = await bench_write_to_apply(tmp_path, runs=1)
    assert raw["failures"] == []
    assert len(raw["write_to_apply_ms"]) == 1 and raw["write_to_apply_ms"][0] > 0


def test_shadow_rows() -> None:
    rows, raw = bench_shadow_rows(50)
    assert raw["files"] == 50 and raw["touched"] == 5
    assert [r.measure.split(",")[0] for r in rows] == ["shadow creation", "shadow changed-set listing"]


async def test_concurrent_runs_lose_nothing(tmp_path: Path) -> None:
    rows, raw = await bench_concurrency(tmp_path, (2, 3))
    for batch in raw["batches"]:
        assert batch["failures"] == [] and batch["lost"] == []
        assert batch["rss_peak_kib"] >= batch["rss_idle_kib"] > 0
    assert len(rows) == 3
