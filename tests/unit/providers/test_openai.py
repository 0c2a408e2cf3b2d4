"""The OpenAI Responses adapter through the real SDK against the fake server."""

from __future__ import annotations

import asyncio

import pytest

from baton.errors import ContextTooLong, ProviderError, ProviderRefused
from baton.providers.base import Message, StopReason, ToolCall, ToolResult
from baton.providers.openai import OpenAIProvider, translate_input
from tests.fakes.llm_server import Call, FakeLLMServer, Reply

from .conftest import Recorder, make_cfg
from .helpers import request, tool_history

REASONING = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque-blob"}


def provider(fake: FakeLLMServer, model: str = "gpt-5-mini", **extra) -> OpenAIProvider:
    p = OpenAIProvider("gpt", make_cfg("openai", fake.url, model=model, **extra))
    p.sleep = Recorder()
    return p


async def test_function_calls_with_json_string_arguments(fake, env_key):
    fake.push(Reply(text="Reading.", calls=[Call("read_file", {"path": "a.py"}, id="call_a")],
                    input_tokens=1000, cached_tokens=400, output_tokens=100))
    pieces: list[str] = []
    turn = await provider(fake).complete(request(), pieces.append)
    assert "".join(pieces) == "Reading." and turn.text == "Reading."
    assert turn.tool_calls == [ToolCall(id="call_a", name="read_file", arguments={"path": "a.py"})]
    assert turn.stop == StopReason.TOOL_USE
    assert (turn.usage.input_tokens, turn.usage.cached_tokens, turn.usage.output_tokens) == (1000, 400, 100)
    assert turn.usage.cost_usd == pytest.approx((600 * 0.25 + 400 * 0.025 + 100 * 2) / 1e6)
    sent = fake.requests[0]
    assert sent.path == "/v1/responses" and sent.body["instructions"] == "You help."
    assert sent.body["tools"][0]["type"] == "function" and sent.body["store"] is False


async def test_reasoning_model_params(fake, env_key):
    fake.push(Reply(text="ok"))
    await provider(fake, reasoning_effort="low", temperature=0.2).complete(request(max_output_tokens=999))
    body = fake.requests[0].body
    assert body["reasoning"] == {"effort": "low"} and body["max_output_tokens"] == 999
    assert "temperature" not in body and body["include"] == ["reasoning.encrypted_content"]


async def test_non_reasoning_model_takes_temperature(fake, env_key):
    fake.push(Reply(text="ok"))
    await provider(fake, model="gpt-4.1", temperature=0.2).complete(request())
    body = fake.requests[0].body
    assert body["temperature"] == 0.2 and "reasoning" not in body and "include" not in body


async def test_reasoning_items_replayed_on_the_next_turn(fake, env_key):
    fake.push(Reply(reasoning=REASONING, calls=[Call("read_file", {"path": "a.py"}, id="call_1")]),
              Reply(text="done"))
    p = provider(fake)
    first = await p.complete(request())
    assert first.provider_state and first.provider_state["openai"]["items"][0]["type"] == "reasoning"
    history = [Message(role="user", text="Fix it"), first.as_message(),
               Message(role="tool", tool_results=[ToolResult(call_id="call_1", name="read_file",
                                                             content="x = 1")])]
    await p.complete(request(*history))
    sent = fake.requests[1].body["input"]
    assert [i.get("type") for i in sent] == ["message", "reasoning", "function_call",
                                              "function_call_output"]
    assert sent[1]["encrypted_content"] == "opaque-blob" and "id" not in sent[1]
    assert sent[2]["call_id"] == sent[3]["call_id"] == "call_1"


def test_interrupted_history_gets_an_output_for_every_call():
    items = translate_input(tool_history())
    outputs = {i["call_id"]: i["output"] for i in items if i["type"] == "function_call_output"}
    assert set(outputs) == {"c1", "c2", "c3"} and "interrupted" in outputs["c3"]
    assert outputs["c2"].startswith("ERROR: ")


async def test_incomplete_at_max_tokens_marks_the_cut_call_invalid(fake, env_key):
    fake.push(Reply(calls=[Call("write_file", raw='{"path": "a.py", "te')], stop="max_output_tokens"))
    turn = await provider(fake).complete(request())
    assert turn.stop == StopReason.MAX_TOKENS
    assert turn.tool_calls[0].invalid and "cut off" in turn.tool_calls[0].invalid


async def test_500_then_success(fake, env_key):
    fake.push(Reply(status=500), Reply(status=503), Reply(text="ok"))
    p = provider(fake)
    assert (await p.complete(request())).text == "ok" and len(p.sleep.delays) == 2


async def test_rate_limit_retry_after_ms(fake, env_key):
    fake.push(Reply(status=429, headers={"retry-after-ms": "1500"}), Reply(text="ok"))
    p = provider(fake)
    await p.complete(request())
    assert p.sleep.delays == [1.5]


async def test_retry_after_beyond_the_cap_fails_now_for_failover(fake, env_key):
    fake.push(Reply(status=429, headers={"retry-after": "3600"}))
    with pytest.raises(ProviderError, match="retry after 3600"):
        await provider(fake).complete(request())
    assert len(fake.requests) == 1


async def test_server_error_mid_stream_is_retried(fake, env_key):
    fake.push(Reply(text="par", mid_stream_error="server_error"), Reply(text="full"))
    assert (await provider(fake).complete(request())).text == "full"


async def test_stream_cut_every_time_fails_with_a_reason(fake, env_key):
    fake.push(*[Reply(calls=[Call("write_file", {"path": "a", "text": "z" * 40})], cut_mid_call=True)
                for _ in range(4)])
    with pytest.raises(ProviderError) as e:
        await provider(fake).complete(request())
    assert e.value.retryable and "4 attempts" in str(e.value)


async def test_missing_key_is_a_clear_error(fake, monkeypatch):
    monkeypatch.delenv("BATON_TEST_KEY", raising=False)
    with pytest.raises(ProviderError, match=r"set \$BATON_TEST_KEY"):
        await provider(fake).complete(request())


async def test_cancel_stops_the_stream(fake, env_key):
    fake.push(Reply(text="word " * 30, event_delay_s=0.2))
    first = asyncio.Event()
    task = asyncio.create_task(provider(fake).complete(request(), lambda _: first.set()))
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)


async def test_output_limit_and_window_come_from_the_model_table(fake, env_key):
    fake.push(Reply(text="ok"), Reply(text="ok"))
    p = provider(fake, model="gpt-5.2")
    await p.complete(request())
    await provider(fake, model="gpt-5-chat-latest", temperature=0.5).complete(request())
    reasoning, chat = (r.body for r in fake.requests)
    assert reasoning["max_output_tokens"] == 128_000 and p.capabilities.context_window == 400_000
    assert reasoning["include"] == ["reasoning.encrypted_content"] and "temperature" not in reasoning
    assert chat["max_output_tokens"] == 16_384 and chat["temperature"] == 0.5
    assert "include" not in chat


async def test_failed_for_policy_is_a_refusal_not_an_outage(fake, env_key):
    fake.push(Reply(failed={"code": "invalid_prompt", "message": "Invalid prompt: flagged as "
                            "potentially violating our usage policy."}))
    p = provider(fake)
    with pytest.raises(ProviderRefused, match="declined the request.*invalid_prompt") as e:
        await p.complete(request())
    assert not e.value.retryable and len(fake.requests) == 1 and p.sleep.delays == []


async def test_failed_for_a_server_error_is_still_retried(fake, env_key):
    fake.push(Reply(failed={"code": "server_error", "message": "boom"}), Reply(text="ok"))
    assert (await provider(fake).complete(request())).text == "ok"


async def test_incomplete_for_content_filter_is_a_refusal(fake, env_key):
    fake.push(Reply(text="Here is", stop="content_filter"))
    with pytest.raises(ProviderRefused, match="content_filter"):
        await provider(fake).complete(request())
    assert len(fake.requests) == 1


async def test_insufficient_quota_is_not_retried_and_says_so(fake, env_key):
    fake.push(Reply(status=429, error_type="insufficient_quota",
                    error_message="You exceeded your current quota, please check your plan "
                                  "and billing details."), Reply(text="never"))
    p = provider(fake)
    with pytest.raises(ProviderError) as e:
        await p.complete(request())
    assert not isinstance(e.value, ProviderRefused) and not e.value.retryable
    assert "no quota left" in str(e.value) and "billing" in str(e.value)
    assert len(fake.requests) == 1 and p.sleep.delays == []


async def test_context_length_exceeded_is_context_too_long(fake, env_key):
    fake.push(Reply(status=400, error_type="context_length_exceeded",
                    error_message="Your input exceeds the context window of this model."))
    with pytest.raises(ContextTooLong, match="context window"):
        await provider(fake).complete(request())


async def test_a_refused_or_overlong_response_carries_what_it_billed(fake, env_key):
    # The run counts these tokens (agents/loop.py): the error is the only thing left of them.
    fake.push(Reply(failed={"code": "invalid_prompt", "message": "flagged"}, input_tokens=800,
                    output_tokens=0))
    with pytest.raises(ProviderRefused) as failed:
        await provider(fake).complete(request())
    fake.push(Reply(text="Here is", stop="content_filter", input_tokens=900, output_tokens=40))
    with pytest.raises(ProviderRefused) as filtered:
        await provider(fake).complete(request())
    fake.push(Reply(failed={"code": "context_length_exceeded", "message": "too long"},
                    input_tokens=400_000, output_tokens=0))
    with pytest.raises(ContextTooLong) as overlong:
        await provider(fake).complete(request())
    got = [(e.value.usage.input_tokens, e.value.usage.output_tokens)
           for e in (failed, filtered, overlong)]
    assert got == [(800, 0), (900, 40), (400_000, 0)]
    assert all(e.value.usage.cost_usd > 0 for e in (failed, filtered, overlong))  # priced


async def test_insufficient_quota_keeps_its_status_for_the_failover_notice(fake, env_key):
    fake.push(Reply(status=429, error_type="insufficient_quota", error_message="quota"))
    with pytest.raises(ProviderError) as e:
        await provider(fake).complete(request())
    assert e.value.status == 429 and not e.value.retryable  # registry.cause: "no quota left"
