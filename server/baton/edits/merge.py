"""Three-way merge at hunk granularity: the agent's change rebased onto what the person has now.

`merge3(base, agent, current)` applies both sides' changes (each a diff from `base`, the text
the agent read). Changes that overlap and differ are conflicts: the merged text keeps the
person's version there, so nothing they typed is ever lost, and the caller decides with
`resolve` (keep mine, take the agent's, or show both with git-style markers). Pure functions.

Overlap, precisely: two hunks conflict when their base line ranges share a line, when an
insertion falls strictly inside the other's range, when both insert at the same place (their
order would be a guess), or when both touch the end of the file (a last line without a
newline would otherwise run into the other side's text). Hunks that merely touch elsewhere
merge: a person adding a line right above a function the agent rewrote is not a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from baton.edits.diff import line_hunks, split_lines


class Conflict(BaseModel):
    """One region both sides changed differently. Texts keep their own line ends."""

    model_config = ConfigDict(frozen=True)

    base: str  # the base lines the conflicting hunks replaced
    agent: str  # the agent's version of the region
    current: str  # the person's version, which is what the merged text holds there
    start_line: int  # the person's version spans lines [start_line, end_line) of the merged text
    end_line: int
    base_start_line: int  # the region in the base: lines [base_start_line, base_end_line)
    base_end_line: int
    start: int  # the person's version spans characters [start, end) of the merged text
    end: int


class MergeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    conflicts: list[Conflict]
    clean: bool


@dataclass(frozen=True, slots=True)
class _Hunk:
    start: int  # base lines [start, end) become `lines`
    end: int
    lines: tuple[str, ...]
    agent: bool  # which side made it


def _hunks(base: list[str], other: list[str], agent: bool) -> list[_Hunk]:
    return [_Hunk(a1, a2, tuple(other[b1:b2]), agent) for a1, a2, b1, b2 in line_hunks(base, other)]


def _conflict(h: _Hunk, m: _Hunk, eof: int) -> bool:
    if h.start == h.end and m.start == m.end:
        return h.start == m.start
    if h.start == h.end:
        return m.start < h.start < m.end or (h.start == eof and m.end == eof)
    if m.start == m.end:
        return h.start < m.start < h.end or (m.start == eof and h.end == eof)
    return max(h.start, m.start) < min(h.end, m.end)


def _groups(hunks: list[_Hunk], eof: int) -> list[list[_Hunk]]:
    """Hunks chained by conflicts with the other side. Sorted by start, a hunk that conflicts
    with nothing in the open group cannot conflict with anything earlier either."""
    groups: list[list[_Hunk]] = []
    for h in sorted(hunks, key=lambda h: (h.start, h.end, h.agent)):
        if groups and any(m.agent != h.agent and _conflict(h, m, eof) for m in groups[-1]):
            groups[-1].append(h)
        else:
            groups.append([h])
    return groups


def _version(base: list[str], lo: int, hi: int, hunks: list[_Hunk]) -> list[str]:
    """Base lines [lo, hi) with one side's hunks (all inside that range) applied."""
    out: list[str] = []
    cursor = lo
    for h in hunks:
        out.extend(base[cursor:h.start])
        out.extend(h.lines)
        cursor = h.end
    out.extend(base[cursor:hi])
    return out


def merge3(base: str, agent: str, current: str) -> MergeResult:
    """Merge the change base→agent into `current` (base→current), hunk by hunk."""
    if agent == current or agent == base:
        return MergeResult(text=current, conflicts=[], clean=True)
    if current == base:
        return MergeResult(text=agent, conflicts=[], clean=True)
    b = split_lines(base)
    hunks = _hunks(b, split_lines(agent), True) + _hunks(b, split_lines(current), False)
    out: list[str] = []
    lines_out = chars_out = 0
    conflicts: list[Conflict] = []

    def emit(lines: list[str] | tuple[str, ...]) -> None:
        nonlocal lines_out, chars_out
        out.extend(lines)
        lines_out += len(lines)
        chars_out += sum(map(len, lines))

    cursor = 0
    for group in _groups(hunks, len(b)):
        lo = min(h.start for h in group)
        hi = max(h.end for h in group)
        emit(b[cursor:lo])
        cursor = hi
        if len(group) == 1:
            emit(group[0].lines)
            continue
        mine = _version(b, lo, hi, [h for h in group if not h.agent])
        theirs = _version(b, lo, hi, [h for h in group if h.agent])
        if mine == theirs:
            emit(mine)
            continue
        # Lines both versions share at the region's edges are not in conflict.
        head = 0
        while head < min(len(mine), len(theirs)) and mine[head] == theirs[head]:
            head += 1
        tail = 0
        while tail < min(len(mine), len(theirs)) - head and mine[-1 - tail] == theirs[-1 - tail]:
            tail += 1
        emit(mine[:head])
        line0, char0 = lines_out, chars_out
        emit(mine[head:len(mine) - tail])
        conflicts.append(Conflict(
            base="".join(b[lo:hi]), agent="".join(theirs[head:len(theirs) - tail]),
            current="".join(mine[head:len(mine) - tail]),
            start_line=line0, end_line=lines_out, base_start_line=lo, base_end_line=hi,
            start=char0, end=chars_out))
        emit(mine[len(mine) - tail:])
    emit(b[cursor:])
    return MergeResult(text="".join(out), conflicts=conflicts, clean=not conflicts)


def _eol(text: str) -> str:
    """The text's first line end, the one markers use."""
    for i, ch in enumerate(text):
        if ch == "\n":
            return "\n"
        if ch == "\r":
            return "\r\n" if text[i + 1:i + 2] == "\n" else "\r"
    return "\n"


def resolve(result: MergeResult, choice: Literal["mine", "agent", "both"]) -> str:
    """The merged text with every conflict settled the same way.

    "mine" keeps the person's version (the merged text as it is), "agent" takes the agent's,
    "both" shows the two with git-style markers (`<<<<<<< mine` … `=======` … `>>>>>>> agent`).
    """
    if choice not in ("mine", "agent", "both"):
        raise ValueError(f"unknown choice {choice!r}: expected 'mine', 'agent' or 'both'")
    text = result.text
    if choice == "mine" or not result.conflicts:
        return text
    eol = _eol(text)
    out: list[str] = []
    cursor = 0
    for c in result.conflicts:
        out.append(text[cursor:c.start])
        cursor = c.end
        if choice == "agent":
            out.append(c.agent)
            continue
        out.append("<<<<<<< mine" + eol)
        out.append(_with_eol(c.current, eol))
        out.append("=======" + eol)
        out.append(_with_eol(c.agent, eol))
        # A file that ended without a newline keeps ending without one.
        at_end_without_eol = c.end == len(text) and not text.endswith(("\n", "\r"))
        out.append(">>>>>>> agent" + ("" if at_end_without_eol else eol))
    out.append(text[cursor:])
    return "".join(out)


def _with_eol(part: str, eol: str) -> str:
    return part if part == "" or part.endswith(("\n", "\r")) else part + eol
