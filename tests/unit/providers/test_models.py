"""The per-model table: matching, what configuration overrides, what a model cannot take."""

from __future__ import annotations

from typing import Any

import pytest

from baton.config import ProviderConfig
from baton.errors import ConfigError
from baton.providers.models import in_force, lookup


def force(kind: str, model: str, **extra: Any):
    return in_force("p", ProviderConfig.model_validate({"kind": kind, "model": model, **extra}))


@pytest.mark.parametrize("kind,model,entry", [
    ("anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4-5"),  # dated snapshot
    ("anthropic", "us.anthropic.claude-opus-4-7", "claude-opus-4-7"),  # platform prefix
    ("anthropic", "claude-opus-4-20250514", "claude-opus-4"),
    ("anthropic", "claude-opus-4-1", "claude-opus-4-1"),  # longest entry wins
    ("anthropic", "claude-sonnet-5-5", "claude-sonnet-5-5"),
    ("anthropic", "claude-fable-5-1", "claude-fable-5-1"),  # preserved thinking, unlike 5
    ("anthropic", "claude-fable-5", "claude-fable-5"),
    ("anthropic", "claude-sonnet-50", None),  # a prefix only at a boundary
    ("openai", "gpt-5.2-codex", "gpt-5"),
    ("openai", "gpt-5-mini-2025-08-07", "gpt-5"),
    ("openai", "gpt-5.4-mini", "gpt-5.4-mini"),
    ("openai", "gpt-5.3-chat-latest", "gpt-5.3-chat"),
    ("openai", "gpt-4.1-mini", "gpt-4.1"),
    ("openai", "llama-3", None),
])
def test_model_ids_match_their_entry(kind, model, entry):
    assert lookup(kind, model)[0] == entry


def test_thinking_models_get_their_own_output_limit_not_8192():
    for model, window, output in [("claude-opus-5-5", 1_000_000, 128_000),
                                  ("claude-sonnet-4-6", 1_000_000, 64_000),
                                  ("claude-haiku-4-5", 200_000, 64_000)]:
        got = force("anthropic", model)
        assert (got.context_window, got.max_output_tokens) == (window, output)
        assert got.sources["max_output_tokens"] == f"table {model}"
    assert force("openai", "gpt-5-mini").max_output_tokens == 128_000


def test_configuration_overrides_the_table_and_says_so():
    got = force("anthropic", "claude-sonnet-4-6", context_window=150_000, max_output_tokens=20_000,
                thinking="off", effort="low")
    assert (got.context_window, got.max_output_tokens) == (150_000, 20_000)
    assert got.sources == {"context_window": "config", "max_output_tokens": "config",
                           "thinking": "config", "effort": "config"}
    assert got.thinking is None and not got.thinks and got.effort == "low"  # off by default there
    assert "context 150,000 (config)" in got.summary()


def test_unknown_model_falls_back_and_sends_only_what_is_configured():
    plain = force("anthropic", "claude-next-9")
    assert plain.entry is None and plain.sources["context_window"] == "fallback"
    assert plain.thinking is None and not plain.thinks
    budget = force("anthropic", "claude-next-9", thinking=4096)
    assert budget.thinking == {"type": "enabled", "budget_tokens": 4096}


BOUND = {"type": "adaptive", "block_binding": {"prefix_mismatch_behavior": "drop_block"}}


@pytest.mark.parametrize("model,extra,thinking,thinks,note", [
    ("claude-sonnet-4-6", {}, {"type": "adaptive"}, True, None),  # recommended where taken
    ("claude-haiku-4-5", {}, None, False, None),  # budget-only: off unless configured
    ("claude-haiku-4-5", {"thinking_budget": 2048}, {"type": "enabled", "budget_tokens": 2048},
     True, None),
    ("claude-opus-4-8", {"thinking": 4096}, {"type": "adaptive"}, True, "budget cannot apply"),
    ("claude-haiku-4-5", {"thinking": "adaptive"}, None, False, "takes a budget"),
    ("claude-opus-5", {"thinking": "off"}, {"type": "disabled"}, False, None),
    ("claude-opus-5", {"thinking": False}, {"type": "disabled"}, False, None),
    ("claude-opus-4-6", {"thinking": True}, {"type": "adaptive"}, True, None),
    ("claude-sonnet-5-5", {"thinking": "off"}, {"type": "between_tools"}, True, None),
    ("claude-fable-5", {"thinking": "off"}, None, True, "always thinks"),
    # Preserved thinking: stale blocks are dropped, never a 400 (adaptive carries the ask).
    ("claude-opus-5-5", {}, BOUND, True, None),
    ("claude-mythos-5-2", {}, BOUND, True, None),
    ("claude-opus-5-5", {"thinking": "off"}, BOUND, True, "always thinks"),
    ("claude-haiku-5-5", {"thinking": "off"}, {"type": "disabled"}, False, None),
    ("claude-3-5-haiku", {"thinking": 2048}, None, False, "does not think"),
])
def test_thinking_mode_per_model(model, extra, thinking, thinks, note):
    got = force("anthropic", model, **extra)
    assert got.thinking == thinking and got.thinks == thinks
    assert (note is None and not got.notes) or any(note in n for n in got.notes)


def test_doctor_says_when_stale_thinking_is_dropped():
    assert "thinking adaptive, stale blocks dropped (table claude-fable-5-1)" in \
        force("anthropic", "claude-fable-5-1").summary()
    assert "dropped" not in force("anthropic", "claude-fable-5").summary()


def test_temperature_only_where_the_model_takes_it():
    assert force("anthropic", "claude-haiku-4-5", temperature=0.2).temperature == 0.2
    for model in ("claude-opus-4-7", "claude-sonnet-4-6", "gpt-5"):  # refused / thinking
        got = force("anthropic" if model.startswith("claude") else "openai", model,
                    temperature=0.2)
        assert got.temperature is None and "temperature is not sent" in got.notes[0]
    assert force("openai", "gpt-4.1", temperature=0).temperature == 0


def test_effort_and_reasoning_for_openai():
    got = force("openai", "gpt-5.5", reasoning_effort="high")
    assert got.reasoning and got.effort == "high" and got.context_window == 1_050_000
    assert force("openai", "gpt-4o", effort="low").effort is None
    assert force("openai", "some-new-model", reasoning=True).reasoning


@pytest.mark.parametrize("extra,what", [({"effort": "extreme"}, "effort = 'extreme'"),
                                        ({"thinking": "sometimes"}, "thinking = 'sometimes'"),
                                        ({"thinking": 100}, "thinking = 100")])
def test_values_no_model_takes_are_configuration_errors(extra, what):
    with pytest.raises(ConfigError, match=f"provider 'p': {what}"):
        force("anthropic", "claude-sonnet-4-6", **extra)
