"""display: what a person is shown is what is there."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.display import code, has_hidden, non_ascii_note, visible


@pytest.mark.parametrize("raw,shown", [
    ("src/app.py", "src/app.py"),
    ("grep 'a\\|b' x", "grep 'a\\|b' x"),  # no escape made: backslashes shown as they are
    ("a\nb", "a\\nb"),
    ("a\rb", "a\\rb"),
    ("a\tb", "a\\tb"),
    ("\x1b[2Jx", "\\x1b[2Jx"),
    ("\x9b31m", "\\x9b31m"),  # the one-byte CSI
    ("a\u202eb", "a\\u202eb"),
    ("a\u2066b\u2069", "a\\u2066b\\u2069"),
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("bom\ufeff", "bom\\ufeff"),
    ("nb\u00a0sp", "nb\\xa0sp"),
    ("line\u2028sep", "line\\u2028sep"),
    ("filler\u3164", "filler\\u3164"),
    ("vs\ufe0f", "vs\\ufe0f"),
    ("tag\U000e0041", "tag\\U000e0041"),
    ("echo hi\\nrm x\nls", "echo hi\\\\nrm x\\nls"),  # an escape made: a real backslash doubles
    ("pytest" + " " * 40 + "; rm -rf ~", "pytest[40 spaces]; rm -rf ~"),
    ("a        b", "a        b"),  # eight spaces stay
    ("é😀 日本", "é😀 日本"),
])
def test_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_multiline_keeps_lines_and_tabs_and_escapes_the_rest() -> None:
    text = "def f():\r\n\treturn 1\n\x1b[31mred\rX\u202e"
    assert visible(text, multiline=True) == "def f():\n\treturn 1\n\\x1b[31mred\\rX\\u202e"


def test_limit_bounds_the_result_and_says_so() -> None:
    out = visible("x" * 10_000, limit=200)
    assert len(out) <= 200 and "10000 characters" in out


def test_limit_never_cuts_an_escape_in_half() -> None:
    out = visible("\u202e" * 100, limit=80)
    head = out.split("…")[0]
    assert re.fullmatch(r"(\\u202e)*", head), head


@given(st.text(), st.booleans(), st.one_of(st.none(), st.integers(60, 400)))
def test_visible_shows_nothing_hidden_and_is_idempotent(text: str, multiline: bool,
                                                        limit: int | None) -> None:
    out = visible(text, multiline=multiline, limit=limit)
    allowed = {"\n", "\t"} if multiline else set()
    assert not any(has_hidden(c) for c in out if c not in allowed)
    assert visible(out, multiline=multiline, limit=limit) == out
    if limit is not None:
        assert len(out) <= limit


@given(st.text())
def test_visible_loses_nothing_when_escaping(text: str) -> None:
    """A one-line text with an escape in it can be read back exactly: the escapes are
    Python's, with real backslashes doubled."""
    out = visible(text)
    if has_hidden(text) and " " * 9 not in text:
        assert out.encode("latin-1", "backslashreplace").decode("unicode_escape") == text


@pytest.mark.parametrize("raw,quoted", [
    ("hello.py", "`hello.py`"),
    ("a`b", "``a`b``"),
    ("x` (in its sandbox). Allow `rm -rf ~", "``x` (in its sandbox). Allow `rm -rf ~``"),
    ("`x`", "`` `x` ``"),
    ("a\nb", "`a\\nb`"),
])
def test_code_quotes_so_nothing_inside_ends_the_quote(raw: str, quoted: str) -> None:
    assert code(raw) == quoted


def test_non_ascii_note_names_the_characters() -> None:
    assert non_ascii_note("hello.py") == ""
    assert non_ascii_note("h\u0435llo.py") == "(non-ASCII characters: U+0435 CYRILLIC SMALL LETTER IE)"
    assert non_ascii_note("a\u202eb") == ""  # already an escape
    assert non_ascii_note("äöüß").endswith("and 1 more)")
