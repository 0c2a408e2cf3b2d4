"""The shadow on a large workspace: creation and changed-set listing (the sandbox's own
`bench_shadow`, run here so its numbers land in the same table)."""

from __future__ import annotations

import io

from .report import Row, fmt_ms


def bench_shadow_rows(n_files: int = 30_000) -> tuple[list[Row], dict]:
    from .shadow_cost import bench_shadow

    out = io.StringIO()  # its own per-line print goes to the raw results instead
    r = bench_shadow(n_files, with_cp=False, with_command=False, out=out)
    rows = [Row(f"shadow creation, {n_files:,} files", fmt_ms(r["shadow_create_ms"]), "budget 5 ms",
                r["shadow_create_ms"] / 5, "≤ 5 ms", r["shadow_create_ms"] <= 5),
            Row(f"shadow changed-set listing, {n_files:,} files ({r['touched']} touched)",
                fmt_ms(r["changes_list_ms"]), "budget 5 ms", r["changes_list_ms"] / 5, "≤ 5 ms",
                r["changes_list_ms"] <= 5)]
    return rows, r
