"""Editor latency: what the person feels while typing.

Two requests, timed at the client from sending to the answer being parsed:
- `textDocument/codeAction` on a selection (the light bulb);
- a keystroke (`didChange`) immediately followed by a `codeAction`: the round trip of an
  edit and the next request, so sync work per keystroke is included.

Measured on the bare pygls server, on Baton idle, and on Baton while `slots` runs (8 by
default) stream edits across `5 × slots` open files (40) with a zero-latency scripted
model; a run that ends is replaced by the next round in its slot, so the load lasts
as long as the sampling.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from .client import LspClient
from .driver import RunDriver, pct, start
from .report import Row, fmt_ms
from .workspace import TYPING_FILE, make_workspace, plan_entry, task, write_config

FILES_PER_RUN = 5
PAUSE_S = 0.01  # between samples: a fast typist, and time for the load to progress
BLOCKS = 4


def _range(line: int, a: int, b: int) -> dict[str, Any]:
    return {"start": {"line": line, "character": a}, "end": {"line": line, "character": b}}


ACTION = {"range": _range(0, 0, 5), "context": {"diagnostics": []}}


async def one(client: LspClient, uri: str, i: int) -> tuple[float, float]:
    """One code-action round trip and one keystroke→code-action round trip (seconds)."""
    action = {"textDocument": {"uri": uri}, **ACTION}
    t0 = time.perf_counter()
    at, _ = await client.request_timed("textDocument/codeAction", action)
    ca = at - t0
    await asyncio.sleep(PAUSE_S / 2)
    # Type one character at the end of line 3; the next sample deletes it.
    line = client.buffers[uri][0].split("\n", 4)[3]
    edit = ({"range": _range(3, len(line), len(line)), "newText": "x"} if i % 2 == 0
            else {"range": _range(3, len(line) - 1, len(line)), "newText": ""})
    t0 = time.perf_counter()
    client.change(uri, [edit])
    at, _ = await client.request_timed("textDocument/codeAction", action)
    await asyncio.sleep(PAUSE_S / 2)
    return ca, at - t0


async def sample(targets: list[tuple[LspClient, str]], n: int, start: int = 0
                 ) -> list[tuple[list[float], list[float]]]:
    """n samples on each target, alternating between them sample by sample, so a busy
    neighbour on the machine weighs on every target alike."""
    out: list[tuple[list[float], list[float]]] = [([], []) for _ in targets]
    for i in range(start, start + n):
        for (client, uri), (ca, typed) in zip(targets, out):
            a, b = await one(client, uri, i)
            ca.append(a)
            typed.append(b)
    return out


class Load:
    """`slots` concurrent plan runs, each slot starting its next round when one ends."""

    def __init__(self, client: LspClient, rels: list[str], slots: int) -> None:
        self.client = client
        self.slots = slots
        self.files = {s: rels[s * FILES_PER_RUN:(s + 1) * FILES_PER_RUN] for s in range(slots)}
        self.round = dict.fromkeys(range(slots), 0)
        self.running = False
        self.started: list[str] = []
        self.errors: list[str] = []
        self.driver = RunDriver(client, self._ended)
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def entries(rels: list[str], slots: int) -> list[dict[str, Any]]:
        return [plan_entry(f"s{s}p{p}", rels[s * FILES_PER_RUN:(s + 1) * FILES_PER_RUN], p)
                for s in range(slots) for p in (0, 1)]

    def _launch(self, slot: int) -> None:
        tag = f"s{slot}p{self.round[slot] % 2}"
        self.round[slot] += 1

        async def go() -> None:
            try:
                self.started.append(await self.driver.start_run(task(tag)))
            except Exception as e:
                self.errors.append(f"starting {tag}: {e}")
        t = asyncio.get_running_loop().create_task(go())
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _ended(self, run_id: str, notice: dict[str, Any]) -> None:
        if not self.running:
            return
        slot = int(notice["task"].split("[s", 1)[1].split("p", 1)[0])
        self._launch(slot)

    def start(self) -> None:
        self.running = True
        for s in range(self.slots):
            self._launch(s)

    async def stop(self) -> None:
        """Stop starting runs and let those in flight finish (nothing is abandoned)."""
        self.running = False
        await asyncio.gather(*self._tasks)
        await self.driver.wait_ended(self.started, timeout=120)

    def applied_edits(self) -> int:
        return sum(len(p["edit"].get("documentChanges") or []) for _, _, p in self.client.applied_at)


async def _open_all(client: LspClient, ws: Path, rels: list[str]) -> str:
    for rel in rels:
        client.open(ws / rel)
    uri = client.open(ws / TYPING_FILE)
    await client.request("textDocument/codeAction", {  # all opens processed
        "textDocument": {"uri": uri}, "range": _range(0, 0, 1), "context": {"diagnostics": []}})
    return uri


async def bench_latency(tmp: Path, n: int = 400, slots: int = 8) -> tuple[list[Row], dict]:
    ws = tmp / "latency-ws"
    ws.mkdir()
    rels = make_workspace(ws, FILES_PER_RUN * slots)
    config = write_config(ws, Load.entries(rels, slots))
    raw: dict[str, Any] = {}

    bare = await start("bare", ws)
    baton = await start("baton", ws, config)
    load = Load(baton, rels, slots)
    raw: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("bare", "idle", "loaded")}
    per = max(1, n // BLOCKS)
    try:
        targets = [(bare, await _open_all(bare, ws, rels)), (baton, await _open_all(baton, ws, rels))]
        await sample(targets, max(10, n // 10))  # warm-up
        # Blocks of (bare and idle Baton, alternating) then (Baton loaded): noise from the
        # rest of the machine spreads over all three phases.
        for block in range(BLOCKS):
            (b_ca, b_ty), (i_ca, i_ty) = await sample(targets, per, block * per)
            load.start()
            await asyncio.sleep(0.2)  # the runs are under way before sampling starts
            [(l_ca, l_ty)] = await sample(targets[1:], per, block * per)
            await load.stop()
            for key, (ca, ty) in (("bare", (b_ca, b_ty)), ("idle", (i_ca, i_ty)),
                                  ("loaded", (l_ca, l_ty))):
                raw[key][0].extend(ca)
                raw[key][1].extend(ty)
        loaded_runs = len(load.started)
        failures = load.driver.failures() + load.errors
    finally:
        await bare.stop()
        await baton.stop()

    p = {k: {"ca50": pct(v[0], 50), "ca99": pct(v[0], 99), "ty50": pct(v[1], 50),
             "ty99": pct(v[1], 99)} for k, v in raw.items()}
    b, i, lo = p["bare"], p["idle"], p["loaded"]
    rows = [
        Row("codeAction p50, idle", fmt_ms(i["ca50"]), f"bare pygls {fmt_ms(b['ca50'])}",
            i["ca50"] / b["ca50"], "≤ 1.2×", i["ca50"] / b["ca50"] <= 1.2),
        Row("didChange→codeAction p50, idle", fmt_ms(i["ty50"]), f"bare pygls {fmt_ms(b['ty50'])}",
            i["ty50"] / b["ty50"], "≤ 1.2×", i["ty50"] / b["ty50"] <= 1.2),
        Row(f"codeAction p99, {slots} runs streaming", fmt_ms(lo["ca99"]),
            f"idle {fmt_ms(i['ca99'])} (bare {fmt_ms(b['ca99'])})",
            lo["ca99"] / i["ca99"], "≤ 1.5×", lo["ca99"] / i["ca99"] <= 1.5),
        Row(f"didChange→codeAction p99, {slots} runs streaming", fmt_ms(lo["ty99"]),
            f"idle {fmt_ms(i['ty99'])} (bare {fmt_ms(b['ty99'])})",
            lo["ty99"] / i["ty99"], "≤ 1.5×", lo["ty99"] / i["ty99"] <= 1.5),
        Row("load: runs completed / edits applied while sampling",
            f"{loaded_runs - len(failures)}/{loaded_runs} runs, {load.applied_edits()} file edits",
            f"first failure: {failures[0][:120]}" if failures else "", None, "no errors",
            not failures),
    ]
    return rows, {"percentiles_ms": p, "failures": failures, "loaded_runs": loaded_runs}
