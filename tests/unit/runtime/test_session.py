"""One agent's session: registry tools run on the run's shadow, writes streamed, a tool
that asks before each call (an MCP tool's shape) allowed once or for the run, durably, and
the run's token budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baton.errors import RunFailed, ToolRefused
from baton.providers.base import Message, ToolCall, ToolResult, Usage
from baton.runtime.runs import Answered, Asked
from baton.runtime.session import RoleSession
from baton.tools.builtin import BUILTIN
from baton.tools.registry import AskFirst, Pause, Tool, ToolRegistry
from baton.wire import Question

from .harness import plan_script, start, workspace

SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


class Stream:
    def __init__(self) -> None:
        self.files: list[str | None] = []
        self.turns = 0

    def written(self, rel: str | None) -> None:
        self.files.append(rel)

    def turn_done(self) -> None:
        self.turns += 1

    async def close(self) -> None:
        pass


async def echo(env: Any, args: dict[str, Any]) -> str:
    return f"{env.agent} echoed {args['text']}"


ECHO = Tool(name="mcp__demo__echo", description="Echo", roles=frozenset({"implementer"}),
            handler=echo, parameters=SCHEMA, asks=True,
            prompt=lambda run_id, args: f"Baton run {run_id} wants to call echo with {args}")


async def session_of_a_run(tmp_path: Path):
    engine, host = await start(*workspace(tmp_path, [plan_script(
        classifier=[{"text": "", "delay_ms": 60_000}])]))
    run_id = engine.create("Greet by name")
    ctx = engine.contexts[run_id]
    return engine, host, ctx, engine.workflow.session(ctx, "implementer")


async def call(s: RoleSession, name: str, registry: ToolRegistry = BUILTIN, **args: Any) -> Any:
    tool = registry.get(name)
    assert tool is not None
    return await s.execute(tool, ToolCall(id=f"c-{name}", name=name, arguments=args), tool.parse(args))


async def test_a_write_is_told_to_the_stream_and_named_in_progress(tmp_path: Path) -> None:
    engine, host, ctx, s = await session_of_a_run(tmp_path)
    try:
        ctx.grants.plan_files = ["hello.py"]
        ctx.stream = stream = Stream()
        s.record(Message(role="assistant", tool_calls=[ToolCall(id="c-edit_file", name="edit_file",
                                                                arguments={})]))
        out = await call(s, "edit_file", path="./hello.py", old="def hello():", new="def hello(n):")
        assert out == "edited hello.py" and stream.files == ["hello.py"]
        await s.record_result(ToolResult(call_id="c-edit_file", name="edit_file", content=out))
        assert stream.turns == 1  # the turn's only call is done: its writes go now
        assert ctx.shadow.read("hello.py").startswith("def hello(n):")
        assert (engine.root / "hello.py").read_text().startswith("def hello():")
    finally:
        ctx.stream = None
        await engine.close()


async def answered(s: RoleSession, answer: str, name: str, registry: ToolRegistry = BUILTIN,
                   **args: Any) -> tuple[Pause, Any]:
    """The call pauses for a permission (AskFirst); the person answers, recorded as the
    workflow records it; the call runs again and finds the answer."""
    with pytest.raises(AskFirst) as paused:
        await call(s, name, registry, **args)
    pause = paused.value.pause
    assert pause.options == ["Allow once", "Allow for this run", "Deny"]
    s.recorder.emit(s.ctx, Asked(agent=s.agent, call_id=f"c-{name}", permission=pause.permission,
                                 question=Question(text=pause.question, options=pause.options)))
    s.recorder.emit(s.ctx, Answered(answer=answer))
    return pause, await call(s, name, registry, **args)


async def test_out_of_grant_write_and_command_ask_and_are_refused(tmp_path: Path) -> None:
    engine, host, ctx, s = await session_of_a_run(tmp_path)
    try:
        with pytest.raises(ToolRefused, match="not in this run's write grant"):
            await answered(s, "Deny", "write_file", path="other.py", content="x")
        with pytest.raises(ToolRefused, match="did not allow it"):
            await answered(s, "Deny", "run_command", command="make")
        assert ctx.run.asked_permission is None and ctx.run.pending_answer is None  # used once
        assert [p.subject for p in ctx.run.permissions] == ["other.py", "make"]
        assert not (engine.root / "other.py").exists()
        pause, out = await answered(s, "Allow once", "write_file", path="other.py", content="x")
        assert "`other.py`" in pause.question and out.startswith("created other.py")
    finally:
        await engine.close()


async def test_a_tool_that_asks_is_allowed_for_the_run_durably(tmp_path: Path) -> None:
    ws, config = workspace(tmp_path, [plan_script(classifier=[{"text": "", "delay_ms": 60_000}])])
    engine, host = await start(ws, config)
    run_id = engine.create("Greet by name")
    ctx = engine.contexts[run_id]
    s = engine.workflow.session(ctx, "implementer")
    tools = BUILTIN.with_tools([ECHO])
    with pytest.raises(ToolRefused, match="did not allow mcp__demo__echo"):
        await answered(s, "Deny", "mcp__demo__echo", tools, text="a")
    pause, out = await answered(s, "Allow for this run", "mcp__demo__echo", tools, text="b")
    assert out == "implementer echoed b"
    assert pause.question == "Baton run %s wants to call echo with {'text': 'b'}" % run_id
    assert await call(s, "mcp__demo__echo", tools, text="c") == "implementer echoed c"  # no asking
    await engine.close()
    engine, host = await start(ws, config)  # the person's "for this run" survives a restart
    try:
        assert engine.contexts[run_id].grants.allowed_tools == ["mcp__demo__echo"]
    finally:
        await engine.close()


def test_the_registry_refuses_a_name_taken_and_keeps_the_built_ins() -> None:
    with pytest.raises(ValueError, match="already registered"):
        BUILTIN.with_tools([Tool(name="read_file", description="x", roles=frozenset({"planner"}),
                                 handler=echo, parameters=SCHEMA)])
    extended = BUILTIN.with_tools([ECHO])
    assert BUILTIN.get("mcp__demo__echo") is None and extended.get("mcp__demo__echo") is ECHO
    assert [t.name for t in extended.specs("implementer")][-1] == "mcp__demo__echo"
    assert "mcp__demo__echo" not in [t.name for t in extended.specs("planner")]


async def test_over_the_token_budget_the_run_fails(tmp_path: Path) -> None:
    engine, host, ctx, s = await session_of_a_run(tmp_path)
    try:
        engine.settings.config.limits.run_tokens = 100
        with pytest.raises(RunFailed, match="over its budget of 100"):
            s.record(Message(role="assistant", text="x"), usage=Usage(input_tokens=90, output_tokens=20))
    finally:
        await engine.close()


async def test_a_permission_says_what_it_would_let_through(tmp_path: Path) -> None:
    engine, host, ctx, s = await session_of_a_run(tmp_path)
    try:
        async def pause_of(name: str, registry: ToolRegistry = BUILTIN, **args: Any) -> Pause:
            with pytest.raises(AskFirst) as paused:
                await call(s, name, registry, **args)
            return paused.value.pause
        edit = await pause_of("edit_file", path="hello.py", old="def hello():", new="def hello(n):")
        assert edit.kind == "write" and "-def hello():\n+def hello(n):\n" in (edit.diff or "")
        hidden = await pause_of("write_file", path="new.py", content="x = 1\u202e\n")
        assert "+x = 1\\u202e" in (hidden.diff or "")  # shown as an escape, never interpreted
        assert (await pause_of("delete_file", path="hello.py")).diff.startswith("diff --git")
        command = await pause_of("run_command", command="make test")
        assert command.kind == "command" and command.diff == "make test"
        tool = await pause_of("mcp__demo__echo", BUILTIN.with_tools([ECHO]), text="hi")
        assert tool.kind == "mcp" and tool.diff == 'mcp__demo__echo\n{\n  "text": "hi"\n}'
        huge = await pause_of("write_file", path="big.txt", content="y\n" * 20_000)
        assert len(huge.diff or "") <= 20_000 and "the rest not shown" in (huge.diff or "")
    finally:
        await engine.close()
