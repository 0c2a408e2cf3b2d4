"""The configuration loaded again while Baton serves: when one of its files changes (watched,
loaded off the event loop) and before a command that sets agents to work.

A load that fails holds the engine (no run starts a step; runs wait in their states,
saying the mistake: runtime/settings.py) and a load that succeeds after one lets them go
on: Baton never works on other settings than the files say, and a broken file loses
nothing. What the person hears is bounded, whatever a repository does to its own file (a
hostile one may rewrite it in a loop): changes are grouped and loaded at most once a
`RELOAD_GAP_S`; each distinct mistake is said once, and no sooner than
`ERROR_MESSAGE_GAP_S` after the last one said (commands and runs still name the mistake in
force); "it loads again" is said only after a mistake was. A change confined to the tables
an untrusted workspace file may not set changes nothing, so it is not even noticed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import Config, WorkspaceTrust, config_files, load_config
from ..errors import ConfigError
from ..runtime.engine import Engine
from .channel_messages import Message

log = logging.getLogger(__name__)

RELOAD_GAP_S = 1.0
ERROR_MESSAGE_GAP_S = 5.0
DEBOUNCE_MS, STEP_MS = 300, 100  # a save is often several writes (truncate, write, rename)
MAX_REMEMBERED = 256
FIXED = "Baton: the configuration loads again: runs can start, and runs that waited for it go on."


def stopped(error: str) -> str:
    return f"Baton cannot start runs until its configuration is fixed: {error}"


def same(a: Config, b: Config) -> bool:
    """Whether two loads say the same. Keys are compared by the variables they come from;
    the workspace file by what of it applies, not by its digest (an untrusted file's
    ignored tables may change without anything changing)."""
    def seen(c: Config) -> tuple[Any, ...]:
        ws = c.workspace_file
        return (c.model_dump(mode="json"), c.base_dir,
                ws and (ws.path, ws.trusted, tuple(ws.ignored)))
    return seen(a) == seen(b)


class ConfigReload:
    def __init__(self, root: Path, overrides: dict[str, Any] | None,
                 say: Callable[[Message], Awaitable[Any]],
                 offer_trust: Callable[[WorkspaceTrust], None],
                 env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.root = root
        self.overrides = overrides
        self.say = say
        self.offer_trust = offer_trust  # the workspace file became untrusted: ask the person
        self.env = env
        self.clock = clock
        self.engine: Engine | None = None
        self.problem: str | None = None  # the mistake in force, if any
        self._said: set[str] = set()
        self._last_said = -math.inf
        self._owe_fixed = False
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.armed = asyncio.Event()  # the files are watched (tests wait on it)

    async def _load(self) -> Config:
        return await asyncio.to_thread(load_config, self.root, self.overrides, self.env)

    async def initial(self) -> tuple[Config, str | None]:
        """The configuration at start, or (an empty one, its mistake): the engine then starts
        held. The caller says the mistake (it goes with the start's answer)."""
        try:
            return await self._load(), None
        except ConfigError as e:
            self.problem = str(e)
            self._noted(self.problem)
            return Config(), self.problem

    def attach(self, engine: Engine) -> None:
        self.engine = engine
        if self.problem is not None:
            engine.hold(self.problem)

    async def check(self) -> None:
        """Before a command that sets agents to work: the files as they are now; raises
        ConfigError with the mistake until they load."""
        await self.reload()
        if self.problem is not None:
            raise ConfigError(stopped(self.problem))

    async def reload(self) -> None:
        engine = self.engine
        assert engine is not None, "attach comes first"
        async with self._lock:
            try:
                config = await self._load()
            except ConfigError as e:
                await self._broken(engine, str(e))
                return
            await self._loaded(engine, config)

    def _noted(self, error: str) -> None:
        if len(self._said) >= MAX_REMEMBERED:
            self._said.clear()
        self._said.add(error)
        self._last_said = self.clock()
        self._owe_fixed = True

    async def _broken(self, engine: Engine, error: str) -> None:
        if error != self.problem:
            self.problem = error
            engine.hold(error)
            log.warning("%s", stopped(error))
        if error not in self._said and self.clock() - self._last_said >= ERROR_MESSAGE_GAP_S:
            self._noted(error)
            await self.say(Message(type="error", message=stopped(error)))

    async def _loaded(self, engine: Engine, config: Config) -> None:
        held, self.problem = self.problem, None
        before = engine.config.workspace_file
        if held is not None or not same(config, engine.config):
            engine.reconfigure(config)
            log.info("configuration loaded again: %s", "; ".join(config.origin))
        if held is not None and self._owe_fixed:
            self._owe_fixed = False
            await self.say(Message(type="info", message=FIXED))
        now = config.workspace_file
        # Something of it is ignored now, and was not a moment ago (edited after it was
        # trusted, created, first seen once the files load; a save read half-written, empty,
        # counts as nothing ignored): what it may not do is said.
        if now is not None and now.notice() and (before is None or not before.notice()):
            self.offer_trust(now)

    # -- watching ---------------------------------------------------------------------
    def watch(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="baton-config-watch")
        self._task.add_done_callback(_ended)

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 2)
            except (TimeoutError, Exception):
                self._task.cancel()

    async def _watch(self) -> None:
        from watchfiles import awatch
        while not self._stop.is_set():
            files = _watched_files(self.root, self.env)
            dirs = _watched_dirs(files)
            changes_seen, arming = False, True
            async for changes in awatch(*dirs, watch_filter=_relevant(files),
                                        recursive=False, debounce=DEBOUNCE_MS, step=STEP_MS,
                                        stop_event=self._stop, ignore_permission_denied=True,
                                        yield_on_timeout=True, rust_timeout=1000):
                if arming:  # the first batch: the watch is in place; reload what changed before it was
                    arming = False
                    self.armed.set()
                elif not changes:
                    continue
                changes_seen = True
                await self.reload()
                if _watched_dirs(_watched_files(self.root, self.env)) != dirs:
                    break  # a folder on the way appeared or went: watch the new ones
                await asyncio.sleep(RELOAD_GAP_S)
            if not changes_seen and not self._stop.is_set():
                await asyncio.sleep(RELOAD_GAP_S)  # the watch ended at once: never spin


def _ended(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("watching the configuration files stopped: %s (they are still read before "
                    "each command that starts agent work)", task.exception())


def _watched_files(root: Path, env: Mapping[str, str] | None) -> set[Path]:
    """The configuration's files, and what a link among them names (a dotfiles manager's
    link: the change happens where it points)."""
    files = config_files(root, env)
    return set(files) | {f.resolve() for f in files if f.is_symlink()}


def _watched_dirs(files: set[Path]) -> frozenset[Path]:
    """Each file's folder, or the nearest that exists (watched for the missing one to appear)."""
    out = set()
    for f in files:
        d = f.parent
        while not d.is_dir() and d != d.parent:
            d = d.parent
        out.add(d)
    return frozenset(out)


def _relevant(files: set[Path]) -> Callable[[Any, str], bool]:
    """A change to one of `files`, or to a folder on the way to one (made, removed, moved)."""
    on_the_way = {d for f in files for d in f.parents}
    return lambda _, raw: Path(raw) in files or Path(raw) in on_the_way
