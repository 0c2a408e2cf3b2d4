"""The SQLite journal: appends off the event loop, flush makes them durable, load replays."""

from __future__ import annotations

import sqlite3

from baton.runtime.journal import Journal
from baton.runtime.runs import Created, Route, Routed, State, StateChanged


async def test_append_flush_load_roundtrip(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "runs")
    j.append("a", Created(task="first"))
    j.append("b", Created(task="second"))
    j.append("a", Routed(route=Route.ASK, reason="q", source="rules"))
    j.append("a", StateChanged(state=State.PLANNING))
    await j.flush()
    runs = j.load()
    j.close()
    assert runs["a"].task == "first" and runs["a"].route == Route.ASK
    assert runs["a"].state == State.PLANNING and runs["b"].state == State.QUEUED
    # Every event also went to the run's transcript.
    assert len((tmp_path / "runs" / "a" / "transcript.jsonl").read_text().splitlines()) == 3


async def test_survives_reopen_and_uses_wal(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "runs")
    j.append("a", Created(task="t"))
    await j.flush()
    j.close()
    mode = sqlite3.connect(tmp_path / "j.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    j2 = Journal(tmp_path / "j.sqlite3", tmp_path / "runs")
    assert j2.load()["a"].task == "t"
    j2.close()


async def test_redaction_applies_before_storage(tmp_path):
    secret = "sk-live-ABCDEFGH12345"
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "runs", redact=lambda s: s.replace(secret, "[redacted]"))
    j.append("a", Created(task=f"use {secret}"))
    await j.flush()
    j.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite3*"))
    assert b"[redacted]" in stored and secret.encode() not in stored
    assert secret not in (tmp_path / "runs" / "a" / "transcript.jsonl").read_text()


async def test_unreadable_event_is_skipped_not_fatal(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "runs")
    j.append("a", Created(task="t"))
    await j.flush()
    j._db.execute("INSERT INTO events(run_id, kind, ts, data) VALUES ('a', 'x', 0, '{\"kind\": \"future\"}')")
    runs = j.load()
    j.close()
    assert runs["a"].task == "t"
