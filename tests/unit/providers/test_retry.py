"""Retry policy: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import asyncio

import pytest

from baton.config import ProviderConfig
from baton.errors import ProviderError
from baton.providers.anthropic import AnthropicProvider
from baton.providers.base import Turn, Usage
from baton.providers.openai import OpenAIProvider
from baton.providers.pricing import priced
from baton.providers.retry import RetryPolicy, classify, parse_retry_after, with_retries
from tests.fakes.llm_server import Reply

from .conftest import Recorder, make_cfg
from .helpers import request


class StatusError(Exception):
    def __init__(self, status: int, body=None, headers=None):
        super().__init__(f"status {status}")
        self.status_code = status
        self.body = body
        self.response = type("R", (), {"headers": headers or {}})()


def test_policy_from_config_extras():
    cfg = ProviderConfig.model_validate({"kind": "anthropic", "max_retries": 5, "retry_base_s": 0.01,
                                         "retry_max_s": 0.02})
    policy = RetryPolicy.from_config(cfg)
    assert (policy.max_retries, policy.base_s, policy.max_s) == (5, 0.01, 0.02)
    assert all(0.005 <= policy.backoff(n) <= 0.02 for n in range(8))


def test_retry_after_forms():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({}) is None


@pytest.mark.parametrize("status,retryable", [(400, False), (401, False), (404, False), (408, True),
                                              (429, True), (500, True), (503, True), (529, True)])
def test_status_classification(status, retryable):
    err = classify(StatusError(status, {"error": {"type": "x", "message": "m"}}), "p", ())
    assert err.retryable is retryable and f"HTTP {status} x: m" == str(err)


def test_the_status_goes_with_the_error_for_the_failover_rule():
    # registry.fails_over reads it: a 400 is the request's fault, a 404 the provider's.
    assert classify(StatusError(400, {"error": {"type": "invalid_request_error"}}), "p", ()).status == 400
    assert classify(StatusError(404), "p", ()).status == 404
    # An error event inside a 200 stream: its type says whether the request was at fault.
    invalid = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    assert classify(StatusError(200, invalid), "p", ()).status == 400
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    assert classify(StatusError(200, overloaded), "p", ()).status is None


async def test_status_survives_the_retries_and_the_key_scrub():
    key = "sk-test-key-0123456789"

    async def failing():
        raise StatusError(503, {"error": {"message": f"bad key {key}"}})

    with pytest.raises(ProviderError) as e:
        await with_retries(failing, policy=RetryPolicy(max_retries=1, base_s=0.001), provider="p",
                           sleep=Recorder(), secret=key)
    assert e.value.status == 503 and key not in str(e.value) and "2 attempts" in str(e.value)


def test_mid_stream_overloaded_after_200_is_retryable():
    err = classify(StatusError(200, {"type": "error", "error": {"type": "overloaded_error",
                                                                "message": "Overloaded"}}), "p", ())
    assert err.retryable and "overloaded_error" in str(err)


async def test_gives_up_after_max_retries_and_never_catches_cancel():
    calls = 0

    async def failing():
        nonlocal calls
        calls += 1
        raise StatusError(500)

    sleep = Recorder()
    with pytest.raises(ProviderError, match="3 attempts"):
        await with_retries(failing, policy=RetryPolicy(max_retries=2, base_s=0.001), provider="p",
                           sleep=sleep)
    assert calls == 3 and len(sleep.delays) == 2

    async def cancelled():
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await with_retries(cancelled, policy=RetryPolicy(), provider="p", sleep=sleep)


async def test_connection_errors_are_retried():
    attempts = []

    async def flaky():
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("reset")
        return Turn(text="ok")

    assert await with_retries(flaky, policy=RetryPolicy(base_s=0.001), provider="p",
                              transient=(ConnectionError,), sleep=Recorder()) == Turn(text="ok")


# --- what a retried attempt billed is counted, not only logged ----------------------------

BILLED = Usage(input_tokens=100, output_tokens=7, cost_usd=0.002)


async def test_what_a_retried_attempt_billed_goes_with_the_answer():
    attempts = []

    async def billed_then_answered():
        attempts.append(1)
        if len(attempts) < 3:
            raise ProviderError("error mid-stream overloaded_error", retryable=True, usage=BILLED)
        return Turn(text="ok", usage=Usage(input_tokens=120, output_tokens=9, cost_usd=0.003))

    turn = await with_retries(billed_then_answered, policy=RetryPolicy(base_s=0.001),
                              provider="p", sleep=Recorder())
    assert turn.usage == Usage(input_tokens=320, output_tokens=23, cost_usd=0.007)


@pytest.mark.parametrize("last,also_billed", [
    ({"retryable": True, "usage": BILLED}, BILLED),
    ({"status": 400}, Usage()),  # not retried
    ({"retryable": True, "retry_after": 3600, "status": 429}, Usage()),  # not waited for
], ids=["retries-run-out", "then-not-retryable", "then-retry-after-too-long"])
async def test_what_retried_attempts_billed_goes_with_the_error(last, also_billed):
    # The error is rebuilt on the way out ("after 3 attempts", "asked to retry after"):
    # what the attempts before billed stays on it, and the run counts it.
    attempts = []

    async def failing():
        attempts.append(1)
        if len(attempts) < 3:
            raise ProviderError("stream cut", retryable=True, usage=BILLED)
        raise ProviderError("the last attempt failed", **last)

    with pytest.raises(ProviderError) as e:
        await with_retries(failing, policy=RetryPolicy(max_retries=2, base_s=0.001),
                           provider="p", sleep=Recorder())
    assert len(attempts) == 3 and e.value.usage == BILLED + BILLED + also_billed


async def test_nothing_billed_leaves_the_error_without_usage():
    async def failing():
        raise StatusError(529)

    with pytest.raises(ProviderError) as e:
        await with_retries(failing, policy=RetryPolicy(max_retries=1, base_s=0.001),
                           provider="p", sleep=Recorder())
    assert e.value.usage is None


def adapter(fake, kind: str, **extra) -> AnthropicProvider | OpenAIProvider:
    cls, name, model = {"anthropic": (AnthropicProvider, "claude", "claude-sonnet-4-6"),
                        "openai": (OpenAIProvider, "gpt", "gpt-5-mini")}[kind]
    p = cls(name, make_cfg(kind, fake.url, model=model, **extra))
    p.sleep = Recorder()
    return p


@pytest.mark.parametrize("kind,failed", [
    # message_start said what the attempt bills (120 in, 1 out), then overloaded_error.
    ("anthropic", Reply(text="partial", mid_stream_error="overloaded_error", input_tokens=120)),
    # response.failed says what it billed.
    ("openai", Reply(failed={"code": "server_error", "message": "try again"}, input_tokens=120,
                     output_tokens=1)),
])
async def test_a_retried_answer_counts_what_the_failed_attempt_billed(fake, env_key, kind, failed):
    fake.push(failed, Reply(text="whole", input_tokens=120, output_tokens=30))
    p = adapter(fake, kind)
    turn = await p.complete(request())
    assert turn.text == "whole" and len(fake.requests) == 2
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (240, 31)
    assert turn.usage.cost_usd > 0
    assert turn.usage.cost_usd == pytest.approx(priced(turn.usage, p.prices).cost_usd)


async def test_anthropic_every_attempt_cut_counts_them_all_on_the_error(fake, env_key):
    fake.push(*[Reply(text="partial", mid_stream_error="overloaded_error", input_tokens=50)] * 2)
    with pytest.raises(ProviderError) as e:
        await adapter(fake, "anthropic", max_retries=1).complete(request())
    assert "2 attempts" in str(e.value) and e.value.usage is not None
    assert (e.value.usage.input_tokens, e.value.usage.output_tokens) == (100, 2)
    assert e.value.usage.cost_usd > 0


def test_the_key_scrub_keeps_an_adapters_own_error_type_and_attributes():
    """An adapter's error subclass with its own constructor (Anthropic's over-the-window 400,
    which carries the room left) is scrubbed without being rebuilt: its type and attributes stay,
    and the key is gone from its text."""
    from baton.providers.anthropic import _OverLimit
    from baton.providers.retry import scrub

    key = "sk-ant-secret-123456"
    err = _OverLimit(1234, f"input too long for key {key}", "claude")
    err.usage = Usage(input_tokens=7)
    clean = scrub(err, key)
    assert type(clean) is _OverLimit and clean.room == 1234 and clean.provider == "claude"
    assert key not in str(clean) and "[redacted]" in str(clean)
    assert clean.usage == Usage(input_tokens=7)
