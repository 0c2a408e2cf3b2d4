"""Golden files pin each adapter's request translation (tests/data/golden/*.json).

After an intended change, regenerate with BATON_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from baton.config import ProviderConfig
from baton.providers import anthropic, openai, openai_compat
from baton.providers.base import Message, ToolCall
from baton.providers.models import InForce, in_force

from .helpers import request, tool_history

GOLDEN = Path(__file__).parents[2] / "data" / "golden"


def history_with_state() -> list[Message]:
    msgs = tool_history()
    msgs[1] = msgs[1].model_copy(update={"provider_state": {
        "anthropic": {"content": [
            {"type": "thinking", "thinking": "look first", "signature": "s1"},
            {"type": "text", "text": "Reading it."},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "c1", "name": "read_file", "input": {"path": "a.py"}}]},
        "openai": {"items": [
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Reading it.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "read_file",
             "arguments": "{\"path\": \"a.py\"}", "status": "completed"}]}}})
    msgs.append(Message(role="assistant", tool_calls=[
        ToolCall(id="c4", name="write_file", invalid="the arguments were cut off")]))
    return msgs


def cfg(kind: str, model: str, **extra: Any) -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": kind, "model": model, **extra})


def settings(kind: str, model: str, **extra: Any) -> tuple[ProviderConfig, InForce]:
    c = cfg(kind, model, **extra)
    return c, in_force("p", c)


CASES = {
    "anthropic": lambda: anthropic.build_params(
        request(*history_with_state()), *settings("anthropic", "claude-sonnet-4-6")),
    "anthropic_thinking_nocache": lambda: anthropic.build_params(
        request(*history_with_state()),
        *settings("anthropic", "claude-sonnet-4-6", cache=False, thinking_budget=2048)),
    "anthropic_opus5_effort": lambda: anthropic.build_params(
        request(*history_with_state()),
        *settings("anthropic", "claude-opus-5-5", effort="medium", temperature=0.2)),
    "openai_reasoning": lambda: openai.build_params(
        request(*history_with_state()), *settings("openai", "gpt-5-mini", reasoning_effort="medium")),
    "openai_gpt41": lambda: openai.build_params(
        request(*tool_history()), *settings("openai", "gpt-4.1", temperature=0)),
    "compat_native": lambda: openai_compat.build_params(
        request(*history_with_state()), cfg("openai-compatible", "qwen2.5-coder"), 4096, True),
    "compat_text_protocol": lambda: openai_compat.build_params(
        request(*history_with_state()), cfg("openai-compatible", "llama3"), 4096, False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_request_translation_matches_golden(name):
    got = json.loads(json.dumps(CASES[name]()))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("BATON_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    assert path.is_file(), f"{path} missing: run with BATON_UPDATE_GOLDEN=1 to create it"
    assert got == json.loads(path.read_text())
