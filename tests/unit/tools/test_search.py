"""Search: per-line RE2 matching in linear time, bounded, and clear about what RE2 refuses."""

from __future__ import annotations

import time

import pytest

from baton.errors import ToolRefused
from baton.tools import files as files_module
from baton.tools.search import CHUNK, LINE_CHARS, TimeUp, compile_pattern, matching_lines
from baton.tools.specs import Search

from .test_files import tools, ws  # noqa: F401 (ws is a fixture)


def lines(pattern: str, text: str) -> list[tuple[int, str]]:
    return list(matching_lines(compile_pattern(pattern), text.encode(), time.monotonic() + 10))


def test_anchors_are_per_line_and_no_match_spans_lines() -> None:
    text = "alpha\nbeta\r\ngamma a\nb\n"
    assert lines("^b", text) == [(2, "beta"), (4, "b")]
    assert lines("a$", text) == [(1, "alpha"), (2, "beta"), (3, "gamma a")]  # $ before CRLF too
    assert lines(r"a\s+b", text) == []
    assert lines(r"(?s)a.b", text) == []
    assert lines(r"a[^x]*b", text) == []
    assert lines("", "x\ny") == [(1, "x"), (2, "y")]


def test_line_numbers_hold_across_chunks() -> None:
    body = "".join(f"line {i}\n" for i in range(3 * CHUNK // 8))
    found = lines(r"^line (7|4000|20000)$", body)
    assert found == [(8, "line 7"), (4001, "line 4000"), (20001, "line 20000")]


def test_a_long_line_is_cut_around_the_match() -> None:
    [(n, shown)] = lines("NEEDLE", "é" * 50_000 + "NEEDLE" + "x" * 50_000)
    assert n == 1 and "NEEDLE" in shown and len(shown) <= LINE_CHARS + 2
    assert shown.startswith("…") and shown.endswith("…")


@pytest.mark.parametrize("pattern,feature", [
    (r"(a)\1", "backreference \\1"),
    (r"(?P<x>a)(?P=x)", "named backreference"),
    (r"foo(?=bar)", "lookahead"),
    (r"foo(?!bar)", "negative lookahead"),
    (r"(?<=x)y", "lookbehind"),
    (r"(?<!x)y", "negative lookbehind"),
    (r"(?>ab)", "atomic group"),
    (r"a++", "possessive"),
    (r"end\Z", "\\Z (use \\z"),
])
def test_unsupported_features_are_named(pattern: str, feature: str) -> None:
    with pytest.raises(ToolRefused, match="linear time") as e:
        compile_pattern(pattern)
    assert feature in str(e.value)


def test_invalid_and_overlong_patterns_are_refused() -> None:
    with pytest.raises(ToolRefused, match="not a valid regular expression"):
        compile_pattern("(")
    with pytest.raises(ToolRefused, match="longer than"):
        compile_pattern("a" * 1001)


def test_the_deadline_stops_a_scan() -> None:
    with pytest.raises(TimeUp):
        list(matching_lines(compile_pattern("x"), b"y\n" * 10, time.monotonic() - 1))


async def test_search_is_bounded_in_matches_and_time(ws, monkeypatch) -> None:
    (ws / "many.txt").write_text("hit\n" * 1_000)
    t, _ = tools(ws)
    out = t.search(Search(pattern="hit")).splitlines()
    assert len(out) == files_module.MAX_MATCHES + 1 and out[-1].startswith("… stopped at 200")
    monkeypatch.setattr(files_module, "SEARCH_SECONDS", -1)
    assert "stopped after" in t.search(Search(pattern="hit"))


async def test_search_a_single_file_and_created_files(ws) -> None:
    t, _ = tools(ws)
    assert t.search(Search(pattern="two", path="pkg/a.py")) == "pkg/a.py:2: two"
    await t.write_file(files_module.WriteFile(path="new/n.py", content="two too\n"))
    assert t.search(Search(pattern="two", path="new")) == "new/n.py:1: two too"
    assert t.search(Search(pattern="two", path="new/n.py")) == "new/n.py:1: two too"
