"""Base → change: which of a command's failures the change brought.

New are: failing tests whose id did not fail on the base; lint messages beyond those the
base had, counted as a multiset of (file, code, text with line numbers blurred), since the
agent's edits move lines; a command that passed on the base (exit 0) and now fails or
times out, even when no parser names why. The exit status is the judge of failing: output
that claims success never makes a non-zero exit pass. Without a usable base outcome
(not run, e.g. the run's time was used up), every failure of the change counts as new.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from .outcome import Diagnostic, FailedTest, Outcome, bounded


class Finding(BaseModel):
    """One new failure, with what a person or the implementer needs to act on it."""
    command: str
    kind: Literal["test", "lint", "command"]
    label: str                 # test id, `path:line CODE`, or the command
    message: str               # one line
    path: str | None = None    # relative to the workspace when inside it
    line: int | None = None
    col: int | None = None
    detail: str = ""           # the relevant output, bounded (raw: shown through visible)


class CommandReport(BaseModel):
    command: str
    change: Outcome
    base: Outcome | None = None
    new: list[Finding] = Field(default_factory=list)
    before: int = 0              # failures and messages the base had too
    fixed: int = 0               # failing tests of the base that pass now
    problem: str | None = None   # no verdict on the change: why

    @property
    def duration_s(self) -> float:
        return self.change.duration_s + (self.base.duration_s if self.base else 0.0)


def compare(change: Outcome, base: Outcome | None) -> CommandReport:
    report = CommandReport(command=change.command, change=change, base=base)
    if change.error is not None:
        report.problem = f"not run: {change.error}"
        return report
    usable = base if base is not None and base.error is None else None
    if change.timed_out:
        if usable is not None and usable.timed_out:
            report.problem = "timed out, as it did before the change"
        else:
            report.new.append(_command(change, "timed out"))
        return report
    if change.kind == "tests":
        _tests(report, change, usable)
    elif change.kind == "lint":
        _lint(report, change, usable)
    passed_before = usable is None or usable.exit_code == 0
    if change.exit_code != 0 and not report.new:
        if passed_before:
            report.new.append(_command(change, f"exits {change.exit_code}"
                                       + (" (it passed before the change)" if usable else "")))
        elif change.kind == "exit":
            report.before += 1
    return report


def _tests(report: CommandReport, change: Outcome, base: Outcome | None) -> None:
    before = {t.id for t in base.failed} if base is not None else set()
    now = {t.id for t in change.failed}
    for test in change.failed:
        if test.id in before:
            report.before += 1
        else:
            report.new.append(_test(change.command, test))
    if base is not None and base.kind == "tests" and not base.truncated:
        report.fixed = len(before - now)


def _lint(report: CommandReport, change: Outcome, base: Outcome | None) -> None:
    had = Counter(d.key() for d in base.diagnostics) if base is not None else Counter()
    for diag in change.diagnostics:
        key = diag.key()
        if had[key] > 0:
            had[key] -= 1
            report.before += 1
        else:
            report.new.append(_diagnostic(change.command, diag))


def _test(command: str, test: FailedTest) -> Finding:
    what = "error" if test.error else "failed"
    return Finding(command=command, kind="test", label=test.id,
                   message=f"{test.id} {what}" + (f": {test.message}" if test.message else ""),
                   path=test.path, line=test.line, detail=test.excerpt)


def _diagnostic(command: str, d: Diagnostic) -> Finding:
    code = f" {d.code}" if d.code else ""
    return Finding(command=command, kind="lint", label=f"{d.path}:{d.line}{code}",
                   message=f"{d.code}: {d.message}" if d.code else d.message,
                   path=d.path, line=d.line, col=d.col,
                   detail=f"{d.where()}:{code} {d.message}")


def _command(change: Outcome, what: str) -> Finding:
    return Finding(command=change.command, kind="command",
                   label=bounded(change.command, 80) + f" {what}",
                   message=f"`{bounded(change.command, 200)}` {what}", detail=change.tail)
