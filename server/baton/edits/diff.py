"""Minimal LSP text edits between two versions of a file, applying them, and unified diffs.

Pure functions, no I/O. Positions follow LSP: lines end at `\\n`, `\\r\\n` or `\\r`, and a
position's `character` counts code units of the negotiated encoding ("utf-8", "utf-16" or
"utf-32"), so the same edit lands on the same characters in Neovim (utf-8) and VS Code (utf-16).
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Sequence

from lsprotocol.types import Position, Range, TextEdit

# One line with its terminator; the last line may have none. Not `str.splitlines`, which also
# breaks on \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029, where LSP clients do not.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_EOL = re.compile(r"\r\n|\r|\n")

Encoding = str  # "utf-8" | "utf-16" | "utf-32" (lsprotocol PositionEncodingKind values)


def split_lines(text: str) -> list[str]:
    """LSP lines of `text`, each keeping its terminator; `""` has no lines."""
    return _LINE.findall(text)


def code_units(s: str, encoding: Encoding) -> int:
    """Length of `s` in code units of `encoding`."""
    if encoding == "utf-16":
        return len(s.encode("utf-16-le", "surrogatepass")) // 2
    if encoding == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(s)
    raise ValueError(f"unknown position encoding {encoding!r}")


def _content(line: str) -> str:
    return line.rstrip("\r\n")


# Myers is exact but costs O((N+M)·D): beyond this many differences in one stretch without
# unique lines to anchor on, the stretch is replaced whole instead.
_MAX_MYERS_D = 600


def line_hunks(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int, int]]:
    """Changed line ranges `(a_start, a_end, b_start, b_end)` turning lines `a` into lines `b`.

    Patience diff: common leading/trailing lines are cut, lines occurring once on each side
    anchor the rest (longest increasing run of them), and each stretch between anchors is
    solved the same way; a stretch with no such line gets Myers' shortest edit script. A
    one-line change in a 5 MB file is one linear scan; scattered changes stay near-linear.
    Hunks are in order and separated by at least one unchanged line.
    """
    # Common ends first, on the strings themselves: the usual edit of a big file stops here.
    lo, hi = 0, 0
    while lo < len(a) and lo < len(b) and a[lo] == b[lo]:
        lo += 1
    while hi < len(a) - lo and hi < len(b) - lo and a[-1 - hi] == b[-1 - hi]:
        hi += 1
    ids: dict[str, int] = {}
    x = [ids.setdefault(line, len(ids)) for line in a[lo:len(a) - hi]]
    y = [ids.setdefault(line, len(ids)) for line in b[lo:len(b) - hi]]
    matched: list[tuple[int, int]] = []  # (i, j) pairs of equal lines, collected in any order
    stack = [(0, len(x), 0, len(y))]
    # Patience recursion and Myers are quadratic on adversarial input (a shuffled file): past
    # this much work the stretches still open are left as plain replacements.
    budget = 8 * (len(x) + len(y)) + 50_000
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        budget -= (ahi - alo) + (bhi - blo)
        if budget < 0:
            continue
        while alo < ahi and blo < bhi and x[alo] == y[blo]:
            matched.append((alo, blo))
            alo += 1
            blo += 1
        while alo < ahi and blo < bhi and x[ahi - 1] == y[bhi - 1]:
            ahi -= 1
            bhi -= 1
            matched.append((ahi, bhi))
        if alo == ahi or blo == bhi:
            continue
        anchors = _unique_anchors(x, y, alo, ahi, blo, bhi)
        if anchors:
            prev_i, prev_j = alo, blo
            for i, j in anchors:
                matched.append((i, j))
                stack.append((prev_i, i, prev_j, j))
                prev_i, prev_j = i + 1, j + 1
            stack.append((prev_i, ahi, prev_j, bhi))
        else:
            pairs, work = _myers(x, y, alo, ahi, blo, bhi, budget)
            matched.extend(pairs)
            budget -= work
    matched.sort()
    hunks = []
    i = j = 0
    for mi, mj in [*matched, (len(x), len(y))]:
        if mi > i or mj > j:
            hunks.append((lo + i, lo + mi, lo + j, lo + mj))
        i, j = mi + 1, mj + 1
    return hunks


def _unique_anchors(x: list[int], y: list[int], alo: int, ahi: int, blo: int, bhi: int) -> list[tuple[int, int]]:
    """Lines occurring exactly once in both stretches, longest chain in order on both sides."""
    count: dict[int, int] = {}
    for v in x[alo:ahi]:
        count[v] = count.get(v, 0) + 1
    in_b: dict[int, int] = {}
    for j in range(blo, bhi):
        v = y[j]
        if count.get(v) == 1:
            in_b[v] = -1 if v in in_b else j
    pairs = [(i, in_b[x[i]]) for i in range(alo, ahi) if in_b.get(x[i], -1) >= 0 and count[x[i]] == 1]
    if not pairs:
        return []
    # Longest increasing subsequence of the b positions (patience sorting).
    tails: list[int] = []  # tails[k]: index in pairs ending the best chain of length k+1
    tail_js: list[int] = []  # the b position of each of those, for bisect
    back = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tail_js, j)
        if k > 0:
            back[n] = tails[k - 1]
        if k == len(tails):
            tails.append(n)
            tail_js.append(j)
        else:
            tails[k] = n
            tail_js[k] = j
    chain = []
    n = tails[-1]
    while n >= 0:
        chain.append(pairs[n])
        n = back[n]
    chain.reverse()
    return chain


def _myers(x: list[int], y: list[int], alo: int, ahi: int, blo: int, bhi: int,
           budget: int) -> tuple[list[tuple[int, int]], int]:
    """Equal line pairs of a shortest edit script (Myers 1986), and the work it took.

    No pairs if the script needs over _MAX_MYERS_D differences or `budget` steps.
    """
    n, m = ahi - alo, bhi - blo
    work = 0
    max_d = min(n + m, _MAX_MYERS_D)
    off = max_d + 1
    v = [-1] * (2 * max_d + 3)  # v[off + k]: furthest i on diagonal k = i - j; -1: not reached
    trace: list[list[int]] = []
    for d in range(max_d + 1):
        trace.append(v[off - d - 1:off + d + 2])
        work += 2 * d + 1
        if work > budget:
            return [], work
        for k in range(-d, d + 1, 2):
            if d == 0:
                i = 0
            else:
                prev_k = _came_from(v[off + k - 1], v[off + k + 1], k, d, n, m)
                if prev_k is None:
                    v[off + k] = -1
                    continue
                i = v[off + k + 1] if prev_k == k + 1 else v[off + k - 1] + 1
            j = i - k
            start = i
            while i < n and j < m and x[alo + i] == y[blo + j]:
                i += 1
                j += 1
            work += i - start
            v[off + k] = i
            if i == n and j == m:
                return _myers_path(trace, alo, blo, n, m, d), work
    return [], work


def _came_from(v_left: int, v_right: int, k: int, d: int, n: int, m: int) -> int | None:
    """Diagonal from which round `d` reaches diagonal `k` furthest, staying inside the grid."""
    by_deletion = k != -d and 0 <= v_left < n  # from k-1: i + 1
    by_insertion = k != d and v_right >= 0 and v_right - k <= m  # from k+1: j + 1
    if by_insertion and (not by_deletion or v_left < v_right):
        return k + 1
    return k - 1 if by_deletion else None


def _myers_path(trace: list[list[int]], alo: int, blo: int, n: int, m: int, d_end: int) -> list[tuple[int, int]]:
    """Walk the recorded frontiers back from (n, m), collecting the diagonal (equal) steps."""
    pairs = []
    i, j = n, m
    for d in range(d_end, 0, -1):
        v = trace[d]  # v[k + d + 1]: furthest i on diagonal k after round d - 1
        k = i - j
        prev_k = _came_from(v[k + d], v[k + d + 2], k, d, n, m)
        assert prev_k is not None
        prev_i = v[prev_k + d + 1]
        prev_j = prev_i - prev_k
        # The snake starts one step (deletion or insertion) after the previous point.
        start_i = prev_i + 1 if prev_k == k - 1 else prev_i
        while i > start_i:
            i -= 1
            j -= 1
            pairs.append((alo + i, blo + j))
        i, j = prev_i, prev_j
    while i > 0:
        i -= 1
        j -= 1
        pairs.append((alo + i, blo + j))
    return pairs


def _common_prefix(x: str, y: str) -> int:
    """Length of the common start of `x` and `y`, comparing slices (a hunk can be one huge line)."""
    limit = min(len(x), len(y))
    lo, step = 0, 64
    # Gallop in doubling chunks, then bisect the chunk that differs: O(n) characters copied.
    while lo + step <= limit and x[lo:lo + step] == y[lo:lo + step]:
        lo += step
        step *= 2
    hi = min(lo + step, limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if x[lo:mid] == y[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(x: str, y: str, limit: int) -> int:
    """Length of the common end of `x` and `y`, at most `limit`."""
    return _common_prefix(x[::-1][:limit], y[::-1][:limit])


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
    for match in _EOL.finditer(text):
        starts.append(match.end())
    return starts


def _offset(text: str, starts: list[int], pos: Position, encoding: Encoding) -> int:
    """Offset of an LSP position in `text`; past the end of a line or file it clamps, as editors do."""
    if pos.line >= len(starts):
        return len(text)
    begin = starts[pos.line]
    end = starts[pos.line + 1] if pos.line + 1 < len(starts) else len(text)
    # Each code point is at least one code unit: the first `character` code points suffice.
    head = _content(text[begin:min(end, begin + pos.character)])
    if encoding == "utf-32":
        return begin + len(head)
    codec = "utf-8" if encoding == "utf-8" else "utf-16-le"
    width = 1 if encoding == "utf-8" else 2
    if encoding not in ("utf-8", "utf-16"):
        raise ValueError(f"unknown position encoding {encoding!r}")
    raw = head.encode(codec, "surrogatepass")
    if len(raw) <= pos.character * width:
        return begin + len(head)
    try:
        return begin + len(raw[:pos.character * width].decode(codec))
    except UnicodeDecodeError:
        raise ValueError(f"position {pos.line}:{pos.character} splits a character") from None


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


def unified_diff(path: str, before: str | None, after: str | None, context: int = 3,
                 *, new_path: str | None = None) -> str:
    """A git-style unified diff of one file; `None` means the file does not exist.

    `new_path` (different from `path`) makes it a rename. Lines split on `\\n` only, as git
    does, so a CRLF file's `\\r` stays in its lines and `git apply` takes the result.
    Returns `""` when nothing changed.
    """
    new_path = new_path or path
    if before == after and new_path == path:
        return ""
    out = [f"diff --git a/{path} b/{new_path}\n"]
    if before is None:
        out.append("new file mode 100644\n")
    elif after is None:
        out.append("deleted file mode 100644\n")
    elif new_path != path:
        out.append(f"rename from {path}\nrename to {new_path}\n")
    old_name = "/dev/null" if before is None else f"a/{path}"
    new_name = "/dev/null" if after is None else f"b/{new_path}"
    body = list(difflib.unified_diff(_LF_LINE.findall(before or ""), _LF_LINE.findall(after or ""),
                                     old_name, new_name, n=context))
    # An empty file created or deleted, or a pure rename, has no hunk: git shows the header alone.
    for line in body:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n" + _NO_NEWLINE)
    return "".join(out)


def with_line_endings_of(original: str, text: str) -> str:
    """`text` with bare `\\n` line ends turned into `\\r\\n` when `original` uses CRLF throughout.

    Models write `\\n`; applied as is to a CRLF file that would mix line ends. A file with mixed
    or LF line ends, or none at all, is left to `text` as written.
    """
    ends = _EOL.findall(original)
    if not ends or any(e != "\r\n" for e in ends):
        return text
    return re.sub(r"(?<!\r)\n", "\r\n", text)


_LF_LINE = re.compile(r"[^\n]*\n|[^\n]+")
