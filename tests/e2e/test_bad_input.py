"""Bad input gets a JSON-RPC error a person can act on, and the daemon goes on serving."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest
from pygls.exceptions import JsonRpcException

from .conftest import plan_script
from .editor import write_workspace


async def expect_error(ed, name, arg=None, *, raw_args=None, code=None, match=""):
    with pytest.raises(JsonRpcException) as info:
        await ed.command(name, arg, raw_args=raw_args)
    if code is not None:
        assert info.value.code == code, info.value
    assert match.lower() in str(info.value).lower(), str(info.value)
    return info.value


async def test_bad_commands_get_actionable_errors(make_editor):
    ed = await make_editor(plan_script())
    await expect_error(ed, "baton.plan.accept", {"runId": "nope"}, code=-32001, match="No run with id 'nope'")
    await expect_error(ed, "baton.run", {}, code=-32602, match="task")
    await expect_error(ed, "baton.run", {"task": "   "}, code=-32602, match="blank")
    await expect_error(ed, "baton.run", raw_args=["just a string"], code=-32602, match="one object argument")
    await expect_error(ed, "baton.run", raw_args=[{"task": "a"}, {"task": "b"}], code=-32602,
                       match="one object argument")
    await expect_error(ed, "baton.run", {"task": "x", "route": "sideways"}, code=-32602, match="route")
    await expect_error(ed, "baton.plan.revise", {"runId": "x"}, code=-32602, match="feedback")
    await expect_error(ed, "baton.run", {"task": "x", "parentRunId": "missing"}, code=-32001)
    await expect_error(ed, "baton.nonexistent", {}, match="not defined")

    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    err = await expect_error(ed, "baton.edits.apply", {"runId": run_id}, code=-32002)
    assert "awaiting_approval" in str(err) and "awaiting_apply" in str(err)
    await expect_error(ed, "baton.run.answer", {"runId": run_id, "answer": "hi"}, code=-32002)
    await expect_error(ed, "baton.run.revert", {"runId": run_id}, code=-32002, match="applied")
    # Still serving: the run goes on.
    await ed.command("baton.plan.reject", {"runId": run_id})
    await ed.wait_state(run_id, "rejected")
    await expect_error(ed, "baton.plan.accept", {"runId": run_id}, code=-32002, match="rejected")
    await expect_error(ed, "baton.run.cancel", {"runId": run_id}, code=-32002)
    assert isinstance(await ed.command("baton.runs", {}), list)


async def test_broken_model_output_fails_the_run_clearly(make_editor):
    script = plan_script()
    script["planner"] = [{"text": "I will not use tools."}] * 30
    ed = await make_editor(script, extra_config="[limits]\nmax_turns = {planner = 3}\n")
    run_id = await ed.run("Greet by name")
    notice = await ed.wait_state(run_id, "failed")
    assert "planner reached its limit of 3 turns" in notice["error"]


async def test_script_running_out_fails_with_clear_error(make_editor):
    script = plan_script()
    script["implementer"] = [{"tool_calls": [{"name": "read_file", "arguments": {"path": "hello.py"}}]}]
    ed = await make_editor(script)
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    notice = await ed.wait_state(run_id, "failed")
    assert "implementer script has 1 turn(s)" in notice["error"]


def frame(obj_or_bytes) -> bytes:
    body = obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def read_message(stream: asyncio.StreamReader) -> dict:
    length = 0
    while True:
        line = await stream.readline()
        if not line:
            raise EOFError("server closed stdout")
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(await stream.readexactly(length))


async def test_malformed_jsonrpc_gets_an_error_and_the_daemon_goes_on(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    config = write_workspace(ws, {"a.py": "x = 1\n"}, {"runs": [plan_script()]})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton", "serve", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "BATON_CONFIG": str(config)})
    assert proc.stdin and proc.stdout

    async def until_id(msg_id):
        while True:
            msg = await asyncio.wait_for(read_message(proc.stdout), 20)
            if msg.get("id") == msg_id and ("result" in msg or "error" in msg):
                return msg
    try:
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                "params": {"capabilities": {}, "rootUri": ws.as_uri()}}))
        await until_id(1)
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        proc.stdin.write(frame(b'{"jsonrpc": "2.0", "id": 2, "method": '))  # cut off JSON
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 3, "method": "workspace/executeCommand",
                                "params": {"command": "baton.run", "arguments": [{"task": 42}]}}))
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 4, "method": "workspace/executeCommand",
                                "params": {"command": "baton.runs", "arguments": [{}]}}))
        bad = await until_id(3)
        assert bad["error"]["code"] == -32602 and "task" in bad["error"]["message"]
        good = await until_id(4)
        assert good["result"] == []
    finally:
        proc.kill()
        await proc.wait()


async def test_run_over_its_token_budget_fails_with_the_figures(make_editor):
    ed = await make_editor(plan_script(), extra_config="[limits]\nrun_tokens = 50\n")
    run_id = await ed.run("Greet by name")
    notice = await ed.wait_state(run_id, "failed")
    assert "over its budget of 50" in notice["error"]
