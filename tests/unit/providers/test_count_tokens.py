"""Counting a request's tokens before it is sent: Anthropic's counting endpoint through the
real SDK (what it is sent, and a failure that falls back to the estimate); the adapters
without one say so."""

from __future__ import annotations

from baton.providers.anthropic import AnthropicProvider
from baton.providers.openai import OpenAIProvider
from baton.providers.openai_compat import OpenAICompatProvider
from baton.providers.registry import FailoverProvider

from .conftest import make_cfg
from .helpers import request, tool_history


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


async def test_adapters_without_a_counting_endpoint_say_none(fake, env_key) -> None:
    for provider in (OpenAIProvider("gpt", make_cfg("openai", fake.url)),
                     OpenAICompatProvider("local", make_cfg("openai-compatible", fake.url))):
        assert await provider.count_tokens(request()) is None
    assert fake.requests == []
