"""Start-up: spawn → initialize answer of `baton serve` and of the bare pygls server,
spawned alternately (so a busy neighbour on the machine slows both alike), and each
one's resident memory once it is up and idle."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

from .client import LspClient, bare_argv, baton_argv
from .report import Row, fmt_ms
from .workspace import make_workspace, write_config

SETTLE_S = 0.5  # idle time before reading memory: the engine's start-up work is over


async def _one(kind: str, ws: Path, config: Path) -> tuple[float, int]:
    env = {"BATON_LOG": "WARNING", "BATON_CONFIG": str(config)}
    client = LspClient(baton_argv() if kind == "baton" else bare_argv(), env=env, cwd=ws)
    await client.spawn()
    try:
        seconds = await client.initialize(ws)
        await client.command("baton.runs", {})
        await asyncio.sleep(SETTLE_S)
        return seconds, client.rss_kib()
    finally:
        await client.stop()


async def bench_startup(tmp: Path, repeat: int = 7, warmup: bool = True) -> tuple[list[Row], dict]:
    ws = tmp / "startup-ws"
    ws.mkdir()
    make_workspace(ws, 3)
    config = write_config(ws, [])
    times: dict[str, list[float]] = {"baton": [], "bare": []}
    rss: dict[str, list[int]] = {"baton": [], "bare": []}
    if warmup:  # the page cache and .pyc files, for both
        await _one("baton", ws, config)
        await _one("bare", ws, config)
    for _ in range(repeat):
        for kind in ("baton", "bare"):
            s, kib = await _one(kind, ws, config)
            times[kind].append(s)
            rss[kind].append(kib)
    baton_ms = statistics.median(times["baton"]) * 1000
    bare_ms = statistics.median(times["bare"]) * 1000
    baton_mib = statistics.median(rss["baton"]) / 1024
    bare_mib = statistics.median(rss["bare"]) / 1024
    ratio = baton_ms / bare_ms
    rows = [Row("spawn → initialize (median of %d)" % repeat, fmt_ms(baton_ms),
                f"bare pygls {fmt_ms(bare_ms)}", ratio, "≤ 1.1×", ratio <= 1.1),
            Row("idle memory (RSS)", f"{baton_mib:.1f} MiB", f"bare pygls {bare_mib:.1f} MiB",
                baton_mib / bare_mib, "printed", None)]
    return rows, {"startup_ms": times, "rss_kib": rss}
