"""Starting servers for a benchmark and driving Baton runs through them like a person
who accepts every plan at once: records every `baton/runChanged`, accepts plans as they
arrive, and wakes whoever waits for a run to end."""

from __future__ import annotations

import asyncio
import re
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .client import LspClient, bare_argv, baton_argv

TERMINAL = {"done", "rejected", "failed", "cancelled"}
TAG = re.compile(r"\[([^\]]+)\]")


async def start(kind: str, ws: Path, config: Path | None = None) -> LspClient:
    """A server of `kind` ("baton" or "bare") on `ws`, initialized and ready for requests."""
    env = {"BATON_LOG": "WARNING"}
    if config is not None:
        env["BATON_CONFIG"] = str(config)
    client = LspClient(baton_argv() if kind == "baton" else bare_argv(), env=env, cwd=ws)
    await client.spawn()
    await client.initialize(ws)
    await client.command("baton.runs", {})  # answered by Baton once its engine is up
    return client


class RunDriver:
    def __init__(self, client: LspClient,
                 on_end: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.client = client
        self.on_end = on_end
        self.notices: list[dict[str, Any]] = []
        self.ended: dict[str, dict[str, Any]] = {}  # runId → terminal notice
        self.accept_errors: list[str] = []
        self._ended_event = asyncio.Event()
        self._accepted: set[str] = set()
        client.listeners["baton/runChanged"] = self._changed

    def _changed(self, notice: dict[str, Any]) -> None:
        self.notices.append(notice)
        run_id, state = notice["runId"], notice["state"]
        if state == "awaiting_approval" and run_id not in self._accepted:
            self._accepted.add(run_id)
            asyncio.get_running_loop().create_task(self._accept(run_id))
        elif state in TERMINAL and run_id not in self.ended:
            self.ended[run_id] = notice
            self._ended_event.set()
            if self.on_end:
                self.on_end(run_id, notice)

    async def _accept(self, run_id: str) -> None:
        try:
            await self.client.command("baton.plan.accept", {"runId": run_id})
        except Exception as e:  # counted and reported: a lost acceptance is an error
            self.accept_errors.append(f"{run_id}: {e}")

    async def start_run(self, task: str) -> str:
        return (await self.client.command("baton.run", {"task": task}))["runId"]

    async def wait_ended(self, run_ids: list[str] | set[str], timeout: float = 300.0) -> None:
        async def loop() -> None:
            while not set(run_ids) <= set(self.ended):
                self._ended_event.clear()
                await self._ended_event.wait()
        await asyncio.wait_for(loop(), timeout)

    def failures(self) -> list[str]:
        return [f"{rid}: {n['state']} {n.get('error') or n.get('reason') or ''}"
                for rid, n in self.ended.items() if n["state"] != "done"] + self.accept_errors


def pct(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; samples in seconds, result in ms."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k] * 1000


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000 if samples else float("nan")
