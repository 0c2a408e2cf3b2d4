"""Provider kind → adapter (imported lazily), and each role's failover chain."""

from __future__ import annotations

import logging

from ..config import Config, ProviderConfig
from ..errors import ConfigError, ProviderError, ProviderUnavailable
from .base import Capabilities, OnDelta, Provider, Turn, TurnRequest

log = logging.getLogger(__name__)


def build_provider(name: str, cfg: ProviderConfig, config: Config) -> Provider:
    # SDK imports happen here, when a provider of that kind is first used.
    if cfg.kind == "scripted":
        from .scripted import ScriptedProvider
        return ScriptedProvider(name, config.script_path(cfg), cfg.model)
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
    """Tries a role's providers in order; each adapter has already retried what it can."""

    def __init__(self, role: str, providers: list[Provider]) -> None:
        self.role = role
        self.providers = providers
        self.name = providers[0].name
        self.capabilities: Capabilities = providers[0].capabilities

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        failures: list[str] = []
        for provider in self.providers:
            try:
                return await provider.complete(request, on_delta)
            except ProviderError as e:
                log.warning("%s: provider %s failed: %s", self.role, provider.name, e)
                failures.append(f"{provider.name}: {e}")
        if len(failures) == 1:
            raise ProviderError(f"{self.role}: {failures[0]}")
        raise ProviderUnavailable(f"{self.role}: every provider failed: " + "; ".join(failures))


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
