"""The adapters' HTTP connection: a quiet stream is waited for, a dead peer is probed, and a
retry after the provider had started answering is said to cost the turn twice."""

from __future__ import annotations

import logging
import socket

import pytest

from baton.config import ProviderConfig
from baton.errors import ProviderError
from baton.providers.anthropic import AnthropicProvider
from baton.providers.openai_compat import OpenAICompatProvider
from baton.providers.transport import keepalive_options, sdk_timeout, watched_client
from tests.fakes.llm_server import Call, Reply

from .conftest import make_cfg
from .helpers import request


def test_the_idle_limit_is_long_and_apart_from_the_connect_limit():
    timeout = sdk_timeout(ProviderConfig(kind="anthropic"))
    assert (timeout.read, timeout.connect) == (600.0, 10.0)
    custom = sdk_timeout(ProviderConfig(kind="anthropic", timeout_s=1800, connect_timeout_s=3))
    assert (custom.read, custom.connect) == (1800, 3)
    with pytest.raises(ValueError, match="timeout_s"):
        ProviderConfig(kind="anthropic", timeout_s=0)


async def test_connections_are_probed_with_tcp_keepalive(fake):
    import openai
    client = watched_client(openai.DefaultAsyncHttpxClient)
    async with client:
        async with client.stream("POST", fake.url + "/v1/chat/completions",
                                 json={"model": "m", "messages": []}) as response:
            sock = response.extensions["network_stream"].get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            if hasattr(socket, "TCP_KEEPIDLE"):
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
    assert (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1) in keepalive_options()


async def test_a_quiet_stream_is_waited_for_not_cut(fake, env_key, caplog):
    # Pauses between events (a model thinking) well inside the idle limit: one request.
    fake.push(Reply(text="slow but alive", event_delay_s=0.15))
    p = AnthropicProvider("claude", make_cfg("anthropic", fake.url, timeout_s=5))
    assert (await p.complete(request())).text == "slow but alive"
    assert len(fake.requests) == 1 and "retry" not in caplog.text


async def test_a_retry_after_the_answer_began_says_the_turn_is_paid_twice(fake, env_key, caplog):
    caplog.set_level(logging.WARNING)
    fake.push(Reply(status=529), Reply(text="partial", mid_stream_error="overloaded_error"),
              Reply(text="whole"))
    p = AnthropicProvider("claude", make_cfg("anthropic", fake.url))
    assert (await p.complete(request())).text == "whole"
    first, second = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert "paid for twice" not in first  # a 529 is not billed
    assert "provider claude" in second and "paid for twice" in second


async def test_a_stream_silent_past_the_idle_limit_is_retried_and_said_to_cost_twice(
        fake, env_key, caplog):
    caplog.set_level(logging.WARNING)
    fake.push(*[Reply(calls=[Call("read_file", {"path": "a"})], event_delay_s=1.0)] * 2)
    p = OpenAICompatProvider("local", make_cfg("openai-compatible", fake.url, timeout_s=0.2,
                                               max_retries=1))
    with pytest.raises(ProviderError) as e:
        await p.complete(request())
    assert e.value.retryable and "timed out" in str(e.value)
    assert "the last had started answering and is billed" in str(e.value)
    assert "paid for twice" in caplog.text
