"""The tool-results benchmark runs (a small tree, a short loop); its numbers are printed
by `python -m benchmarks.tool_results`, never asserted on time."""

from __future__ import annotations

from benchmarks import tool_results


async def test_the_tool_results_benchmark_runs(tmp_path) -> None:
    tool_results.make_tree(tmp_path / "ws", 6_000)  # packages p000 to p011
    rows = tool_results.measure_tools(tmp_path / "ws")
    assert [r["call"] for r in rows][0] == "list_files" and all(r["chars"] > 0 for r in rows)
    loop = await tool_results.measure_loop(files=12, window=16_000)
    assert loop["compactions"] > 0 and loop["largest_request"] < 16_000
