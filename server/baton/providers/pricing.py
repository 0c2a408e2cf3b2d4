"""Cost of a turn from its token counts: a default price table, overridable per provider.

Prices are USD per million tokens. Usage follows one convention across adapters:
`input_tokens` counts every prompt token, `cached_tokens` (read from the prompt cache)
and `cache_write_tokens` (written to it) are parts of it, each billed at its own rate.

Override in config, per provider:
    [providers.claude]
    prices = { input = 3.0, output = 15.0, cached = 0.3, cache_write = 3.75 }
Missing keys fall back to the default entry for the model. A model with neither a default
entry nor `prices` has an unknown cost: its tokens are counted as `unpriced_tokens`, shown
as "cost unknown" (never $0), and a run with a cost budget (`[limits] run_cost_usd`) does
not start with such a provider in a role's chain, since the budget could not be kept
(`budget_problem`). A server on this machine (an openai-compatible provider on loopback)
costs nothing; `prices = { input = 0, output = 0 }` says the same of any other.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from ..config import ROLES, Config, ProviderConfig
from ..errors import ConfigError
from .base import Usage


class Prices(BaseModel):
    input: float = 0.0
    output: float = 0.0
    cached: float | None = None  # None: same as input
    cache_write: float | None = None  # None: same as input


def _anthropic(inp: float, out: float, read: float) -> Prices:
    return Prices(input=inp, output=out, cached=read, cache_write=inp * 1.25)  # 5-minute writes


# Exact model ids (a dated snapshot such as claude-sonnet-4-5-20250929 or
# gpt-5-mini-2025-08-07 matches its alias). List prices from the providers' pricing pages
# as of late 2026; a model not listed has an unknown cost until `prices` is set for it.
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


def _on_this_machine(cfg: ProviderConfig) -> bool:
    if cfg.kind != "openai-compatible":
        return False
    if not cfg.base_url:
        return True  # the adapter's default is Ollama on 127.0.0.1
    host = urlsplit(cfg.base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prices_for(name: str, cfg: ProviderConfig) -> Prices | None:
    """The prices a provider's turns are billed at; None when unknown."""
    if cfg.kind == "scripted" or _on_this_machine(cfg):
        base: Prices | None = Prices()
    else:
        base = default_prices(cfg.model)
    override = (cfg.model_extra or {}).get("prices")
    if override is None:
        return base
    try:
        merged = {**(base.model_dump() if base else {}), **dict(override)}
        return Prices.model_validate(merged)
    except (ValidationError, TypeError, ValueError) as e:
        raise ConfigError(f"provider {name!r}: bad `prices` table: {e}") from e


def priced(usage: Usage, prices: Prices | None) -> Usage:
    """`usage` with its cost, or with its tokens counted as unpriced."""
    if prices is None:
        return usage.model_copy(update={
            "cost_usd": 0.0, "unpriced_tokens": usage.input_tokens + usage.output_tokens})
    return usage.model_copy(update={"cost_usd": cost_usd(usage, prices)})


def cost_text(usage: Usage, digits: int = 4) -> str:
    """The cost as people read it: "$0.0123", "cost unknown", or both when a run used
    priced and unpriced models."""
    known = f"${usage.cost_usd:.{digits}f}"
    if not usage.unpriced_tokens:
        return known
    unknown = f"cost unknown for {usage.unpriced_tokens} tokens"
    return f"{known} + {unknown}" if usage.cost_usd else unknown


def describe(prices: Prices | None) -> str:
    """One line for `baton doctor`."""
    if prices is None:
        return "cost unknown (no price for this model; set `prices`)"
    if not (prices.input or prices.output):
        return "free"
    return f"${prices.input:g} in / ${prices.output:g} out per million tokens"


def budget_problem(config: Config) -> str | None:
    """Why `[limits] run_cost_usd` cannot be kept with this configuration, or None.

    Checked before a run's first model call (registry.py) and by `baton doctor`: a
    provider with an unknown price would count as $0 and silently disable the budget,
    and failing half-way would waste what was already spent."""
    budget = config.limits.run_cost_usd
    if not budget or not config.providers:
        return None
    used = sorted({name for role in ROLES for name in config.chain(role)})
    unknown = [f"{name} (model {config.providers[name].model!r})" for name in used
               if prices_for(name, config.providers[name]) is None]
    if not unknown:
        return None
    return (f"[limits] run_cost_usd = {budget:g} cannot be kept: no price is known for "
            f"{', '.join(unknown)}. Set `prices = {{ input = …, output = … }}` (USD per "
            "million tokens; 0 for a free model) in its [providers.NAME] table, or remove "
            "the budget.")


def cost_usd(usage: Usage, prices: Prices) -> float:
    cached = usage.cached_tokens
    written = usage.cache_write_tokens
    plain = max(0, usage.input_tokens - cached - written)
    cached_rate = prices.input if prices.cached is None else prices.cached
    write_rate = prices.input if prices.cache_write is None else prices.cache_write
    total = (plain * prices.input + cached * cached_rate + written * write_rate
             + usage.output_tokens * prices.output)
    return round(total / 1_000_000, 8)
