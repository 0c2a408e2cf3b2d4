"""The Anthropic adapter through the real SDK against the fake server."""

from __future__ import annotations

import asyncio
import logging

import pytest

from baton.errors import ContextTooLong, ProviderError, ProviderRefused
from baton.providers import anthropic as anthropic_adapter
from baton.providers.anthropic import MAX_PAUSES, AnthropicProvider, translate_messages
from baton.providers.base import Message, StopReason, ToolCall, ToolResult
from tests.fakes.llm_server import Call, FakeLLMServer, Reply, Thinking

from .conftest import FAKE_KEY, Recorder, make_cfg
from .helpers import request, tool_history


def provider(fake: FakeLLMServer, model: str = "claude-sonnet-4-6", **extra) -> AnthropicProvider:
    p = AnthropicProvider("claude", make_cfg("anthropic", fake.url, model=model, **extra))
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


async def test_key_never_logged(fake, env_key, caplog):
    caplog.set_level(logging.DEBUG)
    fake.push(Reply(status=401, error_type="authentication_error", error_message="invalid x-api-key"))
    with pytest.raises(ProviderError) as e:
        await provider(fake).complete(request())
    assert FAKE_KEY not in caplog.text and FAKE_KEY not in str(e.value)


INTERLEAVED = [Thinking("Plan: read a first."), "Reading a.", Call("read_file", {"path": "a"}, id="t1"),
               Thinking(redacted="opaque-redacted-blob"), "Now b.",
               Call("read_file", {"path": "b"}, id="t2")]


async def test_interleaved_thinking_goes_back_in_its_order(fake, env_key):
    """Thinking between text and tool calls is replayed block for block; the fake answers
    400, as the API does, if it comes back moved first or with the text merged."""
    fake.push(Reply(blocks=INTERLEAVED), Reply(text="done"))
    p = provider(fake)
    pieces: list[str] = []
    first = await p.complete(request(), pieces.append)
    assert "".join(pieces) == "Reading a.Now b." == first.text  # thinking is not answer text
    assert [c.id for c in first.tool_calls] == ["t1", "t2"] and first.stop == StopReason.TOOL_USE
    kept = first.provider_state["anthropic"]["content"]
    assert [b["type"] for b in kept] == ["thinking", "text", "tool_use", "redacted_thinking",
                                         "text", "tool_use"]
    history = [Message(role="user", text="go"), first.as_message(),
               Message(role="tool", tool_results=[
                   ToolResult(call_id="t1", name="read_file", content="A"),
                   ToolResult(call_id="t2", name="read_file", content="B")])]
    assert (await p.complete(request(*history))).text == "done"
    sent = fake.requests[1].body["messages"][1]["content"]
    assert sent == kept  # verbatim, in order
    assert sent[0]["signature"] == Thinking("Plan: read a first.").block()["signature"]


async def test_changed_thinking_is_refused_like_the_api_does(fake, env_key):
    fake.push(Reply(blocks=INTERLEAVED))
    first = (await provider(fake).complete(request())).as_message()
    first.provider_state["anthropic"]["content"][0]["thinking"] = "Plan: something else."
    history = [Message(role="user", text="go"), first,
               Message(role="tool", tool_results=[
                   ToolResult(call_id=c, name="read_file", content="x") for c in ("t1", "t2")])]
    with pytest.raises(ProviderError, match="cannot be modified") as e:
        await provider(fake).complete(request(*history))
    assert not e.value.retryable and len(fake.requests) == 2


async def test_turn_kept_before_the_ordered_list_still_replays(fake, env_key):
    """A run journaled by an older Baton kept only its thinking blocks: they go first."""
    fake.push(Reply(thinking="hmm", calls=[Call("read_file", {"path": "a"}, id="c1")]),
              Reply(text="ok"))
    p = provider(fake, thinking=2048, model="claude-haiku-4-5")
    await p.complete(request())
    legacy = {"anthropic": {"thinking": [{"type": "thinking", "thinking": "hmm",
                                          "signature": "sig-abc"}]}}
    msgs = [Message(role="user", text="go"),
            Message(role="assistant", tool_calls=[ToolCall(id="c1", name="read_file",
                                                           arguments={"path": "a"})],
                    provider_state=legacy),
            Message(role="tool", tool_results=[ToolResult(call_id="c1", name="read_file",
                                                          content="x")])]
    await p.complete(request(*msgs))
    body = fake.requests[1].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert [b["type"] for b in body["messages"][1]["content"]] == ["thinking", "tool_use"]
    assert "temperature" not in body


async def test_pause_turn_continues_the_same_turn(fake, env_key):
    fake.push(Reply(blocks=[Thinking("long job"), "Part one. "], stop="pause_turn",
                    input_tokens=100, output_tokens=7),
              Reply(text="Part two.", input_tokens=120, output_tokens=3))
    turn = await provider(fake).complete(request())
    assert turn.text == "Part one. Part two." and turn.stop == StopReason.END_TURN
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (220, 10)
    # the paused turn went back as it was, as the last (assistant) message
    last = fake.requests[1].body["messages"][-1]
    assert last["role"] == "assistant"
    assert [b["type"] for b in last["content"]] == ["thinking", "text"]
    assert [b["type"] for b in turn.provider_state["anthropic"]["content"]] == [
        "thinking", "text", "text"]


async def test_pause_turn_continuations_are_bounded(fake, env_key):
    fake.push(*[Reply(text=f"{i} ", stop="pause_turn") for i in range(MAX_PAUSES + 1)])
    turn = await provider(fake).complete(request())
    assert turn.stop == StopReason.PAUSE and len(fake.requests) == MAX_PAUSES + 1
    assert turn.text == "".join(f"{i} " for i in range(MAX_PAUSES + 1))


async def test_refusal_raises_with_the_reason_and_is_not_retried(fake, env_key):
    fake.push(Reply(text="I can't help with that.", stop="refusal",
                    stop_details={"type": "refusal", "category": "cyber",
                                  "explanation": "exploit development"}))
    p = provider(fake)
    with pytest.raises(ProviderRefused) as e:
        await p.complete(request())
    assert "refusal: cyber, exploit development" in str(e.value)
    assert "I can't help with that." in str(e.value) and not e.value.retryable
    assert len(fake.requests) == 1 and p.sleep.delays == []


async def test_context_window_exceeded_stop_is_context_too_long(fake, env_key):
    fake.push(Reply(text="partial", stop="model_context_window_exceeded"))
    with pytest.raises(ContextTooLong, match="context window"):
        await provider(fake).complete(request())
    assert len(fake.requests) == 1


async def test_prompt_too_long_400_is_context_too_long(fake, env_key):
    fake.push(Reply(status=400, error_message="prompt is too long: 250123 tokens > 200000 maximum"))
    with pytest.raises(ContextTooLong, match="250123 tokens > 200000") as e:
        await provider(fake).complete(request())
    assert not e.value.retryable and len(fake.requests) == 1


async def test_max_tokens_beyond_an_older_window_is_asked_again_smaller(fake, env_key):
    fake.push(Reply(status=400, error_message="input length and `max_tokens` exceed context "
                    "limit: 190000 + 32000 > 200000, decrease input length or `max_tokens` "
                    "and try again"), Reply(text="fits"))
    p = provider(fake, model="claude-opus-4-1")
    assert (await p.complete(request())).text == "fits"
    assert [r.body["max_tokens"] for r in fake.requests] == [32000, 10000]


async def test_output_limit_and_thinking_come_from_the_model_table(fake, env_key):
    fake.push(Reply(text="a"), Reply(text="b"), Reply(text="c"))
    await provider(fake).complete(request())  # claude-sonnet-4-6
    await provider(fake, model="claude-opus-4-7", thinking=8000, temperature=0.3,
                   effort="high").complete(request())
    await provider(fake, model="claude-sonnet-5-5", thinking="off").complete(request())
    sonnet, opus, off = (r.body for r in fake.requests)
    assert sonnet["max_tokens"] == 64_000 and sonnet["thinking"] == {"type": "adaptive"}
    # opus 4.7 refuses a budget and a temperature: adaptive, the effort, no temperature
    assert opus["max_tokens"] == 128_000 and opus["thinking"] == {"type": "adaptive"}
    assert opus["output_config"] == {"effort": "high"} and "temperature" not in opus
    assert off["thinking"] == {"type": "between_tools"}


async def test_streamed_thinking_kept_for_the_next_turn(fake, env_key):
    fake.push(Reply(thinking="let me think", text="Reading.",
                    calls=[Call("read_file", {"path": "a"}, id="t1")]), Reply(text="done"))
    p = provider(fake, thinking_budget=1024, model="claude-sonnet-4-5")
    pieces: list[str] = []
    first = await p.complete(request(), pieces.append)
    assert "".join(pieces) == "Reading."  # thinking is not shown as answer text
    assert first.provider_state == {"anthropic": {"content": [
        {"type": "thinking", "thinking": "let me think", "signature": "sig-abc"},
        {"type": "text", "text": "Reading."},
        {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a"}}]}}
    history = [Message(role="user", text="go"), first.as_message(),
               Message(role="tool", tool_results=[ToolResult(call_id="t1", name="read_file",
                                                             content="x")])]
    await p.complete(request(*history))
    blocks = fake.requests[1].body["messages"][1]["content"]
    assert [b["type"] for b in blocks] == ["thinking", "text", "tool_use"]
    assert blocks[0]["signature"] == "sig-abc"


async def test_kept_blocks_are_bounded(fake, env_key, monkeypatch, caplog):
    """A hostile server's endless thinking is not kept for replay (nor journaled)."""
    monkeypatch.setattr(anthropic_adapter, "MAX_STATE_CHARS", 200)
    fake.push(Reply(blocks=[Thinking("x" * 300), "ok"]))
    turn = await provider(fake).complete(request())
    assert turn.text == "ok" and turn.provider_state is None
    assert "not kept for replay" in caplog.text


async def test_adaptive_thinking_takes_a_tool_turn_without_thinking(fake, env_key):
    """In adaptive mode thinking is the model's choice: a tool turn it answered without
    thinking goes back as it is. Only manual thinking (a budget) wants the open exchange's
    assistant turn to start with a thinking block, and the fake refuses it there alone."""
    fake.push(Reply(calls=[Call("read_file", {"path": "a"}, id="t1")]), Reply(text="done"))
    adaptive = provider(fake)  # claude-sonnet-4-6: adaptive by default
    first = await adaptive.complete(request())
    history = [Message(role="user", text="go"), first.as_message(),
               Message(role="tool", tool_results=[ToolResult(call_id="t1", name="read_file",
                                                             content="x")])]
    assert (await adaptive.complete(request(*history))).text == "done"
    assert fake.requests[1].body["thinking"] == {"type": "adaptive"}
    with pytest.raises(ProviderError, match="must start with a thinking block"):
        await provider(fake, thinking=2048).complete(request(*history))


async def test_a_refused_or_cut_off_turn_carries_what_it_billed(fake, env_key):
    # The run counts these tokens (agents/loop.py): the error is the only thing left of them.
    fake.push(Reply(text="I can't.", stop="refusal", input_tokens=1200, output_tokens=30))
    with pytest.raises(ProviderRefused) as refused:
        await provider(fake).complete(request())
    fake.push(Reply(text="partial", stop="model_context_window_exceeded", input_tokens=199_000,
                    output_tokens=900))
    with pytest.raises(ContextTooLong) as cut:
        await provider(fake).complete(request())
    # A turn continued after pause_turn and then refused: both parts were billed.
    fake.push(Reply(text="working", stop="pause_turn", input_tokens=500, output_tokens=50),
              Reply(text="no", stop="refusal", input_tokens=600, output_tokens=10))
    with pytest.raises(ProviderRefused) as paused:
        await provider(fake).complete(request())
    got = [(e.value.usage.input_tokens, e.value.usage.output_tokens) for e in (refused, cut, paused)]
    assert got == [(1200, 30), (199_000, 900), (1100, 60)]
    assert all(e.value.usage.cost_usd > 0 for e in (refused, cut, paused))  # priced
