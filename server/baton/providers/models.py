"""Per-model defaults of the hosted APIs: context window, output limit, how the model thinks
and which request fields it refuses.

A model id matches the longest table entry it starts with, at a boundary (a dated snapshot
such as claude-haiku-4-5-20251001 matches claude-haiku-4-5, gpt-5.2 matches gpt-5; a
platform prefix such as `us.anthropic.` is ignored). The provider's configuration
overrides the table: `context_window`, `max_output_tokens`, and the extras `thinking`
(`"adaptive"`, `"off"` or a budget in tokens) and `effort` (older spellings
`thinking_budget`, `reasoning_effort`). `in_force()` is what the adapters send and what
`baton doctor` shows, with where each value came from.

Thinking counts inside the output limit, and the newest models think by default: a
fixed 8192-token limit cut their answers and tool calls short, so the limit is the
model's own. Sources: Anthropic's models overview and thinking troubleshooting pages,
OpenAI's model pages (late 2026). An unknown model gets conservative fallbacks and the
configured values as they are (the API decides).

Preserved thinking (Fable 5.1 and later, Opus/Sonnet/Haiku 5.5): the API checks that nothing
before a replayed thinking block (system, tools, earlier messages) changed since the model
wrote it, and refuses the request with a 400 when something did. Compaction changes exactly
that, so these models are asked to drop such blocks instead (`block_binding`, Anthropic's
"prefix checks on thinking blocks" page): the run goes on without that reasoning.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..config import ProviderConfig
from ..errors import ConfigError

M = 1_000_000


class ModelSpec(BaseModel, frozen=True):
    context_window: int
    max_output_tokens: int  # the most one response may hold, thinking included
    adaptive: bool = False  # takes thinking {"type": "adaptive"}
    budget: bool = False  # takes thinking {"type": "enabled", "budget_tokens": N}
    thinks_by_default: bool = False  # thinks when the request says nothing
    off: str | None = "disabled"  # the thinking type that turns it off; None: it cannot be
    effort: bool = False  # takes an effort (Anthropic output_config, OpenAI reasoning)
    temperature: bool = True  # takes a temperature when it is not thinking
    reasoning: bool = False  # OpenAI: reasoning items (encrypted) to replay
    prefix_check: bool = False  # Anthropic preserved thinking: a changed prefix is a 400


def _spec(window: int, output: int, **flags: Any) -> ModelSpec:
    return ModelSpec(context_window=window, max_output_tokens=output, **flags)


_ALWAYS: dict[str, Any] = {"adaptive": True, "thinks_by_default": True, "off": None,
                           "effort": True, "temperature": False}
_ON: dict[str, Any] = {"adaptive": True, "thinks_by_default": True, "effort": True,
                       "temperature": False}
_ADAPTIVE_ONLY: dict[str, Any] = {"adaptive": True, "effort": True, "temperature": False}
_BOTH: dict[str, Any] = {"adaptive": True, "budget": True, "effort": True}
_CHECKED: dict[str, Any] = _ALWAYS | {"prefix_check": True}
_REASONING: dict[str, Any] = {"reasoning": True, "thinks_by_default": True, "effort": True,
                              "temperature": False}

ANTHROPIC: dict[str, ModelSpec] = {
    "claude-fable-5-2": _spec(M, 128_000, **_CHECKED),
    "claude-fable-5-1": _spec(M, 128_000, **_CHECKED),
    "claude-fable-5": _spec(M, 128_000, **_ALWAYS),
    "claude-mythos-5-2": _spec(M, 128_000, **_CHECKED),
    "claude-mythos-5-1": _spec(M, 128_000, **_CHECKED),
    "claude-mythos-5": _spec(M, 128_000, **_ALWAYS),
    "claude-mythos-preview": _spec(M, 128_000, budget=True, **_ALWAYS),
    "claude-opus-5-5": _spec(M, 128_000, **_CHECKED),
    "claude-opus-5": _spec(M, 128_000, **_ON),
    # Sonnet 5.5 turns thinking off with between_tools (progress notes only); disabled is a 400.
    "claude-sonnet-5-5": _spec(M, 128_000, **(_ON | {"off": "between_tools",
                                                     "prefix_check": True})),
    "claude-sonnet-5": _spec(M, 128_000, **_ON),
    "claude-haiku-5-5": _spec(M, 128_000, **(_ON | {"prefix_check": True})),
    "claude-opus-4-8": _spec(M, 128_000, **_ADAPTIVE_ONLY),
    "claude-opus-4-7": _spec(M, 128_000, **_ADAPTIVE_ONLY),
    "claude-opus-4-6": _spec(M, 128_000, **_BOTH),
    "claude-sonnet-4-6": _spec(M, 64_000, **_BOTH),
    "claude-opus-4-5": _spec(200_000, 64_000, budget=True, effort=True),
    "claude-sonnet-4-5": _spec(200_000, 64_000, budget=True),
    "claude-haiku-4-5": _spec(200_000, 64_000, budget=True),
    "claude-opus-4-1": _spec(200_000, 32_000, budget=True),
    "claude-opus-4": _spec(200_000, 32_000, budget=True),
    "claude-sonnet-4": _spec(200_000, 64_000, budget=True),
    "claude-3-7-sonnet": _spec(200_000, 64_000, budget=True),
    "claude-3-5-haiku": _spec(200_000, 8_192),
}
# A model newer than the table: its configured thinking and effort go as they are.
ANTHROPIC_FALLBACK = _spec(200_000, 32_000, adaptive=True, budget=True, effort=True)

_CHAT = _spec(128_000, 16_384)  # gpt-5*-chat: no reasoning
OPENAI: dict[str, ModelSpec] = {
    "gpt-5.5": _spec(1_050_000, 128_000, **_REASONING),
    "gpt-5.4": _spec(1_050_000, 128_000, **_REASONING),
    "gpt-5.4-mini": _spec(400_000, 128_000, **_REASONING),
    "gpt-5.4-nano": _spec(400_000, 128_000, **_REASONING),
    "gpt-5": _spec(400_000, 128_000, **_REASONING),
    "gpt-5-chat": _CHAT, "gpt-5.1-chat": _CHAT, "gpt-5.2-chat": _CHAT, "gpt-5.3-chat": _CHAT,
    "o1": _spec(200_000, 100_000, **_REASONING),
    "o3": _spec(200_000, 100_000, **_REASONING),
    "o4-mini": _spec(200_000, 100_000, **_REASONING),
    "gpt-4.1": _spec(1_047_576, 32_768),
    "gpt-4o": _spec(128_000, 16_384),
}
# 16k output is what every current OpenAI model accepts; `reasoning = true` if it reasons.
OPENAI_FALLBACK = _spec(128_000, 16_384)

TABLES = {"anthropic": (ANTHROPIC, ANTHROPIC_FALLBACK), "openai": (OPENAI, OPENAI_FALLBACK)}
ANTHROPIC_EFFORT = ("low", "medium", "high", "xhigh", "max")
OPENAI_EFFORT = ("none", "minimal", "low", "medium", "high", "xhigh")
_BOUNDARY = ("-", ".", "@", ":")
# Thinking whose prefix changed is dropped from the request, not a 400 (thinking types that
# take it: adaptive and enabled).
DROP_CHANGED = {"prefix_mismatch_behavior": "drop_block"}


def lookup(kind: str, model: str) -> tuple[str | None, ModelSpec]:
    """(the matching table entry or None, its spec or the vendor's fallback)."""
    table, fallback = TABLES[kind]
    if kind == "anthropic" and "claude-" in model:
        model = model[model.index("claude-"):]  # us.anthropic.claude-…, anthropic/claude-…
    elif "/" in model:
        model = model.rsplit("/", 1)[1]  # openai/gpt-5 through a router
    best: str | None = None
    for key in table:
        at_boundary = model == key or (model.startswith(key) and model[len(key)] in _BOUNDARY)
        if at_boundary and (best is None or len(key) > len(best)):
            best = key
    return best, table[best] if best else fallback


class InForce(BaseModel):
    """What one provider sends, and why (`sources`: value → "table <entry>", "config" or
    "fallback"; `notes`: configured values this model cannot take, and what happens)."""
    model: str
    entry: str | None  # the table entry that matched
    context_window: int
    max_output_tokens: int
    thinking: dict[str, Any] | None = None  # Anthropic's `thinking` field; None: not sent
    thinks: bool = False  # its turns may carry reasoning to replay (thinking blocks, items)
    effort: str | None = None
    temperature: float | None = None
    reasoning: bool = False  # OpenAI reasoning model
    sources: dict[str, str]
    notes: list[str] = []

    def summary(self) -> str:
        """One line for `baton doctor`."""
        if self.thinking is not None:
            mode = self.thinking["type"]
            if mode == "enabled":
                mode = f"budget {self.thinking['budget_tokens']:,} tokens"
            if "block_binding" in self.thinking:
                mode += ", stale blocks dropped"
        elif self.reasoning:
            mode = "reasoning"
        else:  # nothing sent: the model's own default
            mode = "on (the model's default)" if self.thinks else "off"
        parts = [f"context {self.context_window:,} ({self.sources['context_window']})",
                 f"output {self.max_output_tokens:,} ({self.sources['max_output_tokens']})",
                 f"thinking {mode} ({self.sources['thinking']})"]
        if self.effort:
            parts.append(f"effort {self.effort} ({self.sources['effort']})")
        if self.temperature is not None:
            parts.append(f"temperature {self.temperature:g}")
        return ", ".join(parts)


def in_force(name: str, cfg: ProviderConfig) -> InForce:
    """The values one `anthropic` or `openai` provider works with. Raises ConfigError for a
    value no model takes (an unknown effort, thinking = "sometimes")."""
    try:
        return _in_force(cfg)
    except ConfigError as e:
        raise ConfigError(f"provider {name!r}: {e}") from None


def _in_force(cfg: ProviderConfig) -> InForce:
    entry, spec = lookup(cfg.kind, cfg.model)
    where = f"table {entry}" if entry else "fallback"
    extra = cfg.model_extra or {}
    out = InForce(model=cfg.model, entry=entry,
                  context_window=cfg.context_window or spec.context_window,
                  max_output_tokens=cfg.max_output_tokens or spec.max_output_tokens,
                  sources={"context_window": "config" if cfg.context_window else where,
                           "max_output_tokens": "config" if cfg.max_output_tokens else where,
                           "thinking": where, "effort": where})
    if cfg.kind == "anthropic":
        _anthropic_thinking(out, spec, entry, extra)
    else:
        _openai_reasoning(out, spec, extra)
    temperature = extra.get("temperature")
    if temperature is not None:
        if out.thinks:
            out.notes.append("temperature is not sent: a thinking model takes none")
        elif not spec.temperature:
            out.notes.append(f"temperature is not sent: {cfg.model} refuses it")
        else:
            out.temperature = _number(temperature, "temperature")
    return out


def _anthropic_thinking(out: InForce, spec: ModelSpec, entry: str | None,
                        extra: dict[str, Any]) -> None:
    wanted = extra.get("thinking", extra.get("thinking_budget"))
    model = out.model
    if wanted is None:
        # Adaptive thinking is the documented recommendation where a model takes it; an
        # unknown model is sent nothing it might refuse.
        if spec.adaptive and entry is not None:
            out.thinking = {"type": "adaptive"}
        out.thinks = spec.thinks_by_default or out.thinking is not None
    else:
        out.sources["thinking"] = "config"
        if wanted is False or wanted in ("off", 0):
            if spec.off is None:
                out.notes.append(f"thinking = \"off\" cannot apply: {model} always thinks "
                                 "(a lower effort makes it think less)")
                out.thinks = True
            elif spec.thinks_by_default:
                out.thinking = {"type": spec.off}
                out.thinks = spec.off != "disabled"  # between_tools still writes notes
        elif wanted == "adaptive" or wanted is True:
            if spec.adaptive:
                out.thinking = {"type": "adaptive"}
            else:
                out.notes.append(f"thinking = \"adaptive\" cannot apply: {model} takes a "
                                 "budget (thinking = <tokens>)")
            out.thinks = spec.thinks_by_default or out.thinking is not None
        elif isinstance(wanted, int) and not isinstance(wanted, bool) and wanted >= 1024:
            if spec.budget:
                out.thinking = {"type": "enabled", "budget_tokens": wanted}
                # The budget must leave room for the answer inside max_tokens.
                out.max_output_tokens = max(out.max_output_tokens, wanted + 4096)
            elif spec.adaptive:
                out.thinking = {"type": "adaptive"}
                out.notes.append(f"a thinking budget cannot apply: {model} thinks adaptively "
                                 "(effort steers how much)")
            else:
                out.notes.append(f"thinking cannot apply: {model} does not think")
            out.thinks = spec.thinks_by_default or out.thinking is not None
        else:
            raise ConfigError(f"thinking = {wanted!r}: use \"adaptive\", \"off\" or a budget "
                              "of at least 1024 tokens")
    if spec.prefix_check and out.thinks:
        # Compaction rewrites older turns (and failover converts them): ask for the stale
        # blocks to be dropped. Adaptive is what these models do unasked, so sending it
        # where nothing was sent changes nothing else.
        thinking = out.thinking or {"type": "adaptive"}
        if thinking["type"] in ("adaptive", "enabled"):
            out.thinking = thinking | {"block_binding": dict(DROP_CHANGED)}
    _effort(out, extra, ANTHROPIC_EFFORT, spec.effort, "takes none")


def _openai_reasoning(out: InForce, spec: ModelSpec, extra: dict[str, Any]) -> None:
    out.reasoning = spec.reasoning
    if "reasoning" in extra:
        out.reasoning = bool(extra["reasoning"])
        out.sources["thinking"] = "config"
    out.thinks = out.reasoning
    _effort(out, extra, OPENAI_EFFORT, out.reasoning, "does not reason")


def _effort(out: InForce, extra: dict[str, Any], allowed: tuple[str, ...], taken: bool,
            why_not: str) -> None:
    value = extra.get("effort", extra.get("reasoning_effort"))
    if value is None:
        return
    if value not in allowed:
        raise ConfigError(f"effort = {value!r}: one of {', '.join(allowed)}")
    out.sources["effort"] = "config"
    if taken:
        out.effort = str(value)
    else:
        out.notes.append(f"effort is not sent: {out.model} {why_not}")


def _number(value: Any, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} = {value!r}: a number") from None



def describe(name: str, cfg: ProviderConfig) -> dict[str, Any]:
    """`baton doctor`'s entry: the values in force, where each came from, and the notes;
    or the configuration error that stops this provider."""
    try:
        got = in_force(name, cfg)
    except ConfigError as e:
        return {"error": str(e)}
    return {"summary": got.summary(), "notes": got.notes,
            **got.model_dump(include={"context_window", "max_output_tokens", "thinking",
                                      "effort", "temperature", "sources"})}
