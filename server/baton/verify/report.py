"""A verification's result and every way it is said: the one-line summary that travels in
`runChanged`, the message that sends new failures back to the implementer, the section the
reviewer and `changes.diff` show. Everything that came from a command's output passes
through `display.visible` here, bounded."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, Field

from ..display import visible
from .compare import CommandReport, Finding

SUMMARY_CHARS = 300
NAMED = 3                # new failures the summary names before "and N more"
MESSAGE_CHARS = 12_000   # the implementer's message, all findings together
DETAIL_CHARS = 2_500     # one finding's output within it
_LINTERS = {"ruff", "flake8", "mypy", "pyright", "basedpyright", "pylint", "eslint", "tsc",
            "biome", "pyflakes", "pycodestyle"}


class VerifyResult(BaseModel):
    passed: bool
    summary: str
    commands: list[CommandReport] = Field(default_factory=list)
    duration_s: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.commands for f in c.new]

    @classmethod
    def of(cls, reports: list[CommandReport]) -> VerifyResult:
        new = [f for r in reports for f in r.new]
        passed = not new and all(r.problem is None for r in reports)
        return cls(passed=passed, summary=_summary(reports, new), commands=reports,
                   duration_s=round(sum(r.duration_s for r in reports), 3))

    def notice(self) -> dict[str, object]:
        """`runChanged`'s `verify` (PROTOCOL §3)."""
        return {"passed": self.passed, "summary": self.summary}

    def feedback(self) -> str:
        """The message that sends the new failures back to the implementer."""
        head = (f"Verification found {_count(len(self.findings), 'new failure')} after your change "
                "(failures that were there before it are left out). Fix them, then call finish "
                "again.")
        return _bounded_report(head, self.commands, MESSAGE_CHARS)

    def review_section(self) -> str:
        """What the reviewer is told and `changes.diff` starts with."""
        if self.passed:
            return f"Verification passed: {self.summary}"
        return _bounded_report(f"Verification did not pass: {self.summary}", self.commands,
                               MESSAGE_CHARS // 2)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _summary(reports: list[CommandReport], new: list[Finding]) -> str:
    if new:
        named = ", ".join(f.label for f in new[:NAMED])
        more = f", … ({len(new) - NAMED} more)" if len(new) > NAMED else ""
        text = f"{_count(len(new), 'new failure')}: {named}{more}"
    else:
        text = ", ".join(_part(r) for r in reports) or "no commands"
    problems = [f"`{r.command}` {r.problem}" for r in reports if r.problem]
    if problems:
        text += "; " + "; ".join(problems)
    return visible(text, limit=SUMMARY_CHARS)


def _part(r: CommandReport) -> str:
    """One command's share of a summary with no new failure."""
    out = r.change
    if r.problem:
        return "not verified"
    if out.kind == "tests" and out.counts is not None:
        text = f"{out.counts.passed} passed"
        if r.before:
            text += f" ({r.before} failing before the change too)"
        if r.fixed:
            text += f", {r.fixed} fixed"
        return text
    if out.kind == "lint" or _is_linter(r.command):
        return "0 new lint messages" + (f" ({r.before} there before)" if r.before else "")
    return f"`{r.command}` " + ("failing as before" if r.before else "passed")


def _is_linter(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return any(w.rsplit("/", 1)[-1] in _LINTERS for w in words[:4])


def _bounded_report(head: str, reports: list[CommandReport], limit: int) -> str:
    parts = [visible(head, multiline=True)]
    size = len(parts[0])
    left_out = 0
    for r in reports:
        if not r.new:
            continue
        status = "timed out" if r.change.timed_out else f"exit {r.change.exit_code}"
        block = [f"\n$ {visible(r.command, limit=300)}   ({status}, {r.change.duration_s:.1f}s)"]
        for f in r.new:
            item = f"- {visible(f.message, limit=400)}"
            if f.detail and f.kind != "lint":
                detail = visible(f.detail, multiline=True, limit=DETAIL_CHARS)
                item += "\n" + "\n".join("    " + ln for ln in detail.split("\n"))
            if size + len(item) > limit:
                left_out += 1
                continue
            block.append(item)
            size += len(item) + 1
        parts.append("\n".join(block))
    if left_out:
        parts.append(f"\n[{left_out} more not shown]")
    return "\n".join(parts)
