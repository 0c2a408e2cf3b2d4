"""Registry: adapters built from config, failover across a role's chain, the doctor probe."""

from __future__ import annotations

import pytest

from baton.config import Config
from baton.errors import ProviderError, ProviderUnavailable
from baton.providers.registry import Registry, probe
from tests.fakes.llm_server import Call, Reply

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


async def test_failover_moves_on_after_the_adapter_gives_up(fake, env_key):
    fake.push(Reply(status=529), Reply(status=529),  # claude: first try + one retry
              Reply(status=401, error_message="bad key"),  # gpt: not retryable
              Reply(text="local answered"))
    turn = await Registry(config(fake.url)).for_role("implementer").complete(request())
    assert turn.provider == "local" and turn.text == "local answered"
    assert [r.path for r in fake.requests] == ["/v1/messages"] * 2 + ["/v1/responses",
                                                                      "/v1/chat/completions"]


async def test_every_failure_named_when_all_fail(fake, env_key):
    fake.push(Reply(status=400, error_message="claude says no"),
              Reply(status=400, error_message="gpt says no"),
              Reply(status=400, error_message="local says no"))
    with pytest.raises(ProviderUnavailable) as e:
        await Registry(config(fake.url)).for_role("implementer").complete(request())
    msg = str(e.value)
    assert msg.startswith("implementer: every provider failed")
    for name in ("claude: HTTP 400", "claude says no", "gpt: ", "gpt says no", "local: ",
                 "local says no"):
        assert name in msg


async def test_single_provider_failure_is_a_provider_error(fake, env_key):
    fake.push(Reply(status=400, error_message="nope"))
    with pytest.raises(ProviderError, match="planner: gpt: HTTP 400.*nope"):
        await Registry(config(fake.url)).for_role("planner").complete(request())


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
