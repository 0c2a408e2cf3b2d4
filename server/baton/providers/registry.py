"""Provider kind → adapter (imported lazily), each role's failover chain, and the probe
behind `baton doctor --probe`.

Retries live in the adapters (retry.py: backoff, retry-after, bounded); failover here
moves to the next provider of the role only after an adapter has given up.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ..config import Config, ProviderConfig
from ..errors import ConfigError, ProviderError, ProviderUnavailable
from .base import (Capabilities, Message, OnDelta, Provider, StopReason, ToolResult, ToolSpec,
                   Turn, TurnRequest)

log = logging.getLogger(__name__)


def build_provider(name: str, cfg: ProviderConfig, config: Config) -> Provider:
    # SDK imports happen here, when a provider of that kind is first used.
    if cfg.kind == "scripted":
        from .scripted import ScriptedProvider
        return ScriptedProvider(name, config.script_path(cfg), cfg.model,
                                context_window=cfg.context_window)
    if cfg.kind == "anthropic":
        from .anthropic import AnthropicProvider
        return AnthropicProvider(name, cfg)
    if cfg.kind == "openai":
        from .openai import OpenAIProvider
        return OpenAIProvider(name, cfg)
    if cfg.kind == "openai-compatible":
        from .openai_compat import OpenAICompatProvider
        return OpenAICompatProvider(name, cfg)
    raise ConfigError(f"provider {name!r}: unknown kind {cfg.kind!r}")


class FailoverProvider:
    """Tries a role's providers in order; each adapter has already retried what it can.

    One instance serves one agent's work (the workflow asks the registry per agent). Once
    a provider has given up and a later one answered, the later one goes first for the
    following turns: asking the failed one again would repeat its whole retry budget
    (seconds of backoff) on every turn of a loop that may take fifty. The failed ones
    stay in the chain, after it, in case it fails too."""

    def __init__(self, role: str, providers: list[Provider]) -> None:
        self.role = role
        self.providers = providers
        self._first = 0
        self.name = providers[0].name
        self.capabilities: Capabilities = providers[0].capabilities

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        failures: list[str] = []
        last: ProviderError | None = None
        order = list(range(self._first, len(self.providers))) + list(range(self._first))
        for i in order:
            provider = self.providers[i]
            try:
                turn = await provider.complete(request, on_delta)
            except ProviderError as e:
                log.warning("%s: provider %s failed: %s", self.role, provider.name, e)
                failures.append(f"{provider.name}: {e}")
                last = e
                continue
            if failures and i != self._first:
                log.warning("%s: failed over to %s; it goes first for this agent's next turns",
                            self.role, provider.name)
                self._first = i
                self.name, self.capabilities = provider.name, provider.capabilities
            return turn
        assert last is not None  # a chain is never empty (config validation)
        if len(failures) == 1:
            raise ProviderError(f"{self.role}: {failures[0]}", provider=last.provider,
                                retryable=last.retryable, retry_after=last.retry_after) from last
        raise ProviderUnavailable(f"{self.role}: every provider failed: " + "; ".join(failures),
                                  retryable=last.retryable) from last

    async def count_tokens(self, request: TurnRequest) -> int | None:
        """Counted by the provider that goes first now (the one the next turn goes to)."""
        return await self.providers[self._first].count_tokens(request)


class Registry:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._built: dict[str, Provider] = {}

    def provider(self, name: str) -> Provider:
        if name not in self._built:
            self._built[name] = build_provider(name, self.config.providers[name], self.config)
        return self._built[name]

    def for_role(self, role: str) -> FailoverProvider:
        return FailoverProvider(role, [self.provider(n) for n in self.config.chain(role)])


PROBE_TOOL = ToolSpec(name="echo", description="Returns the text it is given.",
                      parameters={"type": "object", "properties": {"text": {"type": "string"}},
                                  "required": ["text"]})
PROBE_SYSTEM = ("You are a connectivity check. Call the `echo` tool exactly once with the text "
                "'ping'. When its result arrives, reply with that result and nothing else.")


async def probe(provider: Provider, timeout_s: float = 90.0) -> str:
    """A tiny tool round trip (call → result → answer); one line saying what works.

    Never raises for a provider failure: the verdict says what failed."""
    from .scripted import ScriptedProvider
    if isinstance(provider, ScriptedProvider):
        return "ok: offline scripted provider (no network; it replays its script, no probe needed)"
    started = time.monotonic()
    # Reasoning models spend output tokens thinking before they call anything.
    budget = 2048 if provider.capabilities.reasoning_replay else 512
    messages = [Message(role="user", text="Call echo with the text 'ping'.")]

    def request() -> TurnRequest:
        return TurnRequest(run_id="probe", role="probe", system=PROBE_SYSTEM,
                           messages=list(messages), tools=[PROBE_TOOL], max_output_tokens=budget)

    try:
        async with asyncio.timeout(timeout_s):
            first = await provider.complete(request())
            calls = [c for c in first.tool_calls if c.name == "echo"]
            if not calls:
                return (f"partial: {first.model or provider.name} answered but did not call the "
                        f"tool (stop: {first.stop}); tool calling may not work with this model")
            call = calls[0]
            if call.invalid:
                return f"partial: the tool call arrived with unusable arguments: {call.invalid}"
            messages.append(first.as_message())
            messages.append(Message(role="tool", tool_results=[
                ToolResult(call_id=c.id, name=c.name, content="pong") for c in first.tool_calls]))
            second = await provider.complete(request())
    except TimeoutError:
        return f"failed: no answer within {timeout_s:.0f} s"
    except ProviderError as e:
        return f"failed: {e}"
    usage = first.usage + second.usage
    took = time.monotonic() - started
    what = (f"{second.model or provider.name}, {took:.1f} s, {usage.input_tokens} in / "
            f"{usage.output_tokens} out tokens"
            f"{f', {usage.cached_tokens} cached' if usage.cached_tokens else ''}, "
            f"${usage.cost_usd:.5f}")
    if second.stop == StopReason.END_TURN and "pong" in second.text.lower():
        return f"ok: tool call and result round trip ({what})"
    return (f"partial: the tool call worked but the answer after its result was unexpected "
            f"(stop: {second.stop}, text: {second.text[:60]!r}) ({what})")
