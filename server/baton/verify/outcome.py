"""What one verification command did on one view, as parsed, bounded data.

The output comes from the repository's own tests and tools, so it is untrusted: it is cut
to bounds here, read only through the line patterns of parse_tests/parse_lint (never as
structure beyond them), and kept raw: whatever shows it goes through report.py, which
passes every piece through `display.visible`. An `Outcome` is what the journal records
and the cache holds; the full output never is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Side = Literal["base", "change"]
Kind = Literal["tests", "lint", "exit"]  # which parser recognised the output; exit: none did

# Bounds: an outcome is journaled, so even a hostile flood of output keeps it to ~200 KB.
MAX_FAILED = 100        # failing tests kept per outcome
MAX_DIAGNOSTICS = 300   # lint messages kept per outcome
MAX_ID = 200            # characters of a test id, a path, a code
MAX_MESSAGE = 300       # characters of a one-line message
EXCERPT_LINES = 40      # lines of one failure's output kept (its head and its end)
EXCERPT_CHARS = 2_500
EXCERPTS_CHARS = 40_000  # all failures' excerpts of one outcome; past it, each keeps its end
SHORT_EXCERPT_CHARS = 400
TAIL_LINES = 40         # the output's last lines, for what no parser recognised
TAIL_CHARS = 3_000
LINE_CHARS = 4_000      # of one output line, for the parsers

# Terminal escapes (CSI: colours, cursor moves; OSC: titles, links) carry no meaning for a
# parser; other control characters stay and are shown as escapes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")


class FailedTest(BaseModel):
    id: str                   # pytest node id, or unittest's module.Class.test
    error: bool = False       # an error (setup, collection) rather than a failed check
    message: str = ""         # the one-line reason the runner gives
    path: str | None = None   # where it failed, relative to the workspace when inside it
    line: int | None = None
    excerpt: str = ""         # its failure section, bounded


class Diagnostic(BaseModel):
    path: str
    line: int
    col: int | None = None
    code: str = ""
    message: str
    severity: str = "error"

    def key(self) -> tuple[str, str, str]:
        """What identifies the message across an edit that moves lines: the file, the code
        and the text with line numbers in it blurred (no line, no column)."""
        return (self.path, self.code, _LINE_REFS.sub(r"\1#", " ".join(self.message.split())))

    def where(self) -> str:
        return f"{self.path}:{self.line}" + (f":{self.col}" if self.col else "")


_LINE_REFS = re.compile(r"((?:\bline|:)\s?)\d+")


class Counts(BaseModel):
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0


class Parsed(BaseModel):
    kind: Kind = "exit"
    counts: Counts | None = None
    failed: list[FailedTest] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    truncated: bool = False   # more failures or messages than kept


class Outcome(Parsed):
    command: str
    side: Side
    key: str | None = None    # content key of the view it ran on (content_key.py); None: not cacheable
    exit_code: int | None = None
    timed_out: bool = False
    error: str | None = None  # not run at all (no sandbox, the run's time used up, ...)
    duration_s: float = 0.0
    tail: str = ""            # the output's end, bounded

    @property
    def clean(self) -> bool:
        """Nothing to compare: it ran, exited 0 and reported no failure or message."""
        return (self.error is None and not self.timed_out and self.exit_code == 0
                and not self.failed and not self.diagnostics)

    @property
    def verdict(self) -> bool:
        """It ran to its end (exit status known)."""
        return self.error is None and not self.timed_out and self.exit_code is not None


def clean_lines(text: str) -> list[str]:
    """`text`'s lines without terminal escapes, each cut to LINE_CHARS (no parser needs
    more, and a line of megabytes would cost every pattern its length)."""
    return [ln[:LINE_CHARS].rstrip("\r") for ln in _ESCAPES.sub("", text).split("\n")]


def bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def excerpt(lines: Sequence[str], max_lines: int = EXCERPT_LINES, max_chars: int = EXCERPT_CHARS) -> str:
    """The first lines and the end of `lines` (the reason is usually at the end)."""
    lines = [ln for ln in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) > max_lines:
        head = max_lines // 4
        lines = [*lines[:head], f"[... {len(lines) - max_lines + 1} lines ...]",
                 *lines[len(lines) - (max_lines - head - 1):]]
    text = "\n".join(bounded(ln, 300) for ln in lines)
    if len(text) > max_chars:
        text = "…" + text[len(text) - max_chars + 1:]
    return text


def share_excerpts(failed: list[FailedTest]) -> None:
    """Keep the excerpts of one outcome within EXCERPTS_CHARS: in order, whole while the
    budget lasts, then only their last lines (where the reason is)."""
    used = 0
    for test in failed:
        if used + len(test.excerpt) > EXCERPTS_CHARS:
            test.excerpt = excerpt(test.excerpt.split("\n")[-8:], 8, SHORT_EXCERPT_CHARS)
        used += len(test.excerpt)


def tail(text: str) -> str:
    return excerpt(clean_lines(text)[-TAIL_LINES:], TAIL_LINES, TAIL_CHARS)


def workspace_path(raw: str, roots: Sequence[Path]) -> str:
    """A path from a tool's output relative to the workspace (the view the tool ran in is
    one of `roots`), `./` dropped; one outside every root is kept as printed."""
    raw = raw.strip()
    if os.path.isabs(raw):
        norm = os.path.normpath(raw)
        for root in roots:
            r = str(root)
            if norm == r or norm.startswith(r.rstrip("/") + "/"):
                return bounded(os.path.relpath(norm, r), MAX_ID)
        return bounded(norm, MAX_ID)
    while raw.startswith("./"):
        raw = raw[2:]
    return bounded(raw, MAX_ID)
