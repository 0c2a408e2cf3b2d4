"""The configuration the runtime works with, and the providers built from it. One object
shared by the engine's collaborators: when the person trusts the workspace's file the
engine replaces both fields, and every step from then on reads the new ones."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..providers.registry import Registry as Providers


@dataclass
class Settings:
    config: Config
    providers: Providers

    def provider_keys(self) -> list[str | None]:
        """The variables naming provider keys: never passed to a command or server."""
        return [p.key_env() for p in self.config.providers.values()]
