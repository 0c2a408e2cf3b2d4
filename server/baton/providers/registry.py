"""Provider kind → adapter (imported lazily), each role's failover chain, and the probe
behind `baton doctor --probe`.

Retries live in the adapters (retry.py: backoff, retry-after, bounded); failover here
moves to the next provider of the role only after an adapter has given up, and only for
a failure another provider can fix (`fails_over`):

- an outage (5xx, overload, a timeout or a dropped connection, 429 once the retries ran
  out: the ProviderError is `retryable`) fails over;
- a provider that cannot serve this request at all (401/403: its key; 402/429 quota;
  404: its model name; no key set) fails over too: the request itself is fine, and the
  chain is the person's own list of alternatives. That is a mistake only the person can
  fix, and meanwhile another vendor bills them: the turn that answered carries a
  `Fallback` (the cause in words, never the key) that the runtime says in the editor once
  per provider for as long as this configuration is in force, and in the run's events;
- a request the provider rejects as invalid (400, 413, 422, or an invalid_request_error
  event) does not: it is a bug in Baton or a setting of that provider (a parameter the
  model refuses), another vendor would only hide it, and the run fails with the
  provider's own message;
- a refusal (ProviderRefused) ends the run with the reason, "declined by <provider>":
  sending what one vendor declined to the next would launder the refusal;
- ContextTooLong goes up untouched, to context management.

Before every turn the history is converted for the provider it goes to
(pairing.for_provider): turns another provider wrote lose what only that one can read
and get call ids this one accepts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from ..config import Config, ProviderConfig
from ..errors import (ConfigError, ContextTooLong, ProviderError, ProviderRefused,
                      ProviderUnavailable)
from .base import (Capabilities, Fallback, Message, OnDelta, Provider, StopReason, ToolResult,
                   ToolSpec, Turn, TurnRequest, Usage)
from .pairing import for_provider
from .pricing import budget_problem, cost_text

log = logging.getLogger(__name__)

# What a provider answers when the request itself is at fault (see the module docstring).
REQUEST_REJECTED = frozenset({400, 413, 422})


def fails_over(e: ProviderError) -> bool:
    """Whether the next provider of a role's chain gets the request that failed with `e`."""
    if isinstance(e, (ProviderRefused, ContextTooLong)):
        return False
    return e.retryable or e.status not in REQUEST_REJECTED


def cause(e: ProviderError, cfg: ProviderConfig) -> str | None:
    """Why a provider cannot serve any request, in words that say what to fix; None for an
    outage (it passes) or a failure with no such cause. Built from the status and the
    configuration only: the provider's own text may echo the key."""
    env = cfg.key_env()
    key = f"the key in ${env}" if env else "its API key"
    if env and cfg.api_key() is None:
        return f"no API key: ${env} is not set"
    if e.retryable:
        return None
    return {401: f"{key} was refused (401)",
            403: f"{key} is not allowed to use {cfg.model!r} (403)",
            402: f"the account of {key} has no credit left (402)",
            429: f"the account of {key} has no quota left (429)",
            404: f"the model name {cfg.model!r} was not found (404)"}.get(e.status or 0)


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
    stay in the chain, after it, in case it fails too.

    What the failed attempts were billed (ProviderError.usage) goes with the turn that
    answered, or with the error raised: a run counts every token it paid for."""

    def __init__(self, role: str, providers: list[Provider], *,
                 configs: Mapping[str, ProviderConfig] | None = None,
                 told: set[str] | None = None) -> None:
        self.role = role
        self.providers = providers
        self.configs = configs or {}
        self.told = set() if told is None else told  # providers whose Fallback was first
        self._first = 0
        self.name = providers[0].name
        self.capabilities: Capabilities = providers[0].capabilities

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        failures: list[str] = []
        last: ProviderError | None = None
        spent = Usage()
        passed_over: list[tuple[str, str]] = []  # (provider, cause) of a Fallback
        order = list(range(self._first, len(self.providers))) + list(range(self._first))
        for i in order:
            provider = self.providers[i]
            sent = request.model_copy(update={"messages": for_provider(
                request.messages, provider.name, provider.capabilities)})
            try:
                turn = await provider.complete(sent, on_delta)
            except ProviderError as e:
                spent = spent + (e.usage or Usage())
                e.usage = spent if spent != Usage() else None
                if isinstance(e, ContextTooLong):
                    raise
                if isinstance(e, ProviderRefused):
                    raise ProviderRefused(f"{self.role}: declined by {provider.name}: {e}",
                                          provider=provider.name, status=e.status,
                                          usage=e.usage) from e
                last = e
                if not fails_over(e):
                    failures.append(f"{provider.name}: {e}")
                    raise ProviderError(
                        f"{self.role}: " + "; ".join(failures) + " (the provider rejected the "
                        "request as invalid: not sent to another provider, as it would only "
                        "hide a bug or a setting of this one)", provider=provider.name,
                        status=e.status, usage=e.usage) from e
                log.warning("%s: provider %s failed: %s", self.role, provider.name, e)
                cfg = self.configs.get(provider.name)
                why = cause(e, cfg) if cfg is not None else None
                # Said in the run's error too, should no provider answer.
                failures.append(f"{provider.name}: {e}" + (f" ({why})" if why else ""))
                if why is not None:
                    passed_over.append((provider.name, why))
                continue
            if failures and i != self._first:
                log.warning("%s: failed over to %s; it goes first for this agent's next turns",
                            self.role, provider.name)
                self._first = i
                self.name, self.capabilities = provider.name, provider.capabilities
            return turn.model_copy(update={"usage": turn.usage + spent, "fallbacks": [
                self._fallback(name, why, provider.name) for name, why in passed_over]})
        assert last is not None  # a chain is never empty (config validation)
        if len(failures) == 1:
            raise ProviderError(f"{self.role}: {failures[0]}", provider=last.provider,
                                retryable=last.retryable, retry_after=last.retry_after,
                                status=last.status, usage=last.usage) from last
        raise ProviderUnavailable(f"{self.role}: every provider failed: " + "; ".join(failures),
                                  retryable=last.retryable, usage=last.usage) from last

    def _fallback(self, name: str, why: str, answered: str) -> Fallback:
        first = name not in self.told
        self.told.add(name)
        return Fallback(provider=name, first=first, message=(
            f"Provider {name} could not be used: {why}. The {self.role}'s turns went to "
            f"{answered} instead, billed to that account. Fix {name} in the configuration, "
            f"or take it out of [roles] {self.role}."))

    async def count_tokens(self, request: TurnRequest) -> int | None:
        """Counted by the provider that goes first now (the one the next turn goes to), on
        the history as it would be sent to it."""
        first = self.providers[self._first]
        return await first.count_tokens(request.model_copy(update={"messages": for_provider(
            request.messages, first.name, first.capabilities)}))


class Registry:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._built: dict[str, Provider] = {}
        # Providers the person has been told they cannot use: once per provider while this
        # configuration is in force (a new one may have fixed the key).
        self._told: set[str] = set()

    def provider(self, name: str) -> Provider:
        if name not in self._built:
            self._built[name] = build_provider(name, self.config.providers[name], self.config)
        return self._built[name]

    def for_role(self, role: str) -> FailoverProvider:
        """The role's chain; refused while a cost budget is set that it could not keep,
        before the run's first model call rather than half-way (pricing.budget_problem)."""
        problem = budget_problem(self.config)
        if problem:
            raise ConfigError(problem)
        return FailoverProvider(role, [self.provider(n) for n in self.config.chain(role)],
                                configs=self.config.providers, told=self._told)


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
            f"{cost_text(usage, 5)}")
    if second.stop == StopReason.END_TURN and "pong" in second.text.lower():
        return f"ok: tool call and result round trip ({what})"
    return (f"partial: the tool call worked but the answer after its result was unexpected "
            f"(stop: {second.stop}, text: {second.text[:60]!r}) ({what})")
