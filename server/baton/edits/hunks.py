"""The hunks of a `changes.diff`: found in the document, identified, applied or dropped alone.

A held change is shown as git-style unified diffs (`diff.unified_diff`). The person can take
or refuse each hunk of it. A hunk is identified by its file and its body (the ` `/`-`/`+`
lines), not by its line numbers, so a code action from a document that is a little stale
still names the same hunk, and one whose hunk is gone is refused rather than misapplied.
Applying or dropping works on line ranges from the hunk header, with the lines taken from
the two texts themselves, never from the diff. A file created or deleted (or created empty)
is one hunk: the file as a whole. Pure functions.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict

from .diff import unified_diff

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_LF_LINE = re.compile(r"[^\n]*\n|[^\n]+")  # lines as unified_diff splits them


class Hunk(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    id: str
    old_start: int  # as written in the header (1-based; for an empty range, the line before)
    old_len: int
    new_start: int
    new_len: int
    whole_file: bool  # the file is created or deleted: the hunk is the whole file
    first_line: int  # the hunk's lines in the diff document, [first_line, last_line] (0-based)
    last_line: int


def _id(path: str, body: list[str]) -> str:
    return hashlib.sha1((path + "\n" + "".join(body)).encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _path_of(line: str, prefix: str) -> str | None:
    rest = line[len(prefix):].rstrip("\n")
    if rest == "/dev/null":
        return None
    return rest[2:] if rest.startswith(("a/", "b/")) else rest


def _git_path(line: str) -> str:
    rest = line[len("diff --git "):].rstrip("\n")
    n = (len(rest) - 5) // 2  # "a/P b/P": both names are the same path here
    return rest[2:2 + n]


def parse(diff: str) -> list[Hunk]:
    """Every hunk of a document of unified diffs, in order; lines before the first
    `diff --git` (a title, instructions) are skipped."""
    lines = diff.splitlines(keepends=True)
    out: list[Hunk] = []
    seen: dict[str, int] = {}
    i = 0
    path: str | None = None
    file_start = 0
    created = deleted = False
    file_hunks = 0

    def close_file(end: int) -> None:
        # A file with no @@ hunk (created or deleted empty): its header is the hunk.
        if path is not None and file_hunks == 0:
            add(path, lines[file_start:end], 0, 0, 0, 0, True, file_start, end - 1)

    def add(p: str, body: list[str], os_: int, ol: int, ns: int, nl: int, whole: bool,
            first: int, last: int) -> None:
        key = _id(p, body)
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append(Hunk(path=p, id=key if n == 0 else f"{key}-{n}", old_start=os_, old_len=ol,
                        new_start=ns, new_len=nl, whole_file=whole, first_line=first,
                        last_line=last))

    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            close_file(i)
            path, file_start, file_hunks = _git_path(line), i, 0
            created = deleted = False
        elif path is not None and line.startswith("new file mode"):
            created = True
        elif path is not None and line.startswith("deleted file mode"):
            deleted = True
        elif path is not None and line.startswith("--- "):
            path = _path_of(line, "--- ") or path
        elif path is not None and line.startswith("+++ "):
            path = _path_of(line, "+++ ") or path
        elif path is not None and (m := _HEADER.match(line)):
            os_, ol = int(m[1]), int(m[2]) if m[2] is not None else 1
            ns, nl = int(m[3]), int(m[4]) if m[4] is not None else 1
            first, old_left, new_left = i, ol, nl
            i += 1
            # The body is exactly as long as the header says: a removed line that itself
            # starts with "--" is never taken for the next file's header.
            while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
                tag = lines[i][:1]
                if tag == " ":
                    old_left, new_left = old_left - 1, new_left - 1
                elif tag == "-":
                    old_left -= 1
                elif tag == "+":
                    new_left -= 1
                elif tag != "\\":
                    break
                i += 1
            add(path, lines[first + 1:i], os_, ol, ns, nl, created or deleted, first, i - 1)
            file_hunks += 1
            continue
        i += 1
    close_file(len(lines))
    return out


def file_hunks(path: str, before: str | None, after: str | None) -> list[Hunk]:
    """The hunks of one file's change, as `unified_diff` shows them."""
    return parse(unified_diff(path, before, after))


def _lines(text: str) -> list[str]:
    return _LF_LINE.findall(text)


def _old_range(h: Hunk) -> tuple[int, int]:
    start = h.old_start - 1 if h.old_len else h.old_start
    return start, start + h.old_len


def _new_range(h: Hunk) -> tuple[int, int]:
    start = h.new_start - 1 if h.new_len else h.new_start
    return start, start + h.new_len


def apply_hunk(before: str | None, after: str | None, h: Hunk) -> str | None:
    """`before` with only hunk `h` of the change before → after applied."""
    if h.whole_file or before is None or after is None:
        return after
    b, a = _lines(before), _lines(after)
    (o1, o2), (n1, n2) = _old_range(h), _new_range(h)
    return "".join(b[:o1] + a[n1:n2] + b[o2:])


def drop_hunk(before: str | None, after: str | None, h: Hunk) -> str | None:
    """`after` with hunk `h` of the change before → after undone: every other hunk stays."""
    if h.whole_file or before is None or after is None:
        return before
    b, a = _lines(before), _lines(after)
    (o1, o2), (n1, n2) = _old_range(h), _new_range(h)
    return "".join(a[:n1] + b[o1:o2] + a[n2:])


def find(hunks: list[Hunk], path: str, hunk_id: str) -> Hunk | None:
    return next((h for h in hunks if h.path == path and h.id == hunk_id), None)


def at_lines(hunks: list[Hunk], first: int, last: int) -> list[Hunk]:
    """The hunks a selection of document lines [first, last] touches."""
    return [h for h in hunks if h.first_line <= last and first <= h.last_line]
