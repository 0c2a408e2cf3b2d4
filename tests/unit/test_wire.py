"""The wire contract is declared once (baton/wire.py): the schema the VS Code extension's
types are generated from is exactly the one the server's models give, and what the server
sends and parses fits it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from baton.wire import RunChanged, RunSummary, schema

COMMITTED = Path(__file__).parents[2] / "clients" / "vscode" / "wire.schema.json"


def test_the_committed_schema_is_the_servers():
    assert json.loads(COMMITTED.read_text()) == schema(), (
        "the wire models changed: run `python -m baton.wire > clients/vscode/wire.schema.json`, "
        "then `npm run wire` in clients/vscode, and commit both")


def _validate(value: dict, name: str) -> None:
    full = schema()
    jsonschema.validate(value, {**full, "$ref": f"#/$defs/{name}"})


def test_a_notice_as_sent_fits_the_schema():
    notice = RunChanged(runId="r", state="awaiting_input", task="t", route="plan",
                        question={"text": "Which?", "options": ["a", "b"]},
                        actions=["answer", "steer", "cancel", "followUp"])
    _validate(notice.model_dump(mode="json", exclude_none=True), "RunChanged")
    _validate(RunSummary(runId="r", task="t", state="done", createdAt=1.0,
                         actions=["revert"]).model_dump(mode="json"), "RunSummary")


def test_a_state_or_action_outside_the_contract_does_not_fit():
    with pytest.raises(jsonschema.ValidationError):
        _validate({"runId": "r", "task": "t", "state": "sleeping"}, "RunChanged")
    with pytest.raises(jsonschema.ValidationError):
        _validate({"runId": "r", "task": "t", "state": "done", "actions": ["undo"]}, "RunChanged")
