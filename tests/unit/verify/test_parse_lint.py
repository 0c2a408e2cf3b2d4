"""Linter and type checker output: ruff run here on a temp project, the others captured
from real runs (fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.verify.outcome import clean_lines
from baton.verify.parse_lint import parse_lint

from .helpers import project, run

FIXTURES = Path(__file__).parent / "fixtures"
ROOTS = [Path("/tmp/vp"), Path("/tmp/vj")]  # where the fixtures were captured

LINTED = {"pkg/__init__.py": "import os\n\n\ndef add(a, b):\n    return a + b\n",
          "pkg/bad.py": "def f():\n    return undefined_name\n"}
RUFF = [("pkg/__init__.py", 1, 8, "F401"), ("pkg/bad.py", 2, 12, "F821")]


def fixture(name: str) -> list[tuple]:
    p = parse_lint(clean_lines((FIXTURES / name).read_text()), ROOTS)
    assert p is not None and p.kind == "lint"
    return [(d.path, d.line, d.col, d.code, d.message) for d in p.diagnostics]


@pytest.mark.parametrize("fmt", ["full", "concise"])
def test_ruff_both_formats(tmp_path: Path, fmt: str) -> None:
    root = project(tmp_path, LINTED)
    out = run(root, "ruff", "check", "--no-cache", "--isolated", f"--output-format={fmt}", ".")
    p = parse_lint(clean_lines(out), [root])
    assert [(d.path, d.line, d.col, d.code) for d in p.diagnostics] == RUFF
    assert p.diagnostics[0].message == "`os` imported but unused"
    # Absolute paths (a tool run on the command view) come back relative to the workspace.
    p = parse_lint(clean_lines(out.replace("pkg/", f"{root}/pkg/")), [root])
    assert [d.path for d in p.diagnostics] == ["pkg/__init__.py", "pkg/bad.py"]


def test_clean_ruff_has_no_messages(tmp_path: Path) -> None:
    root = project(tmp_path, {})
    assert parse_lint(clean_lines(run(root, "ruff", "check", "--no-cache", "--isolated", ".")), [root]) is None


def test_flake8() -> None:
    got = fixture("flake8.txt")
    assert got[0] == ("pkg/__init__.py", 1, 1, "F401", "'os' imported but unused")
    assert len(got) == 10 and {g[3] for g in got[1:]} == {"E302"}


def test_mypy_with_and_without_columns() -> None:
    msg = 'Incompatible return value type (got "str", expected "int")'
    assert fixture("mypy.txt") == [("pkg/__init__.py", 5, None, "return-value", msg)]
    assert fixture("mypy_columns.txt") == [("pkg/__init__.py", 5, 12, "return-value", msg)]


def test_pyright_absolute_paths_and_rule() -> None:
    [(path, line, col, code, message)] = fixture("pyright.txt")
    assert (path, line, col, code) == ("pkg/__init__.py", 5, 12, "reportReturnType")
    assert message.startswith("Type \"Literal['x']\" is not assignable to return type \"int\"")


@pytest.mark.parametrize("name", ["tsc.txt", "tsc_pretty.txt"])
def test_tsc_plain_and_pretty(name: str) -> None:
    assert fixture(name) == [
        ("src/a.ts", 1, 7, "TS2322", "Type 'string' is not assignable to type 'number'."),
        ("src/a.ts", 2, 34, "TS2339", "Property 'foo' does not exist on type 'string'.")]


def test_eslint_stylish() -> None:
    assert fixture("eslint_stylish.txt") == [
        ("src/b.js", 1, 7, "no-unused-vars", "'unused' is assigned a value but never used"),
        ("src/b.js", 2, 23, "no-undef", "'undefinedVar' is not defined")]


def test_eslint_unix_formatter_and_mypy_notes() -> None:
    p = parse_lint(["src/b.js:1:7: 'unused' is assigned a value but never used. [Error/no-unused-vars]",
                    "pkg/a.py:3: note: See https://mypy.readthedocs.io", "Found 1 error"], [])
    [d] = p.diagnostics
    assert (d.path, d.code, d.message) == ("src/b.js", "no-unused-vars",
                                           "'unused' is assigned a value but never used.")


def test_source_lines_in_tracebacks_are_not_messages() -> None:
    lines = ["tests/test_a.py:6: AssertionError", "    x = 'a.py:1:2: F401 fake'",
             "1 | a.py:3:4: E1 in a code frame", "  |"]
    assert parse_lint(lines, []) is None
