"""The engine process's host: progress is paced, the last word is never lost, and a host
call made after the editor's process went away waits to be cancelled instead of failing
the run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pygls.workspace import Workspace

from baton.lsp import channel_host as lsp_host
from baton.lsp.channel import ChannelClosed
from baton.lsp.client_support import ClientSupport
from baton.lsp.channel_host import ChannelHost


class FakeChannel:
    def __init__(self) -> None:
        self.closed = False
        self.told: list[tuple[str, dict]] = []

    def notify(self, method, params):
        self.told.append((method, params))

    async def request(self, method, params):
        if self.closed:
            raise ChannelClosed()
        self.told.append((method, params))
        return None


def make_host(tmp_path: Path) -> tuple[ChannelHost, FakeChannel]:
    ch = FakeChannel()
    return ChannelHost(ch, tmp_path, Workspace(tmp_path.as_uri()), ClientSupport()), ch  # type: ignore[arg-type]


def reports(ch: FakeChannel) -> list[str]:
    return [p["message"] for m, p in ch.told if m == "progress" and p["kind"] == "report"]


async def test_reports_are_paced_and_the_latest_held_one_is_sent(tmp_path, monkeypatch):
    monkeypatch.setattr(lsp_host, "REPORT_EVERY_S", 0.05)
    h, ch = make_host(tmp_path)
    await h.progress("r1", "begin", "start")
    for i in range(20):
        await h.progress("r1", "report", f"step {i}")
    assert reports(ch) == []  # the begin just went: the reports wait for the interval
    await asyncio.sleep(0.12)
    assert reports(ch) == ["step 19"]
    await h.progress("r1", "report", "later")  # the interval is over: at once
    assert reports(ch) == ["step 19", "later"]


async def test_runs_are_paced_apart_and_the_end_drops_a_held_report(tmp_path, monkeypatch):
    monkeypatch.setattr(lsp_host, "REPORT_EVERY_S", 0.05)
    h, ch = make_host(tmp_path)
    await h.progress("a", "begin", "a")
    await h.progress("b", "begin", "b")
    await h.progress("a", "report", "a1")
    await h.progress("b", "report", "b1")
    await h.progress("b", "end", "done")
    await asyncio.sleep(0.12)
    assert reports(ch) == ["a1"]
    assert [p["kind"] for m, p in ch.told if p.get("runId") == "b"] == ["begin", "end"]


async def test_a_host_call_after_the_editor_is_gone_waits_to_be_cancelled(tmp_path):
    h, ch = make_host(tmp_path)
    ch.closed = True
    call = asyncio.create_task(h.show_document(tmp_path / "plan.md", take_focus=False))
    await asyncio.sleep(0.05)
    assert not call.done()  # no exception for the run to fail on
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    assert call.cancelled()


async def test_a_client_that_shows_batons_prompts_gets_no_message_request(tmp_path):
    """It prompts from runChanged and answers by command: the host's ask waits for that
    (the caller cancels it) and sends nothing; any other client gets the message box."""
    from baton.wire import Question
    ch = FakeChannel()
    h = ChannelHost(ch, tmp_path, Workspace(tmp_path.as_uri()), ClientSupport(baton_prompts=True))  # type: ignore[arg-type]
    asks = [asyncio.ensure_future(h.ask_permission("r1", "write x?")),
            asyncio.ensure_future(h.ask_question("r1", Question(text="Which?", options=["a", "b"])))]
    await asyncio.sleep(0.05)
    assert not any(a.done() for a in asks) and ch.told == []
    for a in asks:
        a.cancel()
    plain, ch = make_host(tmp_path)
    assert await plain.ask_permission("r1", "write x?") is None  # the box was closed unanswered
    assert [m for m, _ in ch.told] == ["choose"]
