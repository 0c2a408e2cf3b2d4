"""Cost from usage: defaults by model id, overrides from config, unknown prices kept unknown."""

from __future__ import annotations

from typing import Any

import pytest

from baton.config import Config, ProviderConfig
from baton.errors import ConfigError
from baton.providers.base import Usage
from baton.providers.pricing import (budget_problem, cost_text, cost_usd, default_prices, describe,
                                     priced, prices_for)


def cfg(model: str, kind: str = "anthropic", **extra: Any) -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": kind, "model": model, **extra})


def test_snapshots_match_their_alias():
    assert default_prices("claude-sonnet-4-5-20250929") == default_prices("claude-sonnet-4-5")
    assert default_prices("gpt-5-mini-2025-08-07") == default_prices("gpt-5-mini")
    assert default_prices("gpt-5.4-mini").input == 0.75  # not priced as its "gpt-5" prefix
    assert default_prices("qwen2.5-coder") is None


def test_cached_and_written_tokens_billed_at_their_rates():
    prices = prices_for("c", cfg("claude-haiku-4-5"))
    usage = Usage(input_tokens=1_000_000, cached_tokens=500_000, cache_write_tokens=100_000,
                  output_tokens=1_000_000)
    assert cost_usd(usage, prices) == pytest.approx(0.4 * 1 + 0.5 * 0.1 + 0.1 * 1.25 + 5)


def test_override_merges_over_the_default():
    prices = prices_for("c", cfg("claude-haiku-4-5", prices={"output": 1.0}))
    assert prices is not None and (prices.input, prices.output) == (1.0, 1.0)
    with pytest.raises(ConfigError, match="prices"):
        prices_for("c", cfg("m", prices={"input": "lots"}))


def test_an_unknown_model_has_an_unknown_cost_not_zero():
    hosted = cfg("deepseek-chat", kind="openai-compatible", base_url="https://api.deepseek.com/v1")
    assert prices_for("ds", hosted) is None
    usage = priced(Usage(input_tokens=1000, output_tokens=200), None)
    assert (usage.cost_usd, usage.unpriced_tokens) == (0.0, 1200)
    assert cost_text(usage) == "cost unknown for 1200 tokens"
    assert describe(None).startswith("cost unknown")
    # Summed with a priced turn, the unknown part stays visible.
    total = usage + priced(Usage(input_tokens=1_000_000), prices_for("c", cfg("claude-haiku-4-5")))
    assert cost_text(total) == "$1.0000 + cost unknown for 1200 tokens"
    assert cost_text(priced(Usage(output_tokens=10), prices_for("c", cfg("gpt-5-mini")))) \
        == "$0.0000"


def test_a_server_on_this_machine_and_the_scripted_provider_are_free():
    for local in (cfg("qwen", kind="openai-compatible"),
                  cfg("qwen", kind="openai-compatible", base_url="http://127.0.0.1:11434/v1"),
                  cfg("qwen", kind="openai-compatible", base_url="http://localhost:8080/v1"),
                  cfg("qwen", kind="openai-compatible", base_url="http://[::1]:8080/v1"),
                  cfg("", kind="scripted")):
        assert describe(prices_for("x", local)) == "free", local
    lan = cfg("qwen", kind="openai-compatible", base_url="http://192.168.1.20:11434/v1")
    assert prices_for("x", lan) is None  # another machine may bill: say so with `prices`
    assert prices_for("x", cfg("my-fine-tune", prices={"input": 0, "output": 0})) is not None


def budget_config(**providers: dict[str, Any]) -> Config:
    return Config.model_validate({
        "providers": providers, "limits": {"run_cost_usd": 2.0},
        "roles": {"implementer": list(providers), "planner": next(iter(providers))}})


def test_a_cost_budget_with_an_unpriced_provider_in_a_chain_is_a_problem():
    claude = {"kind": "anthropic", "model": "claude-haiku-4-5"}
    hosted = {"kind": "openai-compatible", "model": "kimi-k2", "base_url": "https://x.example/v1"}
    problem = budget_problem(budget_config(claude=claude, kimi=hosted))
    assert problem is not None and "run_cost_usd = 2" in problem
    assert "kimi (model 'kimi-k2')" in problem and "prices" in problem and "claude" not in problem
    assert budget_problem(budget_config(claude=claude)) is None
    assert budget_problem(budget_config(claude=claude, kimi=hosted | {
        "prices": {"input": 0.6, "output": 2.5}})) is None
    unbudgeted = budget_config(kimi=hosted).model_copy(update={"limits": Config().limits})
    assert budget_problem(unbudgeted) is None


async def test_a_run_with_a_budget_it_cannot_keep_fails_before_any_model_call(tmp_path):
    from tests.unit.runtime.harness import plan_script, start, workspace
    extra = ('\n[providers.hosted]\nkind = "openai-compatible"\nmodel = "kimi-k2"\n'
             'base_url = "https://llm.example.com/v1"\n\n[roles]\nclassifier = "offline"\n'
             'planner = "offline"\nimplementer = ["offline", "hosted"]\nreviewer = "offline"\n'
             '\n[limits]\nrun_cost_usd = 0.5\n')
    engine, host = await start(*workspace(tmp_path, [plan_script()], extra=extra))
    try:
        run_id = engine.create("Greet by name")
        notice = await host.state(run_id, "failed")
        assert "run_cost_usd = 0.5 cannot be kept" in notice.error
        assert "hosted (model 'kimi-k2')" in notice.error and notice.usage is None
    finally:
        await engine.close()
