"""Retry policy: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import asyncio

import pytest

from baton.config import ProviderConfig
from baton.errors import ProviderError
from baton.providers.retry import RetryPolicy, classify, parse_retry_after, with_retries

from .conftest import Recorder


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
        return "ok"

    assert await with_retries(flaky, policy=RetryPolicy(base_s=0.001), provider="p",
                              transient=(ConnectionError,), sleep=Recorder()) == "ok"
