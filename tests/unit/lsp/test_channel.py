"""The channel between the LSP process and the engine process: order, errors, cancel, close."""

from __future__ import annotations

import asyncio
import socket

import pytest

from baton.lsp.channel import LINE_LIMIT, Channel, ChannelClosed, ChannelError


async def pair(a_handlers: dict, b_handlers: dict) -> tuple[Channel, Channel, list[asyncio.Task]]:
    sa, sb = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=sa, limit=LINE_LIMIT)
    rb, wb = await asyncio.open_connection(sock=sb, limit=LINE_LIMIT)
    a, b = Channel(ra, wa, a_handlers), Channel(rb, wb, b_handlers)
    return a, b, [asyncio.create_task(a.serve()), asyncio.create_task(b.serve())]


async def test_requests_answer_and_notifications_keep_their_order():
    seen: list[int] = []

    async def slow_echo(p):
        await asyncio.sleep(0.01)
        return {"echo": p}

    a, b, tasks = await pair({}, {"note": seen.append, "echo": slow_echo})
    for i in range(200):
        a.notify("note", i)
    assert await a.request("echo", [1, "é😀"]) == {"echo": [1, "é😀"]}
    assert seen == list(range(200))
    a.close()
    await asyncio.gather(*tasks)


async def test_errors_carry_their_code_and_unknown_methods_are_refused():
    class Refused(Exception):
        code, message = -32001, "No run with id 'x'"

    def refuse(p):
        raise Refused()

    def bug(p):
        raise KeyError("oops")

    a, b, tasks = await pair({}, {"refuse": refuse, "bug": bug, "ok": lambda p: "ok"})
    with pytest.raises(ChannelError) as e:
        await a.request("refuse", {})
    assert (e.value.code, e.value.message) == (-32001, "No run with id 'x'")
    with pytest.raises(ChannelError) as e:
        await a.request("bug", {})
    assert e.value.code == -32603 and "oops" in e.value.message
    with pytest.raises(ChannelError) as e:
        await a.request("nope", {})
    assert e.value.code == -32601
    assert await a.request("ok", {}) == "ok"  # still serving after errors
    a.close()
    await asyncio.gather(*tasks)


async def test_a_cancelled_request_cancels_the_handler_on_the_other_side():
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def forever(p):
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    a, b, tasks = await pair({}, {"forever": forever})
    waiting = asyncio.create_task(a.request("forever", {}))
    await started.wait()
    waiting.cancel()
    await asyncio.wait_for(cancelled.wait(), 5)
    a.close()
    await asyncio.gather(*tasks)


async def test_when_the_other_side_goes_away_waiting_requests_fail_and_new_ones_too():
    started = asyncio.Event()

    async def forever(p):
        started.set()
        await asyncio.Event().wait()

    a, b, tasks = await pair({}, {"forever": forever})
    waiting = asyncio.create_task(a.request("forever", {}))
    await started.wait()
    b.close()
    with pytest.raises(ChannelClosed):
        await asyncio.wait_for(waiting, 5)
    with pytest.raises(ChannelClosed):
        await a.request("forever", {})
    await asyncio.gather(*tasks)


async def test_a_malformed_line_is_dropped_and_the_channel_goes_on():
    sa, sb = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=sa, limit=LINE_LIMIT)
    rb, wb = await asyncio.open_connection(sock=sb, limit=LINE_LIMIT)
    got: list = []
    b = Channel(rb, wb, {"note": got.append})
    task = asyncio.create_task(b.serve())
    wa.write(b'{"method": "note", "par\n{"method": "note", "params": 2}\n')
    await wa.drain()
    wa.close()
    await asyncio.wait_for(task, 5)
    assert got == [2]


async def test_large_messages_pass():
    a, b, tasks = await pair({}, {"len": lambda p: len(p)})
    assert await a.request("len", "x" * (8 << 20)) == 8 << 20
    a.close()
    await asyncio.gather(*tasks)
