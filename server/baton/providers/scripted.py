"""The offline provider (PROTOCOL §6): replays per-role lists of model turns from JSON.

A run's position in its role's list is the number of assistant turns already in the
conversation, so replay is deterministic, concurrent runs never steal each other's
turns, and a run resumed after a restart continues where its journal left off.

Its window is a real one: with `context_window` configured, a request whose (estimated)
prompt is larger fails with `ContextTooLong`, as a real provider's does, and `count_tokens`
counts like a counting endpoint, so context management can be exercised offline.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..errors import ConfigError, ContextTooLong, ProviderError
from .base import Capabilities, OnDelta, StopReason, ToolCall, Turn, TurnRequest, Usage


class ScriptedCall(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptedTurn(BaseModel):
    text: str = ""
    tool_calls: list[ScriptedCall] = Field(default_factory=list)
    delay_ms: int = 0


class RoleScript(BaseModel):
    match: str = ""
    classifier: list[ScriptedTurn] = Field(default_factory=list)
    planner: list[ScriptedTurn] = Field(default_factory=list)
    implementer: list[ScriptedTurn] = Field(default_factory=list)
    reviewer: list[ScriptedTurn] = Field(default_factory=list)


def load_script(path: Path) -> list[RoleScript]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"scripted provider: cannot read script {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ConfigError(f"scripted provider: {path} is not valid JSON: {e}") from e
    try:
        if isinstance(data, dict) and "runs" in data:
            return [RoleScript.model_validate(r) for r in data["runs"]]
        return [RoleScript.model_validate(data)]
    except ValidationError as e:
        raise ConfigError(f"scripted provider: {path}: {e}") from e


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class ScriptedProvider:
    def __init__(self, name: str, script_path: Path, model: str = "scripted", *,
                 context_window: int | None = None) -> None:
        self.capabilities = Capabilities(max_output_tokens=min(8192, (context_window or 1 << 30) // 4),
                                         context_window=context_window or 1_000_000)
        self.prompts: list[int] = []  # the size of each prompt it answered, for tests
        self.name = name
        self.model = model or "scripted"
        self.path = script_path
        self.scripts = load_script(script_path)

    def _script_for(self, task: str) -> RoleScript:
        for script in self.scripts:
            if script.match in task:
                return script
        raise ProviderError(f"scripted provider {self.name}: no entry of {self.path.name} matches "
                            f"the task {task[:60]!r}", provider=self.name)

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        prompt_tokens = self._prompt_tokens(request)
        room = self.capabilities.context_window - self.capabilities.max_output_tokens
        if prompt_tokens > room:
            raise ContextTooLong(f"scripted provider {self.name}: prompt is too long: "
                                 f"{prompt_tokens} tokens > {room} maximum", provider=self.name)
        self.prompts.append(prompt_tokens)
        turns: list[ScriptedTurn] = getattr(self._script_for(request.task), request.role, [])
        index = sum(1 for m in request.messages if m.role == "assistant")
        if index >= len(turns):
            raise ProviderError(
                f"scripted provider {self.name}: the {request.role} script has {len(turns)} "
                f"turn(s) and the run asked for turn {index + 1}", provider=self.name)
        turn = turns[index]
        if turn.delay_ms:
            await asyncio.sleep(turn.delay_ms / 1000)
        if turn.text and on_delta:
            on_delta(turn.text)
        calls = [ToolCall(id=f"{request.role}-{index}-{i}", name=c.name, arguments=c.arguments)
                 for i, c in enumerate(turn.tool_calls)]
        return Turn(text=turn.text, tool_calls=calls,
                    stop=StopReason.TOOL_USE if calls else StopReason.END_TURN,
                    usage=Usage(input_tokens=prompt_tokens,
                                output_tokens=_estimate_tokens(turn.model_dump_json())),
                    provider=self.name, model=self.model)

    async def count_tokens(self, request: TurnRequest) -> int | None:
        return self._prompt_tokens(request)

    def _prompt_tokens(self, request: TurnRequest) -> int:
        return _estimate_tokens(request.system + "".join(m.model_dump_json() for m in request.messages))
