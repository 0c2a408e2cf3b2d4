"""Regular-expression search for the `search` tool, in linear time and bounded.

Patterns come from a model. A backtracking engine (Python's `re`) can take exponential time
on them (`(a+)+$` over 27 `a`s and `!` took seconds) while holding the GIL, which stalls the
engine's event loop whatever thread it runs on. RE2 (google-re2) matches in time linear in
the text and releases the GIL while it matches; what it cannot do in linear time
(backreferences, lookaround) it refuses, and the model is told which feature that was.

Matching is per line, as in grep: the pattern is compiled with `never_nl` (no match spans
a newline) and multi-line anchors (`^`/`$` at line boundaries), and run over the whole
file in chunks of whole lines, so one call covers many lines and the deadline is checked
between chunks. The output is bounded in matches, characters per line and total size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import re2

from ..errors import ToolRefused

MAX_PATTERN = 1000
CHUNK = 1 << 16  # bytes of whole lines per RE2 call: bounds the time between deadline checks
LINE_CHARS = 300
CONTEXT_BEFORE = 100  # characters kept before a match on a line longer than LINE_CHARS

# RE2's own error texts for what it refuses by design, and what to call them for the model.
_UNSUPPORTED = (
    ("(?=", "lookahead (?=…)"), ("(?!", "negative lookahead (?!…)"),
    ("(?<=", "lookbehind (?<=…)"), ("(?<!", "negative lookbehind (?<!…)"),
    ("(?P=", "named backreference (?P=name)"), ("(?>", "atomic group (?>…)"),
    ("++", "possessive quantifier"), ("*+", "possessive quantifier"), ("?+", "possessive quantifier"),
)


class TimeUp(Exception):
    """The search's time budget ran out."""


def compile_pattern(pattern: str) -> Any:
    """The pattern compiled for per-line matching, or ToolRefused saying what is wrong."""
    if len(pattern) > MAX_PATTERN:
        raise ToolRefused(f"pattern is longer than {MAX_PATTERN} characters")
    options = re2.Options()
    options.log_errors = False  # RE2 would write every bad pattern to stderr
    options.never_nl = True
    try:
        return re2.compile(("(?m)" + pattern).encode("utf-8", "surrogatepass"), options)
    except re2.error as e:
        raise ToolRefused(_explain(pattern, e)) from None


def _explain(pattern: str, error: Exception) -> str:
    detail = error.args[0] if error.args else ""
    detail = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    what = None
    if "invalid escape sequence: \\" in detail and detail[-1:].isdigit():
        what = f"backreference {detail.rsplit(' ', 1)[-1]}"
    elif detail.endswith("invalid escape sequence: \\Z"):
        what = "\\Z (use \\z for the end of the text, or $ for the end of a line)"
    elif "invalid perl operator: (?P" in detail and "(?P=" in pattern:
        what = "named backreference (?P=name)"
    else:
        what = next((name for op, name in _UNSUPPORTED if detail.endswith(op)), None)
    if what is not None:
        return (f"pattern uses a {what}, which search does not support: it matches in linear "
                "time (RE2 syntax), so backreferences and lookaround (lookahead, lookbehind) "
                "are not available. Search for a simpler pattern, then read the file.")
    return f"pattern is not a valid regular expression (RE2 syntax): {detail}"


def matching_lines(regex: Any, data: bytes, deadline: float) -> Iterator[tuple[int, str]]:
    """(line number, line text) for each line of `data` the pattern matches, the text cut to
    about LINE_CHARS characters around the match. Raises TimeUp past `deadline`."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")  # `$` before CRLF, as in a line read by Python
    n = len(data)
    pos, line_no, counted = 0, 1, 0
    while pos < n:
        if time.monotonic() > deadline:
            raise TimeUp
        end = data.find(b"\n", min(pos + CHUNK, n))
        end = n if end < 0 else end + 1
        m = regex.search(data, pos, end)
        if m is None:
            pos = end
            continue
        start = m.start()
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", start)
        line_end = n if line_end < 0 else line_end
        line_no += data.count(b"\n", counted, line_start)
        counted = line_start
        yield line_no, _excerpt(data, line_start, line_end, start)
        pos = line_end + 1


def _excerpt(data: bytes, line_start: int, line_end: int, at: int) -> str:
    if line_end - line_start <= LINE_CHARS:
        return data[line_start:line_end].decode("utf-8", "replace")
    # A long line (minified code, data): the part around the match. Windows are cut in
    # bytes (4 per character at most), so a cut character is dropped, not shown broken.
    lo = max(line_start, at - 4 * CONTEXT_BEFORE)
    before = data[lo:at].decode("utf-8", "ignore")
    head = "…" if lo > line_start or len(before) > CONTEXT_BEFORE else ""
    before = before[-CONTEXT_BEFORE:]
    after = data[at:min(line_end, at + 4 * LINE_CHARS)].decode("utf-8", "ignore")
    text = before + after[:LINE_CHARS - len(before)]
    tail = "…" if len(before) + len(after) > len(text) or at + 4 * LINE_CHARS < line_end else ""
    return f"{head}{text}{tail}"
