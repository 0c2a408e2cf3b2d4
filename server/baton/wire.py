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
from typing import Any, Literal

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
    ANSWER_PERMISSION = "answer_permission"  # baton.permission.answer


class Question(BaseModel):
    text: str
    options: list[str] | None = None


class PermissionKind(StrEnum):
    WRITE = "write"  # a file outside the run's write grant
    COMMAND = "command"  # a command outside `[permissions] commands`
    MCP = "mcp"  # an MCP tool not in its server's `allow`


class Permission(BaseModel):
    """An out-of-grant write, command or MCP call waiting for the person. It never times
    out: it waits (journaled, asked again after a restart) until answered with one of
    `options` (`baton.permission.answer`, `baton.run.answer`, or the server's
    `window/showMessageRequest`, whichever comes first) or the run is cancelled.

    While it waits the run is `awaiting_input` (waiting for the person, its working time
    not counted) and `question` carries the same text and options, for clients that know
    only questions; a client that knows `permission` shows it instead of `question`."""
    id: str  # stable across a restart; `baton.permission.answer` names it
    text: str
    kind: PermissionKind
    options: list[str]
    diff: str | None = None  # what would be written (a unified diff), the command, or the MCP call


class Summary(BaseModel):
    """What a run did, once it did something (done, awaiting_apply, and terminal states
    after work): the implementer's finish summary (or the answer's first line), the
    workspace-relative files it changed, the review's verdict and how many findings."""
    text: str
    files: list[str] = Field(default_factory=list)
    verdict: Literal["approve", "request_changes"] | None = None
    findings: int = 0


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
    permission: Permission | None = None  # while a permission waits (awaiting_input too)
    error: str | None = None
    # Per agent: input/output/cached/cache_write tokens, cost_usd (of the priced tokens) and
    # unpriced_tokens: while not 0 the cost is unknown (a model with no price), never $0.
    usage: dict[str, dict[str, float]] | None = None
    held: int | None = None  # the agent's hunks held back after a conflict (or a declined edit)
    reason: str | None = None
    actions: list[Action] = Field(default_factory=list)  # what the person may do now
    verify: Verify | None = None  # once the change was verified ([verify])
    summary: Summary | None = None  # once the run did something
    createdAt: float | None = None  # epoch seconds


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
    summary: Summary | None = None


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


class PermissionAnswerArgs(RunIdArgs):
    """`baton.permission.answer`: `id` is the waiting permission's; `answer` one of its
    options (any case)."""
    id: str = Field(min_length=1)
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
    Question, Permission, Summary, Verify, RunChanged, RunSummary, RunArgs, RunIdArgs,
    RejectArgs, ReviseArgs, AnswerArgs, PermissionAnswerArgs, SteerArgs, HunkArgs, EmptyArgs,
    SelectionArgs, Trusted]


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
