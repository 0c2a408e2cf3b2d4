"""toml_positions: the line each key of a TOML document is written on."""

from __future__ import annotations

import tomllib

import pytest

from baton.toml_positions import key_lines

DOCUMENT = '''# a comment [not.a.table]
title = "x"  # trailing = comment
[providers.claude]
kind = "anthropic"
notes = """
fake = 1
[not.a.table]
still "inside \\""" here"""
literal = \'\'\'
[nor.this]\'\'\'
"quoted.key" = 1
'single' = 2
a . b.c = [1,
  2, # a comment in an array
  {z = 3}]
[[arr]]
x = 1
[[arr]]
y = 'lit'
[ roles ]
planner = { x = 1, y = [1, 2], "q k" = "v" }
when = 1979-05-27 07:32:00Z
[permissions]
commands = [
  "pytest",
  "ruff check",
]
'''


def test_every_key_has_the_line_it_is_written_on():
    assert tomllib.loads(DOCUMENT)  # the scanner only ever sees valid TOML
    lines = key_lines(DOCUMENT)
    assert lines[("title",)] == 2
    assert lines[("providers",)] == lines[("providers", "claude")] == 3
    assert lines[("providers", "claude", "kind")] == 4
    assert lines[("providers", "claude", "notes")] == 5
    assert lines[("providers", "claude", "literal")] == 9
    assert lines[("providers", "claude", "quoted.key")] == 11
    assert lines[("providers", "claude", "single")] == 12
    assert lines[("providers", "claude", "a", "b", "c")] == 13
    assert lines[("providers", "claude", "a", "b", "c", 1)] == 14
    assert lines[("providers", "claude", "a", "b", "c", 2, "z")] == 15
    assert lines[("arr", 0, "x")] == 17 and lines[("arr", 1)] == 18 and lines[("arr", 1, "y")] == 19
    assert lines[("roles",)] == 20
    assert lines[("roles", "planner", "y", 1)] == 21 and lines[("roles", "planner", "q k")] == 21
    assert lines[("roles", "when")] == 22
    assert lines[("permissions", "commands", 0)] == 25 and lines[("permissions", "commands", 1)] == 26


def test_text_inside_strings_and_comments_is_not_a_key():
    lines = key_lines(DOCUMENT)
    assert not any(k[:1] == ("not",) or k[:1] == ("nor",) or "fake" in k for k in lines)


def test_a_table_is_where_it_is_first_written():
    lines = key_lines("[a.b]\nx = 1\n[a]\ny = 2\n")
    assert lines[("a",)] == 1 and lines[("a", "y")] == 4


@pytest.mark.parametrize("text", ["[a\n", "x = \"open\n", "x = [1,\n", "= 1\n", "\x00"])
def test_text_that_is_not_toml_gives_what_was_found_never_an_error(text):
    assert isinstance(key_lines("ok = 1\n" + text), dict)


def test_windows_line_ends():
    assert key_lines("[a]\r\nx = 1\r\ny = 'v'\r\n") == {("a",): 1, ("a", "x"): 2, ("a", "y"): 3}
