"""The results table: one row per measure, printed as Markdown so it can go straight
into the README. Goals are reported as met or missed, never asserted."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass


@dataclass
class Row:
    measure: str
    value: str
    reference: str = ""  # what the value is compared with (bare pygls, idle, a budget)
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None


def fmt_ms(ms: float) -> str:
    return f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) // 1024 // 1024} GiB"
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def table(rows: list[Row]) -> str:
    out = ["| measure | Baton | compared with | ratio | goal | met |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        out.append(f"| {r.measure} | {r.value} | {r.reference} | {ratio} | {r.goal} | {met} |")
    return "\n".join(out)
