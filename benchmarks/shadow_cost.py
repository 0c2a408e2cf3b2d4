"""Benchmark: the shadow costs O(files touched), whatever the size of the workspace.

`bench_shadow()` generates a workspace of `n_files` files, then times creating a run's
shadow, writing a few files into it and listing its changes, beside `cp -a` of the same
tree for scale (what a copying sandbox would pay), and, where the bwrap layer is active,
one `true` command on the overlay view. Goal (issue 4): shadow creation and change
listing at most 5 ms each.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baton.sandbox import isolation
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow

TOUCHED = 5


def _make_tree(root: Path, n_files: int) -> None:
    per_dir = 100
    for i in range(n_files):
        d = root / f"pkg{i // (per_dir * 20):03d}" / f"mod{(i // per_dir) % 20:02d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"file{i:05d}.py").write_text(f"# generated file {i}\nVALUE = {i}\n")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _median_ms(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return _ms(statistics.median(samples))


def bench_shadow(n_files: int = 30_000, *, with_cp: bool = True, with_command: bool = True,
                 repeat: int = 5, out=sys.stdout) -> dict:
    """Run the benchmark, print one line per measure to `out`, return the numbers."""
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        t0 = time.perf_counter()
        _make_tree(ws, n_files)
        generate = time.perf_counter() - t0
        files = sorted(p.relative_to(ws).as_posix() for p in (ws / "pkg000" / "mod00").iterdir())
        touched = files[:TOUCHED]
        stores = iter(range(1_000_000))

        def create() -> Shadow:
            return Shadow(PathPolicy(ws), ws / ".baton" / "runs" / f"r{next(stores)}" / "shadow",
                          lambda p: None)

        create_ms = _median_ms(create, repeat)
        shadow = create()
        t0 = time.perf_counter()
        for rel in touched:
            shadow.write(rel, shadow.read(rel) + "# touched\n")
        write_ms = _ms((time.perf_counter() - t0) / len(touched))
        changes_ms = _median_ms(shadow.changes, repeat)
        assert len(shadow.changes()) == len(touched)
        result: dict = {"files": n_files, "generate_s": round(generate, 2),
                        "shadow_create_ms": create_ms, "shadow_write_ms_per_file": write_ms,
                        "changes_list_ms": changes_ms, "touched": len(touched)}
        from baton.sandbox.commands import run_command

        if with_command and isolation.active().layer == "bwrap":
            async def one() -> float:
                t = time.perf_counter()
                r = await run_command("true", shadow=shadow, workspace=ws, timeout_s=60,
                                      network=False, allow_unsandboxed=False)
                assert r.exit_code == 0, r.stderr
                return time.perf_counter() - t
            asyncio.run(one())  # first run creates the upper dir and copies up the touched files
            result["command_on_overlay_view_ms"] = _ms(statistics.median(
                [asyncio.run(one()) for _ in range(3)]))
        if with_command and isolation.probe_landlock()[1] is None:
            async def copy_view(layer: str) -> float:
                t = time.perf_counter()
                r = await run_command("true", shadow=shadow, workspace=ws, timeout_s=600,
                                      network=False, allow_unsandboxed=False, layer=layer)
                assert r.exit_code == 0, r.stderr
                return time.perf_counter() - t
            # The fallback's price: the first command copies the workspace, later ones walk it.
            result["command_on_landlock_copy_view_first_ms"] = _ms(asyncio.run(copy_view("landlock")))
            result["command_on_landlock_copy_view_next_ms"] = _ms(asyncio.run(copy_view("landlock")))
        if with_cp:
            t0 = time.perf_counter()
            subprocess.run(["cp", "-a", str(ws), str(Path(tmp) / "copy")], check=True)
            result["cp_a_ms"] = _ms(time.perf_counter() - t0)
            shutil.rmtree(Path(tmp) / "copy", ignore_errors=True)
    result["goal_met"] = create_ms <= 5 and changes_ms <= 5
    for k, v in result.items():
        print(f"shadow bench  {k:40} {v}", file=out)
    return result


if __name__ == "__main__":
    bench_shadow(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000)
