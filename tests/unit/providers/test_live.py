"""Against the real APIs: opt-in with `--live` (tests/conftest.py) and the key in the
environment. Each test is a tiny tool round trip (`probe`) plus a streamed answer.

    ANTHROPIC_API_KEY=... OPENAI_API_KEY=... .venv/bin/python -m pytest --live tests/unit/providers/test_live.py
    BATON_LIVE_COMPAT_URL=http://127.0.0.1:11434/v1 BATON_LIVE_COMPAT_MODEL=qwen2.5-coder ... --live
    DEEPSEEK_API_KEY=... MISTRAL_API_KEY=... (hosted Chat Completions) ... --live
Models can be chosen with BATON_LIVE_ANTHROPIC_MODEL / BATON_LIVE_OPENAI_MODEL (and
BATON_LIVE_ANTHROPIC_THINKING_MODEL for the thinking round trip).
"""

from __future__ import annotations

import os

import pytest

from baton.providers.base import Message, StopReason, TurnRequest
from baton.providers.models import lookup
from baton.providers.registry import probe

from .helpers import live_provider, need, request

pytestmark = pytest.mark.live


CASES = {
    "anthropic": lambda: (need("ANTHROPIC_API_KEY"),
                          live_provider("anthropic", os.environ.get("BATON_LIVE_ANTHROPIC_MODEL",
                                                                    "claude-haiku-4-5"))),
    "openai": lambda: (need("OPENAI_API_KEY"),
                       live_provider("openai", os.environ.get("BATON_LIVE_OPENAI_MODEL", "gpt-5-mini"))),
    "openai-compatible": lambda: (need("BATON_LIVE_COMPAT_URL"),
                                  live_provider("openai-compatible", need("BATON_LIVE_COMPAT_MODEL"),
                                                base_url=need("BATON_LIVE_COMPAT_URL"))),
    # Hosted Chat Completions with rules of their own: DeepSeek's thinking mode answers 400
    # unless its reasoning_content comes back on the tool exchange; Mistral wants 9-character
    # call ids.
    "deepseek": lambda: (need("DEEPSEEK_API_KEY"), live_provider(
        "openai-compatible", os.environ.get("BATON_LIVE_DEEPSEEK_MODEL", "deepseek-reasoner"),
        base_url="https://api.deepseek.com/v1", api_key_env="DEEPSEEK_API_KEY")),
    "mistral": lambda: (need("MISTRAL_API_KEY"), live_provider(
        "openai-compatible", os.environ.get("BATON_LIVE_MISTRAL_MODEL", "mistral-small-latest"),
        base_url="https://api.mistral.ai/v1", api_key_env="MISTRAL_API_KEY")),
}


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_tool_round_trip(kind):
    _, provider = CASES[kind]()
    verdict = await probe(provider)
    assert verdict.startswith("ok:"), verdict


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_streamed_answer_with_usage(kind):
    key, provider = CASES[kind]()
    pieces: list[str] = []
    turn = await provider.complete(
        request(Message(role="user", text="Say the word 'hello' and nothing else."), tools=[],
                max_output_tokens=2048), pieces.append)
    assert "hello" in turn.text.lower() and "".join(pieces) == turn.text
    assert turn.stop == StopReason.END_TURN and turn.usage.input_tokens > 0
    assert key not in turn.model_dump_json()


async def test_thinking_turn_round_trip_anthropic():
    """A model thinking adaptively (interleaved with its tool call): the turn's blocks go
    back in their order and the API accepts them (it answers 400 if they were changed)."""
    need("ANTHROPIC_API_KEY")
    provider = live_provider("anthropic", os.environ.get("BATON_LIVE_ANTHROPIC_THINKING_MODEL",
                                                         "claude-sonnet-4-6"), effort="low")
    verdict = await probe(provider)
    assert verdict.startswith("ok:"), verdict


async def test_model_table_matches_the_models_api_anthropic():
    """Each table entry the key can see: window, output limit and thinking types as the
    Models API reports them (models.py is written from the documentation)."""
    import anthropic

    from baton.providers.models import ANTHROPIC

    client = anthropic.AsyncAnthropic(api_key=need("ANTHROPIC_API_KEY"))
    wrong: list[str] = []
    async for info in client.models.list(limit=100):
        entry, spec = lookup("anthropic", info.id)
        if entry is None or info.lifecycle == "retired" or entry not in ANTHROPIC:
            continue
        if info.max_input_tokens and info.max_input_tokens != spec.context_window:
            wrong.append(f"{info.id}: window {info.max_input_tokens} != {spec.context_window}")
        if info.max_tokens and info.max_tokens != spec.max_output_tokens:
            wrong.append(f"{info.id}: output {info.max_tokens} != {spec.max_output_tokens}")
        caps = info.capabilities
        if caps is not None and caps.thinking.supported:
            types = caps.thinking.types
            for name, ours in (("adaptive", spec.adaptive), ("enabled", spec.budget)):
                if getattr(types, name).supported != ours:
                    wrong.append(f"{info.id}: thinking {name} {not ours} in the API")
    assert wrong == []


async def test_foreign_call_ids_are_accepted_mistral():
    """A history from another provider (Anthropic-style ids) continued on Mistral."""
    from baton.providers.base import ToolCall, ToolResult
    need("MISTRAL_API_KEY")
    _, provider = CASES["mistral"]()
    history = [Message(role="user", text="Read a.py, then say 'done'."),
               Message(role="assistant", tool_calls=[
                   ToolCall(id="toolu_01A09q90qw90lq917835lq9", name="read_file",
                            arguments={"path": "a.py"})]),
               Message(role="tool", tool_results=[ToolResult(
                   call_id="toolu_01A09q90qw90lq917835lq9", name="read_file", content="x = 1")])]
    turn = await provider.complete(request(*history, max_output_tokens=256))
    assert turn.stop in (StopReason.END_TURN, StopReason.TOOL_USE)


@pytest.mark.parametrize("first,second", [("anthropic", "openai"), ("openai", "anthropic"),
                                          ("anthropic", "deepseek"), ("openai", "mistral")])
async def test_a_conversation_fails_over_to_another_vendor_mid_tool_loop(first, second):
    """One vendor calls a tool; the next (as after a failover) gets the history converted by
    the failover chain (pairing.for_provider) and must accept it: ids, foreign reasoning,
    the open exchange for a provider that replays its own reasoning."""
    from baton.providers.base import ToolResult
    from baton.providers.registry import PROBE_SYSTEM, PROBE_TOOL, FailoverProvider
    _, a = CASES[first]()
    _, b = CASES[second]()
    history = [Message(role="user", text="Call echo with the text 'ping'.")]

    def ask() -> TurnRequest:
        return request(*history, tools=[PROBE_TOOL], system=PROBE_SYSTEM, max_output_tokens=2048)

    turn = await a.complete(ask())
    assert turn.tool_calls, turn.text
    history += [turn.as_message(), Message(role="tool", tool_results=[
        ToolResult(call_id=c.id, name=c.name, content="pong") for c in turn.tool_calls])]
    answer = await FailoverProvider("implementer", [b]).complete(ask())
    assert answer.provider == b.name and "pong" in answer.text.lower()


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_refused_key_is_the_cause_the_person_is_told(kind, monkeypatch):
    """The real API's answer to a key it does not know is read as the Fallback's cause
    (registry.cause): "the key in $VAR was refused (401)", never the key."""
    from baton.config import Config, ProviderConfig
    from baton.errors import ProviderError
    from baton.providers.registry import build_provider, cause
    CASES[kind]()  # run only where this vendor's live tests run
    monkeypatch.setenv("BATON_LIVE_BOGUS_KEY", "sk-bogus-not-a-key-000000000000")
    model = {"anthropic": "claude-haiku-4-5", "openai": "gpt-5-mini"}[kind]
    cfg = ProviderConfig.model_validate({"kind": kind, "model": model, "max_retries": 0,
                                         "api_key_env": "BATON_LIVE_BOGUS_KEY"})
    with pytest.raises(ProviderError) as e:
        await build_provider(f"live-{kind}", cfg, Config()).complete(request(max_output_tokens=16))
    assert cause(e.value, cfg) == "the key in $BATON_LIVE_BOGUS_KEY was refused (401)"
