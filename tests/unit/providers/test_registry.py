"""Registry: adapters built from config, failover across a role's chain, the doctor probe."""

from __future__ import annotations

import json
import re

import pytest

from baton.config import Config
from baton.errors import ConfigError, ContextTooLong, ProviderError, ProviderRefused, ProviderUnavailable
from baton.providers.base import (Capabilities, Message, OnDelta, ToolResult, Turn, TurnRequest,
                                  Usage)
from baton.providers.registry import FailoverProvider, Registry, fails_over, probe
from tests.fakes.llm_server import Call, FakeLLMServer, Reply

from .helpers import request

FAST = {"retry_base_s": 0.001, "retry_max_s": 0.002, "max_retries": 1, "api_key_env": "BATON_TEST_KEY"}


def config(url: str) -> Config:
    return Config.model_validate({
        "providers": {
            "claude": {"kind": "anthropic", "model": "claude-haiku-4-5", "base_url": url, **FAST},
            "gpt": {"kind": "openai", "model": "gpt-5-mini", "base_url": url + "/v1", **FAST},
            "local": {"kind": "openai-compatible", "model": "qwen", "base_url": url + "/v1", **FAST},
        },
        "roles": {"implementer": ["claude", "gpt", "local"], "planner": "gpt"}})


async def test_each_kind_builds_its_adapter(fake, env_key):
    reg = Registry(config(fake.url))
    kinds = {n: type(reg.provider(n)).__name__ for n in ("claude", "gpt", "local")}
    assert kinds == {"claude": "AnthropicProvider", "gpt": "OpenAIProvider",
                     "local": "OpenAICompatProvider"}
    assert reg.provider("claude") is reg.provider("claude")


def model_requests(fake: FakeLLMServer) -> list[str]:
    return [r.path for r in fake.requests if r.path.startswith("/v1/")]


async def test_failover_moves_on_after_the_adapter_gives_up(fake, env_key, caplog):
    fake.push(Reply(status=529), Reply(status=529),  # claude: first try + one retry
              Reply(status=401, error_message="bad key"),  # gpt: this provider is unusable
              Reply(text="local answered"))
    turn = await Registry(config(fake.url)).for_role("implementer").complete(request())
    assert turn.provider == "local" and turn.text == "local answered"
    assert model_requests(fake) == ["/v1/messages"] * 2 + ["/v1/responses",
                                                           "/v1/chat/completions"]
    assert "provider gpt failed: HTTP 401" in caplog.text and "failed over to local" in caplog.text


async def test_every_failure_named_when_all_fail(fake, env_key):
    fake.push(Reply(status=503, error_message="claude is down"), Reply(status=503),
              Reply(status=404, error_type="not_found_error", error_message="no model gpt-5-mini"),
              Reply(status=403, error_message="local says no"))
    with pytest.raises(ProviderUnavailable) as e:
        await Registry(config(fake.url)).for_role("implementer").complete(request())
    msg = str(e.value)
    assert msg.startswith("implementer: every provider failed")
    for name in ("claude: HTTP 503", "gpt: HTTP 404", "no model gpt-5-mini", "local: HTTP 403",
                 "local says no"):
        assert name in msg
    # What to fix, in words, where a status says it.
    assert "(the model name 'gpt-5-mini' was not found (404))" in msg
    assert "(the key in $BATON_TEST_KEY is not allowed to use 'qwen' (403))" in msg


@pytest.mark.parametrize("status", [400, 422])
async def test_a_request_rejected_as_invalid_is_not_failed_over(fake, env_key, status):
    # A 400 is Baton's bug or a setting of that provider: another vendor would hide it (and
    # be paid for the same request).
    fake.push(Reply(status=503), Reply(status=503),
              Reply(status=status, error_message="max_output_tokens: too large"))
    with pytest.raises(ProviderError) as e:
        await Registry(config(fake.url)).for_role("implementer").complete(request())
    assert not isinstance(e.value, ProviderUnavailable)
    msg = str(e.value)
    assert msg.startswith("implementer: claude: HTTP 503") and f"gpt: HTTP {status}" in msg
    assert "max_output_tokens: too large" in msg and "not sent to another provider" in msg
    assert "/v1/chat/completions" not in model_requests(fake)


async def test_an_invalid_request_error_mid_stream_is_not_failed_over(fake, env_key):
    fake.push(Reply(text="partial", mid_stream_error="invalid_request_error"))
    with pytest.raises(ProviderError, match="not sent to another provider"):
        await Registry(config(fake.url)).for_role("implementer").complete(request())
    assert model_requests(fake) == ["/v1/messages"]


class Stub:
    """A provider that fails with a given error (the adapters' own tests show which wire
    responses raise it)."""

    def __init__(self, name: str, error: ProviderError | None = None) -> None:
        self.name = name
        self.capabilities = Capabilities()
        self.error = error
        self.requests: list[TurnRequest] = []

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return Turn(text="answered", provider=self.name)


async def test_a_refusal_ends_the_run_and_is_never_sent_to_another_vendor():
    refused = Stub("claude", ProviderRefused("the model declined: unsafe request",
                                             provider="claude"))
    other = Stub("gpt")
    with pytest.raises(ProviderRefused) as e:
        await FailoverProvider("implementer", [refused, other]).complete(request())
    assert str(e.value) == "implementer: declined by claude: the model declined: unsafe request"
    assert other.requests == []


async def test_context_too_long_goes_to_context_management_untouched():
    error = ContextTooLong("prompt is too long: 210000 tokens > 200000 maximum", provider="c")
    other = Stub("gpt")
    with pytest.raises(ContextTooLong) as e:
        await FailoverProvider("implementer", [Stub("claude", error), other]).complete(request())
    assert e.value is error and other.requests == []


def test_the_failover_rule():
    assert fails_over(ProviderError("HTTP 503", retryable=True, status=503))
    assert fails_over(ProviderError("HTTP 429 after retries", retryable=True, status=429))
    assert fails_over(ProviderError("connection failed: ReadTimeout", retryable=True))
    for status in (401, 402, 403, 404):  # this provider cannot serve any request
        assert fails_over(ProviderError(f"HTTP {status}", status=status))
    assert fails_over(ProviderError("no API key: set $X"))
    for status in (400, 413, 422):  # the request is at fault
        assert not fails_over(ProviderError(f"HTTP {status}", status=status))
    assert not fails_over(ProviderRefused("declined", retryable=True))
    assert not fails_over(ContextTooLong("too long", status=400))


async def test_a_cost_budget_with_an_unpriced_model_refuses_the_run_before_any_call(fake, env_key):
    cfg = config(fake.url).model_dump()
    cfg["providers"]["local"]["base_url"] = "https://models.example.com/v1"  # not free
    cfg["limits"] = {"run_cost_usd": 1.0}
    with pytest.raises(ConfigError, match=r"run_cost_usd = 1 cannot be kept.*local \(model 'qwen'\)"):
        Registry(Config.model_validate(cfg)).for_role("planner")  # even a role without it
    cfg["providers"]["local"]["prices"] = {"input": 0.2, "output": 0.8}
    Registry(Config.model_validate(cfg)).for_role("implementer")
    assert fake.requests == []


async def test_probe_ok(fake, env_key):
    fake.push(Reply(calls=[Call("echo", {"text": "ping"})]), Reply(text="pong"))
    verdict = await probe(Registry(config(fake.url)).provider("claude"))
    assert verdict.startswith("ok: tool call and result round trip") and "claude-haiku-4-5" in verdict
    second = fake.requests[1].body["messages"]
    assert second[-1]["content"][0]["type"] == "tool_result"


async def test_probe_partial_and_failed(fake, env_key):
    fake.push(Reply(text="I cannot use tools"))
    assert (await probe(Registry(config(fake.url)).provider("local"))).startswith("partial: ")
    fake.push(Reply(status=401, error_message="invalid api key"))
    verdict = await probe(Registry(config(fake.url)).provider("gpt"))
    assert verdict.startswith("failed: HTTP 401") and "\n" not in verdict


async def test_replies_scripted_per_model(fake, env_key):
    fake.push(Reply(text="from qwen"), model="qwen")
    fake.push(Reply(text="from haiku"), model="claude-haiku-4-5")
    reg = Registry(config(fake.url))
    assert (await reg.provider("claude").complete(request())).text == "from haiku"
    assert (await reg.provider("local").complete(request())).text == "from qwen"


async def test_probe_of_the_offline_provider_needs_no_network():
    reg = Registry(Config.model_validate({"providers": {"offline": {"kind": "scripted"}}}))
    assert (await probe(reg.provider("offline"))).startswith("ok: offline scripted provider")


async def test_failing_over_mid_conversation_sends_a_history_the_next_provider_accepts(
        fake, env_key):
    """A local server wrote the first exchange (ids a Kimi-style server gives, which
    Anthropic refuses); it goes down; Claude, thinking, takes over mid tool loop. The fake
    server refuses what the real API refuses (id pattern, pairing, an open tool exchange
    without a thinking block while thinking is on)."""
    cfg = config(fake.url).model_dump()
    cfg["providers"]["claude"] |= {"model": "claude-sonnet-4-6", "thinking_budget": 2048}
    cfg["roles"]["implementer"] = ["local", "claude"]
    chain = Registry(Config.model_validate(cfg)).for_role("implementer")
    history = [Message(role="user", text="Fix a.py")]

    async def turn() -> Turn:
        t = await chain.complete(request(*history))
        history.append(t.as_message())
        history.extend(Message(role="tool", tool_results=[
            ToolResult(call_id=c.id, name=c.name, content=f"contents of {c.arguments['path']}")])
            for c in t.tool_calls)
        return t

    fake.push(Reply(calls=[Call("read_file", {"path": "a.py"}, id="functions.read_file:0")]),
              model="qwen")
    assert (await turn()).provider == "local"
    fake.push(Reply(status=503), Reply(status=503), model="qwen")
    fake.push(Reply(thinking="b.py next", calls=[Call("read_file", {"path": "b.py"})]),
              Reply(thinking="done", text="Fixed."), model="claude-sonnet-4-6")
    assert (await turn()).provider == "claude"
    assert (await turn()).text == "Fixed."  # Claude's own exchange goes back with its thinking
    sent = [r.body for r in fake.requests if r.path == "/v1/messages"]
    first = sent[0]["messages"]
    assert [b["type"] for b in first[-2]["content"]] == ["text"]  # the foreign open exchange
    assert "read_file" in first[-2]["content"][0]["text"]
    assert "contents of a.py" in json.dumps(first[-1])
    last = sent[1]["messages"]
    ids = [b["id"] for m in last for b in m["content"] if b["type"] == "tool_use"]
    assert ids and all(re.fullmatch(r"[a-zA-Z0-9_-]+", i) for i in ids)
    assert last[-2]["content"][0]["type"] == "thinking"


async def test_failing_over_to_deepseek_thinking_mid_loop(fake, env_key):
    """DeepSeek's thinking mode refuses a tool call of the turn in progress that carries no
    reasoning_content: the calls Claude made reach it as text, the turn goes on."""
    fake.chat.reasoning_back = True
    cfg = config(fake.url).model_dump()
    cfg["providers"]["local"] |= {"model": "deepseek-reasoner", "reasoning": True}
    cfg["roles"]["implementer"] = ["claude", "local"]
    chain = Registry(Config.model_validate(cfg)).for_role("implementer")
    fake.push(Reply(calls=[Call("read_file", {"path": "a.py"})]), Reply(status=503),
              Reply(status=503), model="claude-haiku-4-5")
    fake.push(Reply(text="Read it; done."), model="deepseek-reasoner")
    history = [Message(role="user", text="Fix a.py")]
    first = await chain.complete(request(*history))
    history += [first.as_message(), Message(role="tool", tool_results=[
        ToolResult(call_id=first.tool_calls[0].id, name="read_file", content="print(1)")])]
    turn = await chain.complete(request(*history))
    assert (turn.provider, turn.text) == ("local", "Read it; done.")
    sent = fake.requests[-1].body["messages"]
    assert not any(m.get("tool_calls") for m in sent) and "print(1)" in sent[-1]["content"]


# --- a provider the person must fix is said; what failed attempts billed is counted ------

def two_vendors(url: str, claude: dict[str, object] | None = None) -> Config:
    return Config.model_validate({
        "providers": {
            "claude": {"kind": "anthropic", "model": "claude-haiku-4-5", "base_url": url,
                       **FAST, **(claude or {})},
            "gpt": {"kind": "openai", "model": "gpt-5-mini", "base_url": url + "/v1", **FAST}},
        "roles": {"implementer": ["claude", "gpt"], "planner": ["claude", "gpt"]}})


async def test_a_refused_key_is_said_once_per_provider_naming_the_cause_not_the_key(
        fake, env_key):
    # Some servers echo the key they were sent: that text must not reach the person's message.
    for _ in range(2):
        fake.push(Reply(status=401, error_message=f"Incorrect API key provided: {env_key}"),
                  model="claude-haiku-4-5")
        fake.push(Reply(text="gpt answered"), model="gpt-5-mini")
    reg = Registry(two_vendors(fake.url))
    first = await reg.for_role("implementer").complete(request())
    assert first.provider == "gpt" and [f.provider for f in first.fallbacks] == ["claude"]
    said = first.fallbacks[0]
    assert said.first and said.message == (
        "Provider claude could not be used: the key in $BATON_TEST_KEY was refused (401). "
        "The implementer's turns went to gpt instead, billed to that account. Fix claude in "
        "the configuration, or take it out of [roles] implementer.")
    assert env_key not in said.model_dump_json()
    # Another agent of this daemon meets the same failure: in its run's events, not said again.
    again = await reg.for_role("planner").complete(request())
    assert [(f.provider, f.first) for f in again.fallbacks] == [("claude", False)]
    # A new configuration (the key may be fixed) says it again.
    fake.push(Reply(status=401), model="claude-haiku-4-5")
    fake.push(Reply(text="gpt answered"), model="gpt-5-mini")
    fresh = await Registry(two_vendors(fake.url)).for_role("planner").complete(request())
    assert fresh.fallbacks[0].first


async def test_an_outage_fails_over_without_a_fallback_to_fix(fake, env_key):
    fake.push(Reply(status=503), Reply(status=503), model="claude-haiku-4-5")
    fake.push(Reply(text="gpt answered"), model="gpt-5-mini")
    turn = await Registry(two_vendors(fake.url)).for_role("implementer").complete(request())
    assert turn.provider == "gpt" and turn.fallbacks == []


async def test_a_missing_key_is_said_as_such(fake, env_key):
    fake.push(Reply(text="gpt answered"), model="gpt-5-mini")
    reg = Registry(two_vendors(fake.url, {"api_key_env": "BATON_TEST_UNSET_KEY"}))
    turn = await reg.for_role("implementer").complete(request())
    assert turn.provider == "gpt"
    assert "Provider claude could not be used: no API key: $BATON_TEST_UNSET_KEY is not set." \
        in turn.fallbacks[0].message


@pytest.mark.parametrize("error, said", [
    (ProviderError("HTTP 401", status=401), "the key in $BATON_TEST_KEY was refused (401)"),
    (ProviderError("HTTP 403", status=403),
     "the key in $BATON_TEST_KEY is not allowed to use 'claude-haiku-4-5' (403)"),
    (ProviderError("HTTP 402", status=402),
     "the account of the key in $BATON_TEST_KEY has no credit left (402)"),
    (ProviderError("HTTP 429 insufficient_quota", status=429),
     "the account of the key in $BATON_TEST_KEY has no quota left (429)"),
    (ProviderError("HTTP 404", status=404), "the model name 'claude-haiku-4-5' was not found (404)"),
    (ProviderError("HTTP 429 after retries", status=429, retryable=True), None),  # it passes
    (ProviderError("HTTP 503", status=503, retryable=True), None),
    (ProviderError("connection failed", retryable=True), None),
])
def test_the_cause_in_words(env_key, error, said):
    from baton.providers.registry import cause
    cfg = two_vendors("http://127.0.0.1:9").providers["claude"]
    assert cause(error, cfg) == said


async def test_what_a_failed_attempt_billed_goes_with_the_answer_or_the_error():
    billed = Usage(input_tokens=100, output_tokens=7, cost_usd=0.002)

    def cut() -> ProviderError:
        return ProviderError("the stream ended, billed", retryable=True, usage=billed)

    turn = await FailoverProvider("implementer", [Stub("claude", cut()), Stub("gpt")]).complete(
        request())
    assert turn.provider == "gpt" and turn.usage == billed
    # Failed over, then refused: the refusal carries both.
    refused = ProviderRefused("declined", provider="gpt", usage=billed)
    with pytest.raises(ProviderRefused) as e:
        await FailoverProvider("implementer", [Stub("claude", cut()), Stub("gpt", refused)]
                               ).complete(request())
    assert e.value.usage == billed + billed
    with pytest.raises(ProviderUnavailable) as u:
        await FailoverProvider("implementer", [Stub("claude", cut()), Stub("gpt", cut())]
                               ).complete(request())
    assert u.value.usage == billed + billed
