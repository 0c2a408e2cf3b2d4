"""The configuration the runtime works with, and the providers built from it. One object
shared by the engine's collaborators: when the configuration loads again (the person fixed
or trusted a file) the engine replaces both fields, and every step from then on reads the
new ones.

While the configuration's files do not load, `problem` says why (file, line, key) and no
step that needs the configuration starts (`Workflow.drive` waits on `changed`): Baton never
works on other settings, and a run waits rather than fails, going on once the files load."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..config import Config
from ..providers.registry import Registry as Providers


@dataclass
class Settings:
    config: Config
    providers: Providers
    problem: str | None = None
    _signal: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def provider_keys(self) -> list[str | None]:
        """The variables naming provider keys: never passed to a command or server."""
        return [p.key_env() for p in self.config.providers.values()]

    def hold(self, problem: str) -> None:
        """The files do not load: steps wait, saying `problem`, until `replace`. What was
        loaded before stays (a step under way finishes on it), never the defaults."""
        self.problem = problem
        self._changed()

    def replace(self, config: Config, providers: Providers) -> None:
        self.config, self.providers, self.problem = config, providers, None
        self._changed()

    async def changed(self, problem: str) -> None:
        """Returns once `problem` is no longer what stops steps (fixed, or another mistake)."""
        while self.problem == problem:
            await self._signal.wait()

    def _changed(self) -> None:
        signal, self._signal = self._signal, asyncio.Event()
        signal.set()
