"""RunServers with a real MCP server (demo_server.py, on the SDK's MCPServer) in the run's
sandbox, on each isolation layer: what it sees, what its writes become, what it cannot do,
and how its questions, progress, failures and end reach Baton."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from baton.config import McpServerConfig
from baton.mcp import servers
from baton.mcp.registered import MCP_BOUND
from baton.mcp.servers import RunServers
from baton.sandbox.shadow import Shadow

from .conftest import DEMO, demo, processes_with


async def started(shadow: Shadow, layer: str | None = None, **kw: object) -> RunServers:
    rs = RunServers({"demo": demo(**kw)}, shadow, layer=layer)  # type: ignore[arg-type]
    tools = await rs.tools("planner")
    assert tools, rs.problems
    return rs


async def test_tools_are_named_and_described_for_models(shadow: Shadow) -> None:
    rs = await started(shadow, allow=["echo", "count*"])
    try:
        tools = {t.name: t for t in await rs.tools("implementer")}
        assert {"mcp__demo__echo", "mcp__demo__write_note", "mcp__demo__ask_name"} <= set(tools)
        echo = tools["mcp__demo__echo"]
        assert echo.allowed and echo.read_only is True and echo.tool == "echo"
        assert echo.parameters["type"] == "object" and "text" in echo.parameters["properties"]
        assert echo.description.startswith("[MCP server demo] Say the text back")
        assert tools["mcp__demo__count"].allowed
        assert not tools["mcp__demo__write_note"].allowed
        assert "not destructive" in tools["mcp__demo__write_note"].hints()
        assert await rs.tools("classifier") == []  # the default roles leave it out
        out = await rs.call("mcp__demo__echo", {"text": "hi"})
        assert (out.text, out.is_error) == ("echo: hi", False)
    finally:
        await rs.stop()


async def test_writes_land_in_the_shadow_never_the_workspace(ws: Path, shadow: Shadow, layer: str) -> None:
    rs = await started(shadow, layer)
    try:
        out = await rs.call("mcp__demo__write_note", {"name": "src/new.txt", "text": "from mcp\n"},
                            may_write=lambda rel: rel.startswith("src/"))
        assert not out.is_error, out.text
        assert out.changed == ["src/new.txt"] and "now part of your changes" in out.text
        assert shadow.read("src/new.txt") == "from mcp\n"
        assert not (ws / "src" / "new.txt").exists()
        out = await rs.call("mcp__demo__write_note", {"name": "notes.txt", "text": "overwritten\n"},
                            may_write=lambda rel: rel.startswith("src/"))
        assert out.denied == ["notes.txt"] and "outside the write grant" in out.text
        assert shadow.read("notes.txt") == "live\n"
        assert (ws / "notes.txt").read_text() == "live\n"
    finally:
        await rs.stop()


async def test_the_server_sees_the_agents_changes_between_calls(ws: Path, shadow: Shadow, layer: str) -> None:
    rs = await started(shadow, layer)
    try:
        assert (await rs.call("mcp__demo__read_note", {"name": "notes.txt"})).text == "live\n"
        shadow.write("notes.txt", "agent's\n")
        shadow.write("src/made.py", "x = 1\n")
        assert (await rs.call("mcp__demo__read_note", {"name": "notes.txt"})).text == "agent's\n"
        assert (await rs.call("mcp__demo__read_note", {"name": "src/made.py"})).text == "x = 1\n"
        shadow.delete("src/app.py")
        out = await rs.call("mcp__demo__read_note", {"name": "src/app.py"})
        assert out.is_error  # the file the agent deleted is gone from the server's view too
        # The person's own edit of a file the run did not touch shows through.
        (ws / "src" / "other.py").write_text("mine\n")
        assert (await rs.call("mcp__demo__read_note", {"name": "src/other.py"})).text == "mine\n"
        assert {c.path for c in shadow.changes()} == {"notes.txt", "src/made.py", "src/app.py"}
    finally:
        await rs.stop()


async def test_no_network_no_writes_outside_no_secrets(tmp_path: Path, shadow: Shadow, layer: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-NEVER")
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-NEVER")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    rs = RunServers({"demo": demo(env={"DEMO_SETTING": "on"})}, shadow, layer=layer,  # type: ignore[arg-type]
                    provider_keys=["ANTHROPIC_API_KEY"])
    target = tmp_path / "escaped.txt"
    try:
        out = await rs.call("mcp__demo__escape", {"path": str(target), "port": port}) \
            if await rs.tools("planner") else None
        assert out is not None and not out.is_error, rs.problems
        assert "connect: refused" in out.text
        assert "DEMO_SETTING" in out.text
        assert "ANTHROPIC_API_KEY" not in out.text and "SOME_SERVICE_TOKEN" not in out.text
        assert not target.exists()
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
        await rs.stop()


async def test_network_true_lets_it_connect(shadow: Shadow, layer: str, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    rs = RunServers({"demo": demo(network=True)}, shadow, layer=layer)  # type: ignore[arg-type]
    try:
        await rs.tools("planner")
        out = await rs.call("mcp__demo__escape", {"path": str(tmp_path / "x"),
                                                  "port": listener.getsockname()[1]})
        assert "connect: done" in out.text, out.text
    finally:
        listener.close()
        await rs.stop()


async def test_elicitation_goes_to_the_question_path(shadow: Shadow) -> None:
    rs = await started(shadow)
    asked: list[tuple[str, list[str] | None]] = []

    def answering(reply: str | None):
        async def ask(text: str, options: list[str] | None) -> str | None:
            asked.append((text, options))
            return reply
        return ask
    try:
        out = await rs.call("mcp__demo__ask_name", {}, ask=answering("Ada"))
        assert out.text == "hello Ada"
        assert asked[0][0].startswith("The MCP server demo asks: Which name should I use?")
        assert (await rs.call("mcp__demo__ask_name", {}, ask=answering("decline"))).text == "no name (decline)"
        assert (await rs.call("mcp__demo__ask_name", {}, ask=answering(None))).text == "no name (cancel)"
        # Without a question path (no person to ask), the server is told no.
        assert (await rs.call("mcp__demo__ask_name", {})).text == "no name (decline)"
    finally:
        await rs.stop()


async def test_progress_reaches_the_callback(shadow: Shadow) -> None:
    rs = await started(shadow)
    seen: list[str] = []
    try:
        out = await rs.call("mcp__demo__count", {"steps": 3}, progress=seen.append)
        assert out.text == "counted 3"
        assert seen and seen[0].startswith("demo 1/3: step 1")
    finally:
        await rs.stop()


async def test_a_huge_result_is_bounded(shadow: Shadow) -> None:
    rs = await started(shadow)
    try:
        out = await rs.call("mcp__demo__huge", {"size": 3_000_000})
        # Whole from the server; bounded on its way to the model (tools/registry.py).
        shown = MCP_BOUND.apply(out.text)
        assert len(out.text) >= 3_000_000 and len(shown) < 33_000 and "left out" in shown
    finally:
        await rs.stop()


async def test_a_crash_is_a_tool_error_and_the_server_comes_back(shadow: Shadow, layer: str) -> None:
    rs = await started(shadow, layer)
    try:
        out = await rs.call("mcp__demo__crash", {})
        assert out.is_error and "exit status 3" in out.text and "crashing on purpose" in out.text
        assert (await rs.call("mcp__demo__echo", {"text": "again"})).text == "echo: again"
    finally:
        await rs.stop()


async def test_a_server_that_keeps_crashing_is_given_up(shadow: Shadow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "MAX_STARTS", 2)
    rs = await started(shadow)
    try:
        for _ in range(2):
            assert (await rs.call("mcp__demo__crash", {})).is_error
        out = await rs.call("mcp__demo__echo", {"text": "x"})
        assert out.is_error and "not available" in out.text
    finally:
        await rs.stop()


async def test_a_call_without_an_answer_times_out(shadow: Shadow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "CALL_TIMEOUT_S", 1.0)
    rs = await started(shadow)
    try:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        out = await rs.call("mcp__demo__hang", {})
        assert out.is_error and "did not answer within 1 s" in out.text
        assert loop.time() - t0 < 5
        assert (await rs.call("mcp__demo__echo", {"text": "still"})).text == "echo: still"
    finally:
        await rs.stop()


async def test_stop_ends_the_server_and_everything_it_started(shadow: Shadow, layer: str) -> None:
    rs = await started(shadow, layer)
    assert processes_with(str(DEMO))
    await rs.stop()
    for _ in range(50):
        if not processes_with(str(DEMO)):
            break
        await asyncio.sleep(0.1)
    assert processes_with(str(DEMO)) == []
    # It starts again on the next use.
    assert (await rs.call("mcp__demo__echo", {"text": "back"})).text == "echo: back"
    await rs.stop()


async def test_a_server_that_cannot_start_is_a_problem_not_a_failure(shadow: Shadow) -> None:
    rs = RunServers({"gone": McpServerConfig(command=["/nonexistent/mcp-server"]),
                     "demo": demo()}, shadow)
    try:
        tools = await rs.tools("planner")
        assert {t.server for t in tools} == {"demo"}
        assert "gone" in rs.problems
    finally:
        await rs.stop()


def _git(ws: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          cwd=ws, check=True, capture_output=True, text=True).stdout


async def test_mcp_server_git_over_a_test_repository(ws: Path, shadow: Shadow, layer: str) -> None:
    """The real server from PyPI: reads work, and the real repository never changes."""
    _git(ws, "init", "-q")
    _git(ws, "add", "-A")
    _git(ws, "commit", "-q", "-m", "init")
    (ws / "notes.txt").write_text("changed by the person\n")
    shadow.write("src/agent.py", "made = True\n")
    exe = str(Path(sys.executable).with_name("mcp-server-git"))
    rs = RunServers({"git": McpServerConfig(command=[exe, "--repository", "."],
                                            allow=["git_status", "git_diff*"])}, shadow, layer=layer)
    try:
        tools = {t.name: t for t in await rs.tools("reviewer")}
        assert rs.problems == {}
        assert tools["mcp__git__git_status"].allowed and tools["mcp__git__git_diff_unstaged"].allowed
        assert not tools["mcp__git__git_commit"].allowed
        status = await rs.call("mcp__git__git_status", {"repo_path": "."})
        assert "modified:   notes.txt" in status.text and "src/agent.py" in status.text
        diff = await rs.call("mcp__git__git_diff_unstaged", {"repo_path": "."})
        assert "+changed by the person" in diff.text
        await rs.call("mcp__git__git_add", {"repo_path": ".", "files": ["notes.txt"]})
        await rs.call("mcp__git__git_commit", {"repo_path": ".", "message": "from the server"})
    finally:
        await rs.stop()
    # .git is read-only under bwrap and a copy under Landlock: the repository is as it was.
    assert "from the server" not in _git(ws, "log", "--format=%s")
    assert _git(ws, "status", "--porcelain", "--untracked-files=no").splitlines() == [" M notes.txt"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_streamable_http_server_on_this_machine(shadow: Shadow) -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, str(DEMO), "--http", str(port),
                                                stderr=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        rs = RunServers({"web": McpServerConfig(url=f"http://127.0.0.1:{port}/mcp")}, shadow)
        try:
            tools = await rs.tools("planner")
            assert "mcp__web__echo" in {t.name for t in tools}, rs.problems
            assert (await rs.call("mcp__web__echo", {"text": "over http"})).text == "echo: over http"
            seen: list[str] = []
            await rs.call("mcp__web__count", {"steps": 2}, progress=seen.append)
            assert seen
        finally:
            await rs.stop()
    finally:
        proc.kill()
        await proc.wait()


@pytest.mark.parametrize("url", ["http://example.com/mcp", "http://10.0.0.1:80/mcp",
                                 "http://127.0.0.1.example.com/mcp", "file:///etc/passwd",
                                 "http://localhost.example.com/mcp"])
async def test_an_http_server_elsewhere_needs_network_true(shadow: Shadow, url: str) -> None:
    rs = RunServers({"far": McpServerConfig(url=url)}, shadow)
    assert await rs.tools("planner") == []
    assert "far" in rs.problems
    assert "network = true" in rs.problems["far"] or "not an http(s) address" in rs.problems["far"]
