"""Many concurrent runs: each batch size on a fresh `baton serve`, all runs started at
once, each a plan run editing its own open file with a zero-latency model.

Per batch: wall time to the last run's end, peak resident memory above the idle server,
code-action latency sampled while the batch runs, and the check that nothing is lost:
every run ends `done`, every file's buffer holds exactly its run's edit, and the journal
holds every run. Linear growth shows as per-run memory and time staying flat as the
batch grows.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from baton.state_dir import Locations

from .driver import RunDriver, pct, start
from .report import Row, fmt_ms
from .workspace import make_workspace, module_text, plan_entry, task, write_config

RSS_EVERY_S = 0.01  # between latency probes (and memory readings) while a batch runs


async def _batch(tmp: Path, size: int) -> dict[str, Any]:
    ws = tmp / f"concurrent-{size}"
    ws.mkdir()
    rels = make_workspace(ws, size)
    config = write_config(ws, [plan_entry(f"c{i}", [rel]) for i, rel in enumerate(rels)])
    client = await start("baton", ws, config)
    driver = RunDriver(client)
    try:
        uris = [client.open(ws / rel) for rel in rels]
        probe = {"textDocument": {"uri": uris[0]},
                 "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 3}},
                 "context": {"diagnostics": []}}
        await asyncio.sleep(0.3)  # the opens are processed, the server is idle
        idle: list[float] = []
        for _ in range(50):
            t0 = time.perf_counter()
            at, _ = await client.request_timed("textDocument/codeAction", probe)
            idle.append(at - t0)
        rss_idle = client.rss_kib()
        peak = rss_idle
        busy: list[float] = []
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, client.rss_kib())
                t0 = time.perf_counter()
                at, _ = await client.request_timed("textDocument/codeAction", probe)
                busy.append(at - t0)
                await asyncio.sleep(RSS_EVERY_S)

        watcher = asyncio.get_running_loop().create_task(watch())
        t0 = time.perf_counter()
        ids = await asyncio.gather(*(driver.start_run(task(f"c{i}")) for i in range(size)))
        await driver.wait_ended(ids, timeout=600)
        wall = time.perf_counter() - t0
        done.set()
        await watcher
        await asyncio.sleep(0.3)
        rss_after = client.rss_kib()
        lost: list[str] = []
        for i, (rel, uri) in enumerate(zip(rels, uris)):
            want = module_text(i).replace("flag_00 = 0\n", "flag_00 = 1\n", 1)
            if client.buffers[uri][0] != want:
                lost.append(f"{rel}: buffer does not hold exactly its run's edit")
    finally:
        await client.stop()
    db = sqlite3.connect(Locations.of(ws).journal)
    try:
        journaled = {r for (r,) in db.execute("SELECT DISTINCT run_id FROM events")}
    finally:
        db.close()
    lost += [f"{rid}: not in the journal" for rid in ids if rid not in journaled]
    return {"size": size, "wall_s": wall, "rss_idle_kib": rss_idle, "rss_peak_kib": peak,
            "rss_after_kib": rss_after, "idle_p99_ms": pct(idle, 99), "busy_p50_ms": pct(busy, 50),
            "busy_p99_ms": pct(busy, 99), "samples": len(busy),
            "failures": driver.failures(), "lost": lost}


async def bench_concurrency(tmp: Path, sizes: tuple[int, ...] = (25, 50, 100)) -> tuple[list[Row], dict]:
    results = [await _batch(tmp, n) for n in sizes]
    rows: list[Row] = []
    for r in results:
        n = r["size"]
        per_run_kib = (r["rss_peak_kib"] - r["rss_idle_kib"]) / n
        problems = len(r["failures"]) + len(r["lost"])
        rows.append(Row(
            f"{n} concurrent runs: wall time, peak memory above idle, per run",
            f"{r['wall_s'] * 1000 / n:.1f} ms/run, {per_run_kib:.0f} KiB/run "
            f"({r['wall_s']:.2f} s, +{(r['rss_peak_kib'] - r['rss_idle_kib']) / 1024:.1f} MiB)",
            f"codeAction p50 {fmt_ms(r['busy_p50_ms'])} / p99 {fmt_ms(r['busy_p99_ms'])} "
            f"during (idle p99 {fmt_ms(r['idle_p99_ms'])})",
            None, "linear; no errors, nothing lost",
            None if problems == 0 else False))
    if len(results) > 1:
        first, last = results[0], results[-1]
        t_growth = (last["wall_s"] / last["size"]) / (first["wall_s"] / first["size"])
        m_first = max(1, first["rss_peak_kib"] - first["rss_idle_kib"]) / first["size"]
        m_last = max(1, last["rss_peak_kib"] - last["rss_idle_kib"]) / last["size"]
        ok = all(not r["failures"] and not r["lost"] for r in results)
        rows.append(Row(f"per-run time and memory, {last['size']} vs {first['size']} runs",
                        f"time ×{t_growth:.2f}, memory ×{m_last / m_first:.2f}",
                        "1.0 is linear", t_growth, "≤ 1.5× (linear)",
                        ok and t_growth <= 1.5 and m_last / m_first <= 1.5))
    return rows, {"batches": results}
