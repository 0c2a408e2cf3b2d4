"""Baton's contract with editors (PROTOCOL §3–4), declared once, here.

The states and routes of a run, the actions a person may take, the `baton/runChanged`
notification, the `baton.runs` entries and every command's argument. The server parses
and builds exactly these; `python -m baton.wire` prints their JSON Schema, which is
committed as clients/vscode/wire.schema.json (tests/unit/test_wire.py keeps it current);
the VS Code extension's TypeScript types are generated from it (`npm run wire`) and its
build fails when they are not (`npm run check`); the Neovim plugin reads `actions` from
the notices instead of deciding which action fits which state.

Unknown fields in a command's argument are ignored, so newer clients keep working.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema


class State(StrEnum):
    QUEUED = "queued"
    CLASSIFYING = "classifying"
    PLANNING = "planning"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_INPUT = "awaiting_input"
    IMPLEMENTING = "implementing"
    VERIFYING = "verifying"  # [verify] commands run on the change (only when configured)
    REVIEWING = "reviewing"
    AWAITING_APPLY = "awaiting_apply"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Route(StrEnum):
    ASK = "ask"
    EDIT = "edit"
    PLAN = "plan"


class Action(StrEnum):
    """What the person may do with a run now (runtime/actions.py decides which)."""
    ACCEPT = "accept"  # baton.plan.accept: the plan (or an edit route's change)
    REJECT = "reject"  # baton.plan.reject, baton.edits.reject
    REVISE = "revise"  # baton.plan.revise
    APPLY = "apply"  # baton.edits.apply, and per hunk
    ANSWER = "answer"  # baton.run.answer
    STEER = "steer"  # baton.run.steer: a note the working agent sees at its next turn
    CANCEL = "cancel"  # baton.run.cancel
    REVERT = "revert"  # baton.run.revert
    FOLLOW_UP = "followUp"  # baton.run with parentRunId


class Question(BaseModel):
    text: str
    options: list[str] | None = None


class Verify(BaseModel):
    """The last verification of a run's change: `passed` when it brought no new failure
    and every command gave a verdict; `summary` one line ("212 passed, 0 new lint
    messages", "2 new failures: tests/test_x.py::test_y, …")."""
    passed: bool
    summary: str


class RunChanged(BaseModel):
    """`baton/runChanged`, at every state change and whenever what it says changes. Each
    notice describes the whole run: a field left out is over (a question answered)."""

    runId: str
    state: State
    route: Route | None = None
    routeReason: str | None = None
    task: str
    planUri: str | None = None
    answerUri: str | None = None
    question: Question | None = None  # while awaiting_input
    error: str | None = None
    usage: dict[str, dict[str, float]] | None = None  # per agent: tokens, cost_usd
    held: int | None = None  # the agent's hunks held back after a conflict (or a declined edit)
    reason: str | None = None
    actions: list[Action] = Field(default_factory=list)  # what the person may do now
    verify: Verify | None = None  # once the change was verified ([verify])


class RunSummary(BaseModel):
    """One entry of the `baton.runs` result."""

    runId: str
    task: str
    route: Route | None = None
    state: State
    createdAt: float
    parentRunId: str | None = None
    usage: dict[str, dict[str, float]] | None = None
    actions: list[Action] = Field(default_factory=list)


# -- command arguments (workspace/executeCommand, one object argument each) ---------------

class _Args(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class RunArgs(_Args):
    task: str = Field(min_length=1)
    uri: str | None = None
    range: dict[str, Any] | None = None  # an LSP Range (its lines are what is used)
    route: Route | None = None
    parentRunId: str | None = None
    diagnostic: str | None = None  # the problem a "Fix with Baton" run starts from


class RunIdArgs(_Args):
    runId: str = Field(min_length=1)


class RejectArgs(RunIdArgs):
    reason: str = ""


class ReviseArgs(RunIdArgs):
    feedback: str = Field(min_length=1)


class AnswerArgs(RunIdArgs):
    answer: str = Field(min_length=1)


class SteerArgs(RunIdArgs):
    message: str = Field(min_length=1)


class HunkArgs(RunIdArgs):
    path: str = Field(min_length=1)
    hunk: str = Field(min_length=1)  # the hunk's id, as the code action in changes.diff gives it


class EmptyArgs(_Args):
    pass


class SelectionArgs(_Args):
    uri: str
    range: dict[str, Any]
    task: str | None = None


class Trusted(BaseModel):
    """The `baton.workspace.trust` result."""
    path: str
    sha256: str


CONTRACT: list[type[BaseModel]] = [
    Question, Verify, RunChanged, RunSummary, RunArgs, RunIdArgs, RejectArgs,
    ReviseArgs, AnswerArgs, SteerArgs, HunkArgs, EmptyArgs, SelectionArgs, Trusted]


def schema() -> dict[str, Any]:
    """The contract as one JSON Schema document: every model under `$defs` (as the server
    sends them, so optional fields are optional)."""
    _, top = models_json_schema([(m, "serialization") for m in CONTRACT],
                                title="Baton wire contract")
    for model in top["$defs"].values():  # a field is its model's, not a type of its own
        for field in model.get("properties", {}).values():
            field.pop("title", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **top}


def main() -> None:
    print(json.dumps(schema(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
