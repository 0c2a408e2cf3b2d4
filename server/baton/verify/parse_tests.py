"""Test runners' output: pytest and unittest summaries, failing test ids, failure sections.

Only anchored line patterns are read. A summary line is what says the output is a test
run at all; failing ids come from pytest's short summary (`FAILED id - reason`, `ERROR id`)
or its verbose lines, and from unittest's `FAIL: test (module.Class.test)` headers. A test
that prints look-alike lines can at most add ids to its own command's list, and the exit
status stays the judge of whether the command failed (compare.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .outcome import (MAX_FAILED, MAX_ID, MAX_MESSAGE, Counts, FailedTest, Parsed, bounded,
                      excerpt, workspace_path)

_PYTEST_WORDS = {"failed", "passed", "skipped", "deselected", "xfailed", "xpassed", "error",
                 "errors", "warning", "warnings", "rerun", "subtests"}
_PYTEST_SUMMARY = re.compile(
    r"^=* ?(?P<body>\d+ \w+(?:, \d+ \w+)*|no tests ran)(?: in [\d.]+s(?: \([\d:.]+\))?)? ?=*$")
_PYTEST_SHORT = re.compile(r"^(?P<kind>FAILED|ERROR) (?P<id>\S.*?)(?: - (?P<msg>.*))?$")
_PYTEST_VERBOSE = re.compile(r"^(?P<id>\S+::\S.*?) (?P<kind>FAILED|ERROR)(?: +\[ *\d+%\])?$")
_PYTEST_BLOCK = re.compile(r"^=+ (?P<title>[A-Za-z ]+) =+$")
_PYTEST_SECTION = re.compile(r"^_{2,} (?P<name>.+?) _{2,}$")
_PYTEST_WHERE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): (?P<what>[A-Za-z_][\w.]*)$")

_UNITTEST_RAN = re.compile(r"^Ran (?P<n>\d+) tests? in [\d.]+s$")
_UNITTEST_STATUS = re.compile(r"^(?P<status>OK|FAILED)(?: \((?P<body>[a-z =0-9,]*)\))?$")
_UNITTEST_HEADER = re.compile(
    r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<name>\S+) \((?P<where>[^)\s]*)\)(?P<rest>.*)$")
_UNITTEST_WHERE = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)')


def parse_tests(lines: Sequence[str], roots: Sequence[Path]) -> Parsed | None:
    """The test run in `lines`, or None when no runner's summary is there."""
    return _pytest(lines, roots) or _unittest(lines, roots)


# -- pytest ----------------------------------------------------------------------------

def _pytest_counts(line: str) -> Counts | None:
    m = _PYTEST_SUMMARY.match(line)
    if not m:
        return None
    counts = Counts()
    if m["body"] == "no tests ran":
        return counts
    for part in m["body"].split(", "):
        n, word = part.split(" ", 1)
        if word not in _PYTEST_WORDS:
            return None
        if word in ("failed", "passed", "skipped"):
            setattr(counts, word, int(n))
        elif word.startswith("error"):
            counts.errors = int(n)
    return counts


def _pytest(lines: Sequence[str], roots: Sequence[Path]) -> Parsed | None:
    counts = None
    for line in reversed(lines):
        counts = _pytest_counts(line)
        if counts is not None:
            break
    if counts is None:
        return None
    failed: dict[str, FailedTest] = {}
    # The last such header is pytest's own: captured output is printed before it.
    after = next((i for i in range(len(lines) - 1, -1, -1)
                  if "short test summary" in lines[i] and _PYTEST_BLOCK.match(lines[i])), None)
    for line in lines[after:] if after is not None else lines:
        m = _PYTEST_SHORT.match(line)
        if m:
            _add(failed, m["id"], m["kind"] == "ERROR", m["msg"] or "")
    if not failed:  # no short summary (-rN): the verbose per-test lines
        for line in lines:
            m = _PYTEST_VERBOSE.match(line)
            if m:
                _add(failed, m["id"], m["kind"] == "ERROR", "")
    _pytest_sections(lines, failed, roots)
    return Parsed(kind="tests", counts=counts, failed=list(failed.values())[:MAX_FAILED],
                  truncated=len(failed) > MAX_FAILED)


def _add(failed: dict[str, FailedTest], raw_id: str, error: bool, message: str) -> None:
    test_id = bounded(raw_id.strip(), MAX_ID)
    if test_id not in failed and len(failed) <= MAX_FAILED:
        failed[test_id] = FailedTest(id=test_id, error=error, message=bounded(message, MAX_MESSAGE))


def _section_name(test_id: str) -> str:
    """The name pytest heads a test's failure section with: `Class.test[param]`, or the
    file for a collection error."""
    file, sep, node = test_id.partition("::")
    return node.replace("::", ".") if sep else f"collecting {file}"


def _pytest_sections(lines: Sequence[str], failed: dict[str, FailedTest],
                     roots: Sequence[Path]) -> None:
    sections: list[tuple[str, list[str]]] = []
    in_block = False
    for line in lines:
        block = _PYTEST_BLOCK.match(line)
        if block:
            in_block = block["title"].strip() in ("FAILURES", "ERRORS")
            if not in_block:
                sections.append(("", []))  # ends the last section
            continue
        head = _PYTEST_SECTION.match(line) if in_block else None
        if head:
            name = head["name"]
            for prefix in ("ERROR at setup of ", "ERROR at teardown of ", "ERROR "):
                name = name.removeprefix(prefix)
            sections.append((name, []))
        elif sections and in_block:
            sections[-1][1].append(line)
    by_name: dict[str, list[FailedTest]] = {}
    for test in failed.values():
        by_name.setdefault(_section_name(test.id), []).append(test)
    for name, body in sections:
        for test in by_name.get(name, []):
            if test.excerpt:
                continue  # the same name in two files: sections come in summary order
            test.excerpt = excerpt(body)
            test.path, test.line = _pytest_where(body, test.id, roots)
            break


def _pytest_where(body: Sequence[str], test_id: str, roots: Sequence[Path]) -> tuple[str | None, int | None]:
    """The crash line pytest prints at a section's end (`tests/x.py:12: AssertionError`),
    preferring one in the test's own file."""
    file = test_id.partition("::")[0]
    found: tuple[str | None, int | None] = (None, None)
    for line in body:
        m = _PYTEST_WHERE.match(line)
        if m:
            path = workspace_path(m["path"], roots)
            if found[0] != file or path == file:
                found = (path, int(m["line"]))
    if found[0] is None and "::" in test_id:
        return file, None
    return found


# -- unittest --------------------------------------------------------------------------

def _unittest(lines: Sequence[str], roots: Sequence[Path]) -> Parsed | None:
    ran = status = None
    for i in range(len(lines) - 1, -1, -1):
        if status is None:
            status = _UNITTEST_STATUS.match(lines[i])
        elif (m := _UNITTEST_RAN.match(lines[i])):
            ran = int(m["n"])
            break
    if ran is None or status is None:
        return None
    numbers = dict(_pair(p) for p in (status["body"] or "").split(",") if "=" in p)
    counts = Counts(failed=numbers.get("failures", 0), errors=numbers.get("errors", 0),
                    skipped=numbers.get("skipped", 0))
    counts.passed = max(ran - counts.failed - counts.errors - counts.skipped
                        - numbers.get("expected failures", 0)
                        - numbers.get("unexpected successes", 0), 0)
    failed: dict[str, FailedTest] = {}
    current: FailedTest | None = None
    body: list[str] = []
    for line in lines:
        head = _UNITTEST_HEADER.match(line)
        if head or line.startswith("=" * 70) or _UNITTEST_RAN.match(line):
            _finish(current, body, roots)
            current, body = None, []
        if head:
            where, name = head["where"], head["name"]
            test_id = where if where.endswith("." + name) else f"{where}.{name}"
            if head["rest"].strip():
                test_id += " " + head["rest"].strip()
            _add(failed, test_id, head["kind"] == "ERROR", "")
            current = failed.get(bounded(test_id, MAX_ID))
        elif current is not None and not line.startswith("-" * 70):
            body.append(line)
    _finish(current, body, roots)
    return Parsed(kind="tests", counts=counts, failed=list(failed.values())[:MAX_FAILED],
                  truncated=len(failed) > MAX_FAILED)


def _pair(part: str) -> tuple[str, int]:
    name, _, n = part.strip().partition("=")
    return name, int(n) if n.isdigit() else 0


def _finish(test: FailedTest | None, body: list[str], roots: Sequence[Path]) -> None:
    if test is None or test.excerpt:
        return
    test.excerpt = excerpt(body)
    reason = next((ln for ln in reversed(body) if ln.strip()), "")
    test.message = bounded(reason.strip(), MAX_MESSAGE)
    for line in body:
        m = _UNITTEST_WHERE.match(line)
        if m:
            path = workspace_path(m["path"], roots)
            if not path.startswith("/"):
                test.path, test.line = path, int(m["line"])
