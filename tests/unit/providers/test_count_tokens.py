"""Counting a request's tokens before it is sent: Anthropic's and OpenAI's counting
endpoints through the real SDKs (what they are sent, and a failure that falls back to the
estimate); Chat Completions servers have none and say so."""

from __future__ import annotations

import os

import pytest

from baton.providers.anthropic import AnthropicProvider
from baton.providers.openai import OpenAIProvider
from baton.providers.openai_compat import OpenAICompatProvider
from baton.providers.registry import FailoverProvider

from .conftest import make_cfg
from .helpers import live_provider, need, request, tool_history


async def test_anthropic_counts_with_its_endpoint_what_it_would_send(fake, env_key) -> None:
    provider = AnthropicProvider("claude", make_cfg("anthropic", fake.url))
    fake.token_count = 4321
    req = request(*tool_history())
    assert await provider.count_tokens(req) == 4321
    sent = fake.requests[-1]
    assert sent.path.endswith("/v1/messages/count_tokens")
    # The request as a turn would send it, less what counting does not take.
    assert sent.body["model"] == "test-model" and sent.body["system"][0]["text"] == "You help."
    assert [t["name"] for t in sent.body["tools"]] == ["read_file", "write_file"]
    assert sent.body["messages"][0]["role"] == "user" and "max_tokens" not in sent.body
    assert "stream" not in sent.body
    # Through a role's failover chain: the provider that goes first counts.
    assert await FailoverProvider("implementer", [provider]).count_tokens(req) == 4321


async def test_a_failed_count_is_none_so_the_caller_estimates(fake, env_key) -> None:
    provider = AnthropicProvider("claude", make_cfg("anthropic", fake.url))
    fake.token_count = None  # the endpoint answers 500
    assert await provider.count_tokens(request()) is None
    assert len(fake.requests) == 1  # counting is not retried: an estimate will do


async def test_openai_counts_with_its_endpoint_what_it_would_send(fake, env_key) -> None:
    provider = OpenAIProvider("gpt", make_cfg("openai", fake.url))
    fake.token_count = 987
    assert await provider.count_tokens(request(*tool_history())) == 987
    sent = fake.requests[-1]
    assert sent.path.endswith("/v1/responses/input_tokens")
    assert sent.body["model"] == "test-model" and sent.body["instructions"] == "You help."
    assert [t["name"] for t in sent.body["tools"]] == ["read_file", "write_file"]
    assert {"store", "max_output_tokens", "include", "stream"}.isdisjoint(sent.body)
    fake.token_count = None
    assert await provider.count_tokens(request()) is None


async def test_chat_completions_servers_have_no_counting_endpoint(fake, env_key) -> None:
    provider = OpenAICompatProvider("local", make_cfg("openai-compatible", fake.url))
    assert await provider.count_tokens(request()) is None
    assert fake.requests == []


# --- against the real API (`--live`, ANTHROPIC_API_KEY) --------------------------------

def _live(model_var: str, default: str, **extra):
    need("ANTHROPIC_API_KEY")
    return live_provider("anthropic", os.environ.get(model_var, default), **extra)


@pytest.mark.live
async def test_live_anthropic_counts_what_a_turn_then_reports() -> None:
    provider = _live("BATON_LIVE_ANTHROPIC_MODEL", "claude-haiku-4-5")
    req = request(*tool_history())
    counted = await provider.count_tokens(req)
    turn = await provider.complete(req)
    assert counted is not None and counted > 50
    # The count is of the same request a turn sends: its usage agrees closely.
    assert abs(turn.usage.input_tokens - counted) <= max(20, counted // 20)


@pytest.mark.live
async def test_live_a_compacted_history_with_thinking_is_accepted() -> None:
    """Older results compacted, older thinking dropped, the open exchange's kept: the API
    takes the next turn (no 400 about thinking blocks or their prefix)."""
    from baton.agents.compaction import apply_edits, compact
    from baton.providers.base import Message, StopReason, ToolResult
    from baton.providers.registry import PROBE_TOOL
    provider = _live("BATON_LIVE_ANTHROPIC_THINKING_MODEL", "claude-sonnet-4-6", thinking=True)
    messages = [Message(role="user", text="Call echo with 'a', then, after its result, with "
                        "'b', then with 'c', one call per turn. Then answer 'done'.")]
    for _ in range(3):
        turn = await provider.complete(request(*messages, tools=[PROBE_TOOL]))
        messages.append(turn.as_message())
        if not turn.tool_calls:
            break
        messages.append(Message(role="tool", tool_results=[
            ToolResult(call_id=c.id, name=c.name, content="echoed\n" + "filler line\n" * 300)
            for c in turn.tool_calls]))
    assert any(m.provider_state for m in messages), "the model did not think"
    compacted = apply_edits(messages, compact(messages, fits=lambda c: False))
    turn = await provider.complete(request(*compacted, tools=[PROBE_TOOL]))
    assert turn.stop in (StopReason.END_TURN, StopReason.TOOL_USE)
