"""The SQLite event journal (WAL). Runs are rebuilt from it when the daemon starts.

Writes never block the event loop: `append` queues the event for a writer thread that
commits in batches, and also appends it to the run's `transcript.jsonl`. `flush` waits
until everything queued so far is durable; the engine calls it before side effects that
must not be repeated after a crash (delivering edits).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .runs import EVENT, Event, Run

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, seq);
"""


class Journal:
    def __init__(self, path: Path, runs_dir: Path,
                 redact: Callable[[str], str] = lambda s: s) -> None:
        self.path = path
        self.runs_dir = runs_dir
        self.redact = redact
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._queue: queue.Queue[tuple[str, str, float, str] | Callable[[], None] | None] = queue.Queue()
        self._turn = asyncio.Lock()  # see flush
        self._thread = threading.Thread(target=self._writer, name="baton-journal", daemon=True)
        self._thread.start()

    def load(self) -> dict[str, Run]:
        runs: dict[str, Run] = {}
        for run_id, data in self._db.execute("SELECT run_id, data FROM events ORDER BY seq"):
            try:
                ev = EVENT.validate_json(data)
            except ValueError as e:  # a journal from a newer Baton, or damaged: skip the event
                log.warning("journal: run %s: unreadable event skipped: %s", run_id, e)
                continue
            run = runs.setdefault(run_id, Run(id=run_id))
            run.apply(ev)
        return runs

    def append(self, run_id: str, ev: Event) -> None:
        if not ev.ts:
            ev.ts = time.time()
        data = self.redact(ev.model_dump_json(exclude_none=True))
        self._queue.put((run_id, ev.kind, ev.ts, data))

    async def flush(self) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        def mark() -> None:
            loop.call_soon_threadsafe(settle)
        self._queue.put(mark)
        await done
        # One commit wakes every run waiting on a flush at once; if they all resumed in
        # the same loop turn, an editor request arriving now would queue behind all of
        # their next steps. They pass this lock one per loop turn instead, so at most
        # about one run step is ever ahead of the editor.
        async with self._turn:
            await asyncio.sleep(0)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._db.close()

    def _writer(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while True:  # drain what is queued: one transaction per batch
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [b for b in batch if isinstance(b, tuple)]
            if rows:
                try:
                    with self._db:
                        self._db.execute("BEGIN")
                        self._db.executemany(
                            "INSERT INTO events(run_id, kind, ts, data) VALUES (?,?,?,?)", rows)
                    self._transcripts(rows)
                except Exception:  # never lose the thread: the daemon must keep serving
                    log.exception("journal: write failed")
            for b in batch:
                if callable(b):
                    b()
            if any(b is None for b in batch):
                return

    def _transcripts(self, rows: list[tuple[str, str, float, str]]) -> None:
        by_run: dict[str, list[str]] = {}
        for run_id, kind, ts, data in rows:
            by_run.setdefault(run_id, []).append(data)
        for run_id, lines in by_run.items():
            folder = self.runs_dir / run_id
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / "transcript.jsonl").open("a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
