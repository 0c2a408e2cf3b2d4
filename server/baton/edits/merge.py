"""Three-way merge at hunk granularity: the agent's change rebased onto what the person has now.

`merge3(base, agent, current)` applies both sides' changes (each a diff from `base`, the text
the agent read). Changes that overlap and differ are conflicts: the merged text keeps the
person's version there, so nothing they typed is ever lost, and the caller settles each with
`settle` (keep mine, take the agent's, show both with git-style markers, or leave it held:
the agent's change there not landed, to be offered again). Pure functions.

Overlap, precisely: two hunks conflict when their base line ranges share a line, when an
insertion falls strictly inside the other's range, or when both insert at the same place
(their order would be a guess). Hunks that merely touch merge: a person adding a line right
above a function the agent rewrote, or appending at the end of a file whose last line the
agent changed, is not a conflict. The one exception is a hunk that leaves the file's last
line without a line end: text the other side appends after it would run into that line.
A conflict is then narrowed to the lines where the two versions differ, and settling it
touches nothing outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    held_start: int  # `base` starts at this character of MergeResult.held
    agent_region: str  # the agent's version of the whole base region, once it is settled


Choice = Literal["mine", "agent", "both"]


class MergeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    conflicts: list[Conflict]
    clean: bool
    # The agent's side of what `text` holds: `agent` with every conflict region left as in
    # `base`. A delivery of `text` landed this much of the agent's change; the rest is held.
    held: str


@dataclass(frozen=True, slots=True)
class _Hunk:
    start: int  # base lines [start, end) become `lines`
    end: int
    lines: tuple[str, ...]
    agent: bool  # which side made it


def _hunks(base: list[str], other: list[str], agent: bool) -> list[_Hunk]:
    return [_Hunk(a1, a2, tuple(other[b1:b2]), agent) for a1, a2, b1, b2 in line_hunks(base, other)]


def _open_end(h: _Hunk) -> bool:
    """`h` leaves its side's last line without a line end (only a hunk at the end can)."""
    return bool(h.lines) and not h.lines[-1].endswith(("\n", "\r"))


def _conflict(h: _Hunk, m: _Hunk, eof: int) -> bool:
    if h.start == h.end and m.start == m.end:
        return h.start == m.start
    if h.start == h.end:
        return m.start < h.start < m.end or (h.start == eof == m.end and _open_end(m))
    if m.start == m.end:
        return h.start < m.start < h.end or (m.start == eof == h.end and _open_end(h))
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
        return MergeResult(text=current, conflicts=[], clean=True, held=agent)
    if current == base:
        return MergeResult(text=agent, conflicts=[], clean=True, held=agent)
    b = split_lines(base)
    hunks = _hunks(b, split_lines(agent), True) + _hunks(b, split_lines(current), False)
    out: list[str] = []  # the merged text
    kept: list[str] = []  # the agent's side of it (MergeResult.held)
    lines_out = chars_out = kept_chars = 0
    conflicts: list[Conflict] = []

    def emit(lines: list[str] | tuple[str, ...], agent_side: list[str] | tuple[str, ...]) -> None:
        nonlocal lines_out, chars_out, kept_chars
        out.extend(lines)
        lines_out += len(lines)
        chars_out += sum(map(len, lines))
        kept.extend(agent_side)
        kept_chars += sum(map(len, agent_side))

    cursor = 0
    for group in _groups(hunks, len(b)):
        lo = min(h.start for h in group)
        hi = max(h.end for h in group)
        emit(b[cursor:lo], b[cursor:lo])
        cursor = hi
        if len(group) == 1:
            h = group[0]
            emit(h.lines, h.lines if h.agent else b[lo:hi])
            continue
        mine = _version(b, lo, hi, [h for h in group if not h.agent])
        theirs = _version(b, lo, hi, [h for h in group if h.agent])
        if mine == theirs:
            emit(mine, theirs)
            continue
        # Lines both versions share at the region's edges are not in conflict.
        head = 0
        while head < min(len(mine), len(theirs)) and mine[head] == theirs[head]:
            head += 1
        tail = 0
        while tail < min(len(mine), len(theirs)) - head and mine[-1 - tail] == theirs[-1 - tail]:
            tail += 1
        emit(mine[:head], ())
        line0, char0, held0 = lines_out, chars_out, kept_chars
        emit(mine[head:len(mine) - tail], b[lo:hi])
        conflicts.append(Conflict(
            base="".join(b[lo:hi]), agent="".join(theirs[head:len(theirs) - tail]),
            current="".join(mine[head:len(mine) - tail]),
            start_line=line0, end_line=lines_out, base_start_line=lo, base_end_line=hi,
            start=char0, end=chars_out, held_start=held0, agent_region="".join(theirs)))
        emit(mine[len(mine) - tail:], ())
    emit(b[cursor:], b[cursor:])
    return MergeResult(text="".join(out), conflicts=conflicts, clean=not conflicts,
                       held="".join(kept))


def _eol(text: str) -> str:
    """The text's first line end, the one markers use."""
    for i, ch in enumerate(text):
        if ch == "\n":
            return "\n"
        if ch == "\r":
            return "\r\n" if text[i + 1:i + 2] == "\n" else "\r"
    return "\n"


def settle(result: MergeResult, choices: Sequence[Choice | None]) -> tuple[str, str]:
    """(the person's text, the agent's side that has landed) with conflict i settled by
    `choices[i]`. Outside the conflicts both are as merged.

    "mine" keeps the person's version, "agent" takes the agent's, "both" shows the two with
    git-style markers (`<<<<<<< mine` … `=======` … `>>>>>>> agent`); each of these settles
    the agent's change there. None leaves it held: the person's version stays, and the
    agent's change of the region is not counted as landed.
    """
    if len(choices) != len(result.conflicts):
        raise ValueError(f"{len(choices)} choices for {len(result.conflicts)} conflicts")
    text, held = result.text, result.held
    eol = _eol(text)
    out: list[str] = []
    kept: list[str] = []
    cursor = kept_cursor = 0
    for c, choice in zip(result.conflicts, choices):
        if choice not in ("mine", "agent", "both", None):
            raise ValueError(f"unknown choice {choice!r}: expected 'mine', 'agent', 'both' or None")
        out.append(text[cursor:c.start])
        cursor = c.end
        kept.append(held[kept_cursor:c.held_start])
        kept_cursor = c.held_start + len(c.base)
        kept.append(c.base if choice is None else c.agent_region)
        if choice in ("mine", None):
            out.append(c.current)
        elif choice == "agent":
            out.append(c.agent)
        else:
            out.append("<<<<<<< mine" + eol)
            out.append(_with_eol(c.current, eol))
            out.append("=======" + eol)
            out.append(_with_eol(c.agent, eol))
            # A file that ended without a newline keeps ending without one.
            at_end_without_eol = c.end == len(text) and not text.endswith(("\n", "\r"))
            out.append(">>>>>>> agent" + ("" if at_end_without_eol else eol))
    out.append(text[cursor:])
    kept.append(held[kept_cursor:])
    return "".join(out), "".join(kept)


def resolve(result: MergeResult, choice: Choice) -> str:
    """The merged text with every conflict settled the same way (see `settle`)."""
    if choice not in ("mine", "agent", "both"):
        raise ValueError(f"unknown choice {choice!r}: expected 'mine', 'agent' or 'both'")
    return settle(result, [choice] * len(result.conflicts))[0]


def _with_eol(part: str, eol: str) -> str:
    return part if part == "" or part.endswith(("\n", "\r")) else part + eol
