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
import re
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


def _anthropic(inp: float, out: float, read: float) -> Prices:
    return Prices(input=inp, output=out, cached=read, cache_write=inp * 1.25)  # 5-minute writes


# Exact model ids (a dated snapshot such as claude-sonnet-4-5-20250929 or
# gpt-5-mini-2025-08-07 matches its alias). List prices from the providers' pricing pages
# as of late 2026; a model not listed costs 0 until `prices` is set for it.
DEFAULT_PRICES: dict[str, Prices] = {
    "claude-opus-5-5": _anthropic(4, 20, 0.2),
    "claude-opus-5": _anthropic(5, 25, 0.5),
    "claude-opus-4-8": _anthropic(5, 25, 0.5),
    "claude-opus-4-7": _anthropic(5, 25, 0.5),
    "claude-opus-4-6": _anthropic(5, 25, 0.5),
    "claude-opus-4-5": _anthropic(5, 25, 0.5),
    "claude-opus-4-1": _anthropic(15, 75, 1.5),
    "claude-opus-4-0": _anthropic(15, 75, 1.5),
    "claude-opus-4": _anthropic(15, 75, 1.5),
    "claude-sonnet-5-5": _anthropic(2, 10, 0.1),
    "claude-sonnet-5": _anthropic(2, 10, 0.2),
    "claude-sonnet-4-6": _anthropic(3, 15, 0.3),
    "claude-sonnet-4-5": _anthropic(3, 15, 0.3),
    "claude-sonnet-4-0": _anthropic(3, 15, 0.3),
    "claude-sonnet-4": _anthropic(3, 15, 0.3),
    "claude-3-7-sonnet": _anthropic(3, 15, 0.3),
    "claude-haiku-5-5": _anthropic(0.1, 0.5, 0.01),  # prompts up to 100k tokens
    "claude-haiku-4-5": _anthropic(1, 5, 0.1),
    "claude-3-5-haiku": _anthropic(0.8, 4, 0.08),
    "gpt-5.4": Prices(input=2.5, output=15, cached=0.25),
    "gpt-5.4-mini": Prices(input=0.75, output=4.5, cached=0.075),
    "gpt-5.1": Prices(input=1.25, output=10, cached=0.125),
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
_SNAPSHOT = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


def default_prices(model: str) -> Prices | None:
    return DEFAULT_PRICES.get(model) or DEFAULT_PRICES.get(_SNAPSHOT.sub("", model))


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
