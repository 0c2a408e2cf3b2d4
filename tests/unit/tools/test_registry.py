"""Every tool result is bounded in one place (ToolRegistry.bounded): each tool's bound,
the end it keeps, a note saying how to see the rest, and a share of the model's window."""

from __future__ import annotations

from baton.mcp.registered import MCP_BOUND
from baton.tools.builtin import BUILTIN
from baton.tools.registry import MIN_RESULT_CHARS, Bound, result_limit

NUMBERED = "".join(f"{i:6}\tline number {i}\n" for i in range(1, 10_001))  # read_file's shape


def test_a_result_within_its_bound_is_unchanged() -> None:
    assert BUILTIN.bounded("list_files", "a.py\nb.py") == "a.py\nb.py"


def test_the_head_is_kept_at_a_line_break_with_how_to_narrow() -> None:
    text = "".join(f"packages/p{i:05d}/index.ts\n" for i in range(20_000))
    out = BUILTIN.bounded("list_files", text)
    head, note = out.rsplit("\n", 1)
    assert text.startswith(head + "\n") and len(head) <= 16_000
    assert note.startswith("[… ") and "more characters" in note
    assert f"({text.count(chr(10)) - head.count(chr(10)) - 1:,} lines)" in note
    assert note.endswith("not shown: narrow with path= (one of the folders above) or glob=]")


def test_read_file_says_where_to_read_on() -> None:
    out = BUILTIN.bounded("read_file", NUMBERED)
    last = out.rsplit("\n", 2)[-2]
    n = int(last.split("\t")[0])
    assert out.endswith(f"not shown: read on with start_line={n + 1}, or read the lines you "
                        "need with start_line/end_line]")
    assert len(out) < 40_200


def test_a_command_and_an_mcp_result_keep_both_ends() -> None:
    text = "START\n" + "noise\n" * 20_000 + "FAILED: the error at the end\n"
    for out in (BUILTIN.bounded("run_command", text), MCP_BOUND.apply(text)):
        assert out.startswith("START") and out.rstrip().endswith("FAILED: the error at the end")
        assert "characters left out here" in out and len(out) < 33_000


def test_a_small_window_bounds_every_result_to_a_tenth_of_it() -> None:
    assert result_limit(8_192) == 3_276 and result_limit(1_000) == MIN_RESULT_CHARS
    assert result_limit(None) is None
    # Ten calls in one turn share about a third of the window; one to three get a tenth each.
    assert result_limit(100_000, calls=3) == 40_000 and result_limit(100_000, calls=10) == 12_000
    assert result_limit(8_192, calls=10) == MIN_RESULT_CHARS
    out = BUILTIN.bounded("read_file", NUMBERED, context_window=8_192)
    assert len(out) < 3_276 + 200 and "start_line=" in out
    # An error about a tool that does not exist is bounded all the same.
    assert len(BUILTIN.bounded("no_such_tool", "x" * 100_000, context_window=8_192)) < 3_500


def test_a_bound_cut_mid_line_still_counts_what_is_left() -> None:
    out = Bound(chars=10, narrow="ask for less").apply("x" * 25)
    assert out == "x" * 10 + "\n[… 15 more characters (1 lines) not shown: ask for less]"
