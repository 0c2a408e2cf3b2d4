"""Cost from usage: defaults by model id, overrides from config."""

from __future__ import annotations

import pytest

from baton.errors import ConfigError
from baton.providers.base import Usage
from baton.providers.pricing import cost_usd, default_prices, resolve_prices


def test_snapshots_match_their_alias_and_unknown_models_cost_nothing():
    assert default_prices("claude-sonnet-4-5-20250929") == default_prices("claude-sonnet-4-5")
    assert default_prices("gpt-5-mini-2025-08-07") == default_prices("gpt-5-mini")
    assert default_prices("gpt-5.4-mini").input == 0.75  # not priced as its "gpt-5" prefix
    assert default_prices("qwen2.5-coder") is None
    assert resolve_prices("local", "qwen2.5-coder", None).input == 0


def test_cached_and_written_tokens_billed_at_their_rates():
    prices = resolve_prices("c", "claude-haiku-4-5", None)
    usage = Usage(input_tokens=1_000_000, cached_tokens=500_000, cache_write_tokens=100_000,
                  output_tokens=1_000_000)
    assert cost_usd(usage, prices) == pytest.approx(0.4 * 1 + 0.5 * 0.1 + 0.1 * 1.25 + 5)


def test_override_merges_over_the_default():
    prices = resolve_prices("c", "claude-haiku-4-5", {"output": 1.0})
    assert (prices.input, prices.output) == (1.0, 1.0)
    with pytest.raises(ConfigError, match="prices"):
        resolve_prices("c", "m", {"input": "lots"})
