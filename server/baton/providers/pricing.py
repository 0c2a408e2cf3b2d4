"""Cost of a turn from its token counts: a default price table, overridable per provider.

Prices are USD per million tokens. Usage follows one convention across adapters:
`input_tokens` counts every prompt token, `cached_tokens` (read from the prompt cache)
and `cache_write_tokens` (written to it) are parts of it, each billed at its own rate.

Override in config, per provider:
    [providers.claude]
    prices = { input = 3.0, output = 15.0, cached = 0.3, cache_write = 3.75 }
Missing keys fall back to the default entry for the model; an unknown model with no
`prices` costs 0 (local servers) and says so once in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from .base import Usage

log = logging.getLogger(__name__)


class Prices(BaseModel):
    input: float = 0.0
    output: float = 0.0
    cached: float | None = None  # None: same as input
    cache_write: float | None = None  # None: same as input


# Longest matching prefix wins. Published list prices at the time of writing.
DEFAULT_PRICES: dict[str, Prices] = {
    "claude-opus-4-5": Prices(input=5, output=25, cached=0.5, cache_write=6.25),
    "claude-opus-4": Prices(input=15, output=75, cached=1.5, cache_write=18.75),
    "claude-sonnet-4": Prices(input=3, output=15, cached=0.3, cache_write=3.75),
    "claude-3-7-sonnet": Prices(input=3, output=15, cached=0.3, cache_write=3.75),
    "claude-haiku-4-5": Prices(input=1, output=5, cached=0.1, cache_write=1.25),
    "claude-3-5-haiku": Prices(input=0.8, output=4, cached=0.08, cache_write=1.0),
    "gpt-5": Prices(input=1.25, output=10, cached=0.125),
    "gpt-5-mini": Prices(input=0.25, output=2, cached=0.025),
    "gpt-5-nano": Prices(input=0.05, output=0.4, cached=0.005),
    "gpt-4.1": Prices(input=2, output=8, cached=0.5),
    "gpt-4.1-mini": Prices(input=0.4, output=1.6, cached=0.1),
    "gpt-4.1-nano": Prices(input=0.1, output=0.4, cached=0.025),
    "gpt-4o": Prices(input=2.5, output=10, cached=1.25),
    "gpt-4o-mini": Prices(input=0.15, output=0.6, cached=0.075),
    "o3": Prices(input=2, output=8, cached=0.5),
    "o4-mini": Prices(input=1.1, output=4.4, cached=0.275),
}


def default_prices(model: str) -> Prices | None:
    best = max((p for p in DEFAULT_PRICES if model.startswith(p)), key=len, default=None)
    return DEFAULT_PRICES[best] if best else None


def resolve_prices(provider: str, model: str, override: Mapping[str, Any] | None) -> Prices:
    base = default_prices(model)
    if override is None:
        if base is None:
            log.info("provider %s: no price known for model %r; its cost counts as 0 "
                     "(set `prices` in its config table to count it)", provider, model)
            return Prices()
        return base
    try:
        merged = {**(base.model_dump() if base else {}), **dict(override)}
        return Prices.model_validate(merged)
    except (ValidationError, TypeError) as e:
        raise ConfigError(f"provider {provider!r}: bad `prices` table: {e}") from e


def cost_usd(usage: Usage, prices: Prices) -> float:
    cached = usage.cached_tokens
    written = usage.cache_write_tokens
    plain = max(0, usage.input_tokens - cached - written)
    cached_rate = prices.input if prices.cached is None else prices.cached
    write_rate = prices.input if prices.cache_write is None else prices.cache_write
    total = (plain * prices.input + cached * cached_rate + written * write_rate
             + usage.output_tokens * prices.output)
    return round(total / 1_000_000, 8)
