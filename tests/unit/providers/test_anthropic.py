"""The Anthropic adapter through the real SDK against the fake server."""

from __future__ import annotations

import asyncio
import logging

import pytest

from baton.errors import ProviderError
from baton.providers.anthropic import AnthropicProvider, translate_messages
from baton.providers.base import Message, StopReason, ToolCall
from tests.fakes.llm_server import Call, FakeLLMServer, Reply

from .conftest import FAKE_KEY, Recorder, make_cfg
from .helpers import request, tool_history


def provider(fake: FakeLLMServer, **extra) -> AnthropicProvider:
    p = AnthropicProvider("claude", make_cfg("anthropic", fake.url, model="claude-sonnet-4-6", **extra))
    p.sleep = Recorder()
    return p


async def test_streams_text_and_tool_calls(fake, env_key):
    fake.push(Reply(text="Let me look.", calls=[Call("read_file", {"path": "a.py"}, id="toolu_1")]))
    pieces: list[str] = []
    turn = await provider(fake).complete(request(), pieces.append)
    assert "".join(pieces) == "Let me look." and len(pieces) > 1
    assert turn.text == "Let me look."
    assert turn.tool_calls == [ToolCall(id="toolu_1", name="read_file", arguments={"path": "a.py"})]
    assert turn.stop == StopReason.TOOL_USE
    assert turn.provider == "claude" and turn.model == "claude-sonnet-4-6"
    sent = fake.requests[0]
    assert sent.path == "/v1/messages" and sent.body["stream"] is True
    assert sent.body["system"][0]["text"] == "You help."
    assert sent.headers.get("x-stainless-retry-count") == "0"


async def test_cache_breakpoints_and_cached_usage_with_cost(fake, env_key):
    fake.push(Reply(text="ok", input_tokens=100, cached_tokens=2000, cache_write_tokens=50,
                    output_tokens=20))
    turn = await provider(fake).complete(request())
    body = fake.requests[0].body
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0]
    assert turn.usage.input_tokens == 2150
    assert turn.usage.cached_tokens == 2000 and turn.usage.cache_write_tokens == 50
    # sonnet: $3/M plain, $0.30/M cached, $3.75/M written, $15/M out
    expected = (100 * 3 + 2000 * 0.3 + 50 * 3.75 + 20 * 15) / 1e6
    assert turn.usage.cost_usd == pytest.approx(expected)


async def test_cache_can_be_turned_off_and_prices_overridden(fake, env_key):
    fake.push(Reply(text="ok", input_tokens=1_000_000, output_tokens=0))
    turn = await provider(fake, cache=False, prices={"input": 1.0}).complete(request())
    assert "cache_control" not in str(fake.requests[0].body)
    assert turn.usage.cost_usd == pytest.approx(1.0)


@pytest.mark.parametrize("wire,neutral", [
    ("end_turn", StopReason.END_TURN), ("max_tokens", StopReason.MAX_TOKENS),
    ("pause_turn", StopReason.PAUSE), ("refusal", StopReason.REFUSAL),
    ("model_context_window_exceeded", StopReason.CONTEXT_EXCEEDED),
    ("stop_sequence", StopReason.END_TURN)])
async def test_stop_reasons_mapped(fake, env_key, wire, neutral):
    fake.push(Reply(text="x", stop=wire))
    assert (await provider(fake).complete(request())).stop == neutral


def test_interrupted_history_is_repaired_for_the_wire():
    wire = translate_messages(tool_history())
    assert [m["role"] for m in wire] == ["user", "assistant", "user", "assistant", "user"]
    last = wire[-1]["content"]
    # c2 answered, c3 (interrupted) gets a synthetic error, then the user's text, in one turn
    assert [b.get("tool_use_id") for b in last[:2]] == ["c2", "c3"]
    assert last[1]["is_error"] is True and "interrupted" in last[1]["content"]
    assert last[2] == {"type": "text", "text": "Also add a test."}


def test_history_ending_in_unanswered_calls_and_stray_results():
    msgs = [Message(role="user", text="go"),
            Message(role="tool", tool_results=[]),
            Message(role="assistant", text="", tool_calls=[ToolCall(id="z", name="read_file")])]
    wire = translate_messages(msgs)
    assert wire[-1]["role"] == "user" and wire[-1]["content"][0]["tool_use_id"] == "z"


async def test_429_retry_after_is_honoured(fake, env_key):
    fake.push(Reply(status=429, headers={"retry-after": "2"}), Reply(text="done"))
    p = provider(fake)
    turn = await p.complete(request())
    assert turn.text == "done" and p.sleep.delays == [2.0]
    assert len(fake.requests) == 2


async def test_529_and_500_retried_with_bounded_backoff(fake, env_key):
    fake.push(Reply(status=529), Reply(status=500), Reply(text="finally"))
    p = provider(fake)
    assert (await p.complete(request())).text == "finally"
    assert len(p.sleep.delays) == 2 and all(d <= 0.01 for d in p.sleep.delays)


async def test_overloaded_mid_stream_after_200_is_retried(fake, env_key):
    fake.push(Reply(text="partial", mid_stream_error="overloaded_error"), Reply(text="whole"))
    p = provider(fake)
    turn = await p.complete(request())
    assert turn.text == "whole" and len(p.sleep.delays) == 1


async def test_retries_are_bounded_and_the_error_says_why(fake, env_key):
    fake.push(*[Reply(status=529) for _ in range(4)])
    with pytest.raises(ProviderError) as e:
        await provider(fake).complete(request())
    assert "529" in str(e.value) and "4 attempts" in str(e.value) and e.value.retryable
    assert len(fake.requests) == 4


async def test_client_errors_are_not_retried(fake, env_key):
    fake.push(Reply(status=400, error_type="invalid_request_error", error_message="bad thing"))
    with pytest.raises(ProviderError, match="400 invalid_request_error: bad thing"):
        await provider(fake).complete(request())
    assert len(fake.requests) == 1


async def test_stream_cut_mid_tool_call_is_retried(fake, env_key):
    fake.push(Reply(calls=[Call("write_file", {"path": "a.py", "text": "x" * 50})], cut_mid_call=True),
              Reply(calls=[Call("write_file", {"path": "a.py", "text": "y"})]))
    turn = await provider(fake).complete(request())
    assert turn.tool_calls[0].arguments == {"path": "a.py", "text": "y"}
    assert turn.tool_calls[0].invalid is None


async def test_call_cut_at_output_limit_is_invalid_not_guessed(fake, env_key):
    fake.push(Reply(calls=[Call("write_file", raw='{"path": "a.py", "text": "def f(')],
                    stop="max_tokens"))
    turn = await provider(fake).complete(request())
    call = turn.tool_calls[0]
    assert turn.stop == StopReason.MAX_TOKENS
    assert call.invalid and "cut off" in call.invalid and call.arguments == {}


async def test_trailing_comma_repaired_garbage_flagged(fake, env_key):
    fake.push(Reply(calls=[Call("read_file", raw='{"path": "a.py",}', id="t1"),
                           Call("read_file", raw='{path: a.py}', id="t2")]))
    turn = await provider(fake).complete(request())
    assert turn.tool_calls[0].arguments == {"path": "a.py"} and turn.tool_calls[0].invalid is None
    assert turn.tool_calls[1].invalid and "not valid JSON" in turn.tool_calls[1].invalid


async def test_cancel_stops_the_stream_promptly(fake, env_key):
    fake.push(Reply(text="a long answer " * 20, event_delay_s=0.2))
    got_first = asyncio.Event()
    task = asyncio.create_task(provider(fake).complete(request(), lambda _: got_first.set()))
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)
    # the server sees the connection go away at its next write
    assert await asyncio.to_thread(fake.disconnected.wait, 5)


async def test_thinking_blocks_replayed_verbatim(fake, env_key):
    state = {"anthropic": {"thinking": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}]}}
    msgs = [Message(role="user", text="go"),
            Message(role="assistant", tool_calls=[ToolCall(id="c1", name="read_file",
                                                           arguments={"path": "a"})],
                    provider_state=state)]
    fake.push(Reply(text="ok"))
    await provider(fake, thinking_budget=1024).complete(request(*msgs))
    body = fake.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["messages"][1]["content"][0] == state["anthropic"]["thinking"][0]
    assert "temperature" not in body


async def test_key_never_logged(fake, env_key, caplog):
    caplog.set_level(logging.DEBUG)
    fake.push(Reply(status=401, error_type="authentication_error", error_message="invalid x-api-key"))
    with pytest.raises(ProviderError) as e:
        await provider(fake).complete(request())
    assert FAKE_KEY not in caplog.text and FAKE_KEY not in str(e.value)


async def test_streamed_thinking_kept_for_the_next_turn(fake, env_key):
    fake.push(Reply(thinking="let me think", text="Reading.",
                    calls=[Call("read_file", {"path": "a"}, id="t1")]), Reply(text="done"))
    p = provider(fake, thinking_budget=1024)
    pieces: list[str] = []
    first = await p.complete(request(), pieces.append)
    assert "".join(pieces) == "Reading."  # thinking is not shown as answer text
    assert first.provider_state == {"anthropic": {"thinking": [
        {"type": "thinking", "thinking": "let me think", "signature": "sig-abc"}]}}
    history = [Message(role="user", text="go"), first.as_message()]
    await p.complete(request(*history))
    blocks = fake.requests[1].body["messages"][1]["content"]
    assert [b["type"] for b in blocks] == ["thinking", "text", "tool_use"]
    assert blocks[0]["signature"] == "sig-abc"
