"""Minimal LSP text edits between two versions of a file, applying them, and unified diffs.

Pure functions, no I/O. Positions follow LSP: lines end at `\\n`, `\\r\\n` or `\\r`, and a
position's `character` counts code units of the negotiated encoding ("utf-8", "utf-16" or
"utf-32"), so the same edit lands on the same characters in Neovim (utf-8) and VS Code (utf-16).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from lsprotocol.types import Position, Range, TextEdit

# One line with its terminator; the last line may have none. Not `str.splitlines`, which also
# breaks on \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029, where LSP clients do not.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")

# Above this many changed lines difflib's junk heuristic is kept on: less minimal around very
# common lines (blank lines, braces) but never quadratic on a wholesale rewrite.
_EXACT_DIFF_LINES = 2000

Encoding = str  # "utf-8" | "utf-16" | "utf-32" (lsprotocol PositionEncodingKind values)


def split_lines(text: str) -> list[str]:
    """LSP lines of `text`, each keeping its terminator; `""` has no lines."""
    return _LINE.findall(text)


def code_units(s: str, encoding: Encoding) -> int:
    """Length of `s` in code units of `encoding`."""
    if encoding == "utf-16":
        return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)
    if encoding == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(s)
    raise ValueError(f"unknown position encoding {encoding!r}")


def _content(line: str) -> str:
    return line.rstrip("\r\n")


def line_hunks(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int, int]]:
    """Changed line ranges `(a_start, a_end, b_start, b_end)` turning lines `a` into lines `b`.

    Common leading and trailing lines are cut before difflib sees the rest, so a one-line
    change in a huge file costs one linear scan, not a sequence match over the whole file.
    Hunks are in order and separated by at least one unchanged line.
    """
    n, m = len(a), len(b)
    lo = 0
    while lo < n and lo < m and a[lo] == b[lo]:
        lo += 1
    hi_a, hi_b = n, m
    while hi_a > lo and hi_b > lo and a[hi_a - 1] == b[hi_b - 1]:
        hi_a -= 1
        hi_b -= 1
    if lo == hi_a and lo == hi_b:
        return []
    if lo == hi_a or lo == hi_b:
        return [(lo, hi_a, lo, hi_b)]
    exact = max(hi_a - lo, hi_b - lo) <= _EXACT_DIFF_LINES
    matcher = difflib.SequenceMatcher(None, a[lo:hi_a], b[lo:hi_b], autojunk=not exact)
    return [(lo + i1, lo + i2, lo + j1, lo + j2)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _common_prefix(x: str, y: str) -> int:
    limit = min(len(x), len(y))
    # Compare big slices first: a hunk can be a megabyte on one line (minified files).
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if x[lo:mid] == y[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(x: str, y: str, limit: int) -> int:
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if x[len(x) - mid:len(x) - lo] == y[len(y) - mid:len(y) - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _position(lines: Sequence[str], first: int, offset: int, encoding: Encoding) -> Position:
    """Position of `offset`, counted from the start of `lines[first]`, in the whole document.

    `offset` never falls between the \\r and \\n of a line end (callers make sure of it).
    """
    line = first
    while line < len(lines):
        content_len = len(_content(lines[line]))
        if offset <= content_len:
            return Position(line=line, character=code_units(lines[line][:offset], encoding))
        if offset < len(lines[line]):
            # Inside a line terminator: only the end of the content is addressable.
            return Position(line=line, character=code_units(_content(lines[line]), encoding))
        offset -= len(lines[line])
        line += 1
    # The end of a document whose last line has a terminator is the start of an empty line.
    return Position(line=line, character=0)


def text_edits(before: str, after: str, encoding: Encoding) -> list[TextEdit]:
    """Minimal edits that an LSP client applies (all against `before`) to obtain `after`.

    Only changed lines are touched; inside each changed run of lines the characters shared at
    its start and end are left alone, so an edit can begin and end mid-line. Edits are in
    document order and never overlap or touch.
    """
    if before == after:
        return []
    a, b = split_lines(before), split_lines(after)
    edits: list[TextEdit] = []
    for a1, a2, b1, b2 in line_hunks(a, b):
        old, new = "".join(a[a1:a2]), "".join(b[b1:b2])
        p = _common_prefix(old, new)
        s = _common_suffix(old, new, min(len(old), len(new)) - p)
        # A position cannot point between \r and \n: widen the edit by that one character.
        if 0 < p < len(old) and old[p - 1] == "\r" and old[p] == "\n":
            p -= 1
        end = len(old) - s
        if 0 < s and 0 < end and old[end - 1] == "\r" and old[end] == "\n":
            s -= 1
            end += 1
        start_pos = _position(a, a1, p, encoding)
        end_pos = _position(a, a1, end, encoding)
        edits.append(TextEdit(range=Range(start=start_pos, end=end_pos),
                              new_text=new[p:len(new) - s]))
    return edits


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for match in re.finditer(r"\r\n|\r|\n", text):
        starts.append(match.end())
    return starts


def _offset(text: str, starts: list[int], pos: Position, encoding: Encoding) -> int:
    """Offset of an LSP position in `text`; out-of-range values clamp like editors do."""
    if pos.line >= len(starts):
        return len(text)
    begin = starts[pos.line]
    end = starts[pos.line + 1] if pos.line + 1 < len(starts) else len(text)
    content = _content(text[begin:end])
    if encoding == "utf-32":
        return begin + min(pos.character, len(content))
    units = 0
    for i, ch in enumerate(content):
        if units >= pos.character:
            if units > pos.character:
                raise ValueError(f"position {pos.line}:{pos.character} splits a character")
            return begin + i
        units += code_units(ch, encoding)
    if units > pos.character:
        raise ValueError(f"position {pos.line}:{pos.character} splits a character")
    return begin + len(content)


def apply_text_edits(text: str, edits: Sequence[TextEdit], encoding: Encoding) -> str:
    """Apply `edits`, all expressed against `text`, the way an LSP client does.

    Edits at the same position apply in the given order; overlapping edits are refused
    (`ValueError`), as the LSP specification forbids them.
    """
    starts = _line_starts(text)
    spans = []
    for index, edit in enumerate(edits):
        start = _offset(text, starts, edit.range.start, encoding)
        end = _offset(text, starts, edit.range.end, encoding)
        if end < start:
            raise ValueError(f"edit {index} ends before it starts")
        spans.append((start, end, index, edit.new_text))
    spans.sort()
    out: list[str] = []
    cursor = 0
    for start, end, index, new_text in spans:
        if start < cursor:
            raise ValueError(f"edit {index} overlaps an earlier edit")
        out.append(text[cursor:start])
        out.append(new_text)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


_NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(path: str, before: str | None, after: str | None, context: int = 3) -> str:
    """A git-style unified diff of one file; `None` means the file does not exist.

    Lines split on `\\n` only, as git does, so a CRLF file's `\\r` stays in its lines and
    `git apply` takes the result. Returns `""` when nothing changed.
    """
    if before == after:
        return ""
    out = [f"diff --git a/{path} b/{path}\n"]
    if before is None:
        out.append("new file mode 100644\n")
    elif after is None:
        out.append("deleted file mode 100644\n")
    old_name = "/dev/null" if before is None else f"a/{path}"
    new_name = "/dev/null" if after is None else f"b/{path}"
    body = list(difflib.unified_diff(_LF_LINE.findall(before or ""), _LF_LINE.findall(after or ""),
                                     old_name, new_name, n=context))
    # An empty file created or deleted has no hunk: git shows the header alone.
    for line in body:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n" + _NO_NEWLINE)
    return "".join(out)


_LF_LINE = re.compile(r"[^\n]*\n|[^\n]+")
