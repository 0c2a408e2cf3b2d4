"""One lock per workspace file, shared by every run: deliveries (and the watcher's checks)
touching a file never interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager


class FileLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, rel: str) -> asyncio.Lock:
        return self._locks.setdefault(rel, asyncio.Lock())

    @asynccontextmanager
    async def holding(self, paths: Iterable[str]) -> AsyncIterator[None]:
        """The locks of `paths`, taken in one order (no deadlock)."""
        async with AsyncExitStack() as stack:
            for rel in sorted(set(paths)):
                await stack.enter_async_context(self.lock(rel))
            yield
