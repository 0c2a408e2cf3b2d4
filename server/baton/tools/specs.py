"""The agent tools of PROTOCOL §5: argument models and the JSON schemas models see."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..providers.base import ToolSpec
from ..sandbox.grants import MAX_PLAN_FILES, check_plan_file


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadFile(_Args):
    path: str
    start_line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)


class ListFiles(_Args):
    path: str = "."
    glob: str | None = None


class Search(_Args):
    pattern: str
    path: str = "."
    glob: str | None = None


class WriteFile(_Args):
    path: str
    content: str


class EditFile(_Args):
    path: str
    old: str = Field(min_length=1)
    new: str


class DeleteFile(_Args):
    path: str


class RunCommand(_Args):
    command: str = Field(min_length=1)
    timeout_s: float | None = Field(default=None, gt=0, le=1800)


class Classify(_Args):
    route: Literal["ask", "edit", "plan"]
    reason: str


class SubmitPlan(_Args):
    summary: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    files: list[str]

    @field_validator("files")
    @classmethod
    def _grantable(cls, files: list[str]) -> list[str]:
        # The files become the write grant: an entry the person could misread, or a pattern
        # that cannot be parsed, is the model's error to fix, never the run's failure.
        if len(files) > MAX_PLAN_FILES:
            raise ValueError(f"{len(files)} entries; list at most {MAX_PLAN_FILES}, using a "
                             "glob such as src/** for many files")
        return list(dict.fromkeys(check_plan_file(f) for f in files))


class FindingArg(_Args):
    path: str
    line: int = Field(default=1, ge=1)
    message: str
    severity: Literal["error", "warning", "info", "hint"] = "warning"


class SubmitReview(_Args):
    verdict: Literal["approve", "request_changes"]
    findings: list[FindingArg] = Field(default_factory=list)


class Finish(_Args):
    summary: str


class AskUser(_Args):
    question: str = Field(min_length=1)
    options: list[str] | None = None


DESCRIPTIONS: dict[str, tuple[type[_Args], str]] = {
    "read_file": (ReadFile, "Read a text file (with line numbers), optionally a line range. "
                  "Paths are relative to the workspace root."),
    "list_files": (ListFiles, "List files under a folder, honouring .gitignore; optional glob."),
    "search": (Search, "Search files for a regular expression, line by line (RE2 syntax: no "
               "backreferences or lookaround); returns path:line: text matches."),
    "write_file": (WriteFile, "Create or overwrite a file with the given content."),
    "edit_file": (EditFile, "Replace the exact text `old` (which must occur exactly once) with `new`."),
    "delete_file": (DeleteFile, "Delete a file."),
    "run_command": (RunCommand, "Run a shell command in an isolated sandbox on the workspace as you "
                    "changed it; files it changes become part of your changes."),
    "classify": (Classify, "Choose the route for the task: ask (a question, no edits), edit (a "
                 "small, local change), plan (several files, a feature, a refactor)."),
    "submit_plan": (SubmitPlan, "Submit the plan for the person to approve. `files` lists every "
                    "path or glob the implementer will need to write: it becomes the write grant."),
    "submit_review": (SubmitReview, "Submit your review of the changes: approve, or request changes "
                      "with findings."),
    "finish": (Finish, "Call when the implementation is complete, with a short summary."),
    "ask_user": (AskUser, "Ask the person a question and wait for the answer; give options when "
                 "the choice is between a few."),
}


def _inline(node: object, defs: dict[str, object]) -> object:
    # Some providers reject `$ref`/`$defs` in tool schemas: inline them, drop titles.
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k not in ("title", "$defs")}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@functools.cache  # schemas are fixed: built once, not per agent start
def spec(name: str) -> ToolSpec:
    model, description = DESCRIPTIONS[name]
    schema = model.model_json_schema()
    parameters = _inline(schema, schema.get("$defs", {}))
    assert isinstance(parameters, dict)
    return ToolSpec(name=name, description=description, parameters=parameters)
