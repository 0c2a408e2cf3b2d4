"""Shared request builders for the adapter tests, and the providers of the live ones."""

from __future__ import annotations

import os
from typing import Any

import pytest

from baton.config import Config, ProviderConfig
from baton.providers.base import Message, Provider, ToolCall, ToolResult, ToolSpec, TurnRequest
from baton.providers.registry import build_provider

READ = ToolSpec(name="read_file", description="Read a file of the workspace.",
                parameters={"type": "object", "properties": {"path": {"type": "string"}},
                            "required": ["path"]})
WRITE = ToolSpec(name="write_file", description="Write a file.",
                 parameters={"type": "object", "properties": {"path": {"type": "string"},
                                                              "text": {"type": "string"}},
                             "required": ["path", "text"]})


def request(*messages: Message, tools: list[ToolSpec] | None = None, system: str = "You help.",
            max_output_tokens: int | None = None) -> TurnRequest:
    msgs = list(messages) or [Message(role="user", text="Fix the bug in a.py")]
    return TurnRequest(run_id="run-1", role="implementer", system=system, messages=msgs,
                       tools=[READ, WRITE] if tools is None else tools,
                       max_output_tokens=max_output_tokens)


def tool_history() -> list[Message]:
    """A conversation with a finished tool round and a second, interrupted one."""
    return [
        Message(role="user", text="Fix the bug in a.py"),
        Message(role="assistant", text="Reading it.", tool_calls=[
            ToolCall(id="c1", name="read_file", arguments={"path": "a.py"})]),
        Message(role="tool", tool_results=[
            ToolResult(call_id="c1", name="read_file", content="print(1)")]),
        Message(role="assistant", tool_calls=[
            ToolCall(id="c2", name="read_file", arguments={"path": "b.py"}),
            ToolCall(id="c3", name="write_file", arguments={"path": "a.py", "text": "x"})]),
        Message(role="tool", tool_results=[
            ToolResult(call_id="c2", name="read_file", content="no such file", is_error=True)]),
        Message(role="user", text="Also add a test."),
    ]


def live_provider(kind: str, model: str, **extra: Any) -> Provider:
    """A provider of the real API (`--live` tests), as the registry builds it."""
    cfg = ProviderConfig.model_validate({"kind": kind, "model": model, "max_retries": 2, **extra})
    return build_provider(f"live-{kind}", cfg, Config())


def need(var: str) -> str:
    """The variable's value; the test is skipped where it is not set."""
    value = os.environ.get(var)
    if not value:
        pytest.skip(f"{var} is not set")
    return value
