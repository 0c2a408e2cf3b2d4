"""The argument models of the agent tools (PROTOCOL §5); their schemas are what models see
(tools/registry.py builds them, tools/builtin.py registers the tools)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..sandbox.grants import MAX_PLAN_FILES, check_plan_file
from ..wire import Route


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
    route: Route
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
