"""How well the routing fast path does on a labelled set of tasks.

    python -m benchmarks.routing_eval [tests/data/routing_tasks.jsonl] [--split dev|holdout]

Prints the accuracy where the fast path decides, the share of tasks it decides (the
rest go to the model classifier), and every misrouted task. Exit status 1 when the
goal (≥95% correct where it decides, deciding ≥50%) is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from baton.agents.routing import fast_route
from baton.wire import Route

GOAL_ACCURACY = 0.95
GOAL_DECIDED = 0.50
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "routing_tasks.jsonl"


class LabelledTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str
    has_selection: bool = False
    has_diagnostic: bool = False
    route: Route
    # "dev": written before the rules; "holdout": written after them and never used to tune them.
    split: str = "dev"


class Misroute(BaseModel):
    task: str
    has_selection: bool
    has_diagnostic: bool
    expected: Route
    got: Route
    reason: str


class EvalReport(BaseModel):
    total: int
    decided: int
    correct: int
    misrouted: list[Misroute]
    deferred_by_route: dict[str, int]
    decided_by_route: dict[str, int]

    @property
    def accuracy(self) -> float:
        """Share correct among the tasks the fast path decided (1.0 when it decided none)."""
        return self.correct / self.decided if self.decided else 1.0

    @property
    def decided_share(self) -> float:
        return self.decided / self.total if self.total else 0.0

    @property
    def meets_goal(self) -> bool:
        return self.accuracy >= GOAL_ACCURACY and self.decided_share >= GOAL_DECIDED


def load_tasks(path: Path | str, split: str | None = None) -> list[LabelledTask]:
    tasks = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            task = LabelledTask.model_validate(json.loads(line))
        except ValueError as e:
            raise ValueError(f"{path}:{n}: {e}") from e
        if split is None or task.split == split:
            tasks.append(task)
    return tasks


def evaluate(path: Path | str = DEFAULT_DATA, split: str | None = None) -> EvalReport:
    tasks = load_tasks(path, split)
    decided = correct = 0
    misrouted: list[Misroute] = []
    deferred: Counter[str] = Counter()
    decided_by: Counter[str] = Counter()
    for t in tasks:
        guess = fast_route(t.task, has_selection=t.has_selection, has_diagnostic=t.has_diagnostic)
        if guess.route is None:
            deferred[t.route] += 1
            continue
        decided += 1
        decided_by[guess.route] += 1
        if guess.route == t.route:
            correct += 1
        else:
            misrouted.append(Misroute(task=t.task, has_selection=t.has_selection,
                                      has_diagnostic=t.has_diagnostic, expected=t.route,
                                      got=guess.route, reason=guess.reason))
    return EvalReport(total=len(tasks), decided=decided, correct=correct, misrouted=misrouted,
                      deferred_by_route=dict(sorted(deferred.items())),
                      decided_by_route=dict(sorted(decided_by.items())))


def format_report(report: EvalReport, path: Path | str) -> str:
    lines = [
        f"routing fast path on {path}: {report.total} tasks",
        f"  decides  {report.decided}/{report.total} = {report.decided_share:.1%} "
        f"(goal ≥ {GOAL_DECIDED:.0%}); by route {report.decided_by_route}",
        f"  correct  {report.correct}/{report.decided} = {report.accuracy:.1%} where it decides "
        f"(goal ≥ {GOAL_ACCURACY:.0%})",
        f"  deferred to the model classifier: {report.total - report.decided} "
        f"(true routes {report.deferred_by_route})",
    ]
    if report.misrouted:
        lines.append("  misrouted:")
        for m in report.misrouted:
            ctx = "selection" if m.has_selection else "diagnostic" if m.has_diagnostic else "no anchor"
            lines.append(f"    [{ctx}] {m.task!r}: expected {m.expected}, got {m.got} ({m.reason})")
    lines.append("  goal met" if report.meets_goal else "  GOAL MISSED")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.routing_eval",
                                     description="Accuracy of the routing fast path.")
    parser.add_argument("path", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--split", default=None,
                        help="only tasks of this split: dev, holdout, holdout2 (default: all)")
    args = parser.parse_args(argv)
    report = evaluate(args.path, args.split)
    print(format_report(report, args.path))
    return 0 if report.meets_goal else 1


if __name__ == "__main__":
    sys.exit(main())
