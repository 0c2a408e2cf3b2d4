"""`python -m benchmarks`: every benchmark of issue 9 in one run, one results table.

Ratios are measured in the same run (Baton beside bare pygls, loaded beside idle), so a
slow or busy machine moves both sides. Goals are reported as met or not; nothing here
asserts on time. `--quick` runs a tiny configuration of each (the smoke test uses it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .report import Row, machine, table

ALL = ("startup", "latency", "runtime", "shadow", "concurrency")


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


async def run(only: tuple[str, ...], quick: bool, samples: int) -> tuple[list[Row], dict[str, Any]]:
    from .concurrency import bench_concurrency
    from .latency import bench_latency
    from .runtime import bench_overhead, bench_write_to_apply
    from .shadow import bench_shadow_rows
    from .startup import bench_startup

    rows: list[Row] = []
    raw: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as d:
        tmp = Path(d)
        if "startup" in only:
            _log("start-up: baton serve and bare pygls, spawned alternately")
            r, raw["startup"] = await bench_startup(tmp, repeat=2 if quick else 9)
            rows += r
        if "latency" in only:
            _log("editor latency: bare pygls, Baton idle, Baton with 8 runs streaming edits")
            r, raw["latency"] = await bench_latency(tmp, n=10 if quick else samples,
                                                    slots=2 if quick else 8)
            rows += r
        if "runtime" in only:
            _log("runtime overhead of a plan run; implementer write → applyEdit")
            row, raw["overhead"] = await bench_overhead(tmp, runs=2 if quick else 30)
            rows.append(row)
            row, w = await bench_write_to_apply(tmp, runs=2 if quick else 20)
            rows += [row, w.pop("info_row")]
            raw["write_to_apply"] = w
        if "shadow" in only:
            _log("shadow on a large workspace (generating it takes a while)")
            r, raw["shadow"] = await asyncio.to_thread(bench_shadow_rows, 300 if quick else 30_000)
            rows += r
        if "concurrency" in only:
            _log("concurrent runs: 25, 50 and 100 at once")
            r, raw["concurrency"] = await bench_concurrency(tmp, (2, 4) if quick else (25, 50, 100))
            rows += r
    return rows, raw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--only", action="append", choices=ALL, help="run only these (repeatable)")
    p.add_argument("--quick", action="store_true", help="a tiny configuration of each (smoke test)")
    # p99 of 1,500 is the 15th-worst sample: a few scheduler hiccups on a shared machine
    # do not decide it (with 500, three did).
    p.add_argument("--samples", type=int, default=1500, help="latency samples per phase (default 1500)")
    p.add_argument("--json", type=Path, help="also write every raw number to this file")
    args = p.parse_args(argv)
    only = tuple(args.only or ALL)
    started = time.time()
    rows, raw = asyncio.run(run(only, args.quick, args.samples))
    print(f"Baton benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}")
    print(f"Machine: {machine()}")
    print(f"Command: python -m benchmarks {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print()
    print(table(rows))
    judged = [r for r in rows if r.met is not None]
    missed = [r.measure for r in judged if not r.met]
    print()
    print(f"{len(judged) - len(missed)} of {len(judged)} goals met"
          + (f"; missed: {'; '.join(missed)}" if missed else ""))
    if args.json:
        args.json.write_text(json.dumps({"rows": [r.__dict__ for r in rows], "raw": raw},
                                        indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
