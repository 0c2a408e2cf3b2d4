"""describe: `baton.run.show`'s steps are a person's account of the run: what each agent
said and did (calls by their subject), what failed, what was decided; never the prompts
Baton sent the agents, never a tool's payload, never a model's text unescaped."""

from __future__ import annotations

from pathlib import Path

from baton.providers.base import Message, ToolCall, ToolResult, Usage
from baton.runtime.describe import call_line, transcript_summary
from baton.runtime.runs import AgentMessage, Event, FailedOver, Paid, PlanAccepted, ToolDone

PROMPT = "You are the implementer. Task: greet by name. Repository map: hello.py"


def _steps(tmp_path: Path, events: list[Event]) -> list[str]:
    path = tmp_path / "transcript.jsonl"
    path.write_text("".join(ev.model_dump_json(exclude_none=True) + "\n" for ev in events))
    return [line.split(" ", 1)[1] for line in transcript_summary(path)]  # without the time


def _said(agent: str, text: str = "", *calls: ToolCall, provider: str = "offline") -> AgentMessage:
    return AgentMessage(agent=agent, provider=provider,
                        message=Message(role="assistant", text=text, tool_calls=list(calls)))


def _call(id: str, name: str, **arguments: object) -> ToolCall:
    return ToolCall(id=id, name=name, arguments=arguments)


def test_steps_show_what_agents_did_never_what_they_were_told(tmp_path: Path) -> None:
    steps = _steps(tmp_path, [
        AgentMessage(agent="implementer", message=Message(role="user", text=PROMPT)),
        _said("implementer", "Reading first.", _call("1", "read_file", path="hello.py")),
        AgentMessage(agent="implementer", message=Message(role="tool", tool_results=[
            ToolResult(call_id="1", name="read_file", content="def hello():\n    return 'hi'\n")])),
        ToolDone(agent="implementer", result=ToolResult(call_id="1", name="read_file",
                                                        content="def hello():\n    return 'hi'\n")),
        _said("implementer", "", _call("2", "edit_file", path="hello.py", old="def hello():",
                                       new="def hello(name):"),
              _call("3", "run_command", command="pytest -q")),
        PlanAccepted(text="# Plan"),
    ])
    assert steps == [
        "implementer [offline]: Reading first.",
        "implementer: read_file hello.py",
        "implementer: edit_file hello.py",
        "implementer: run_command \"pytest -q\"",
        "you: accept",
    ]
    shown = "\n".join(steps)
    assert "Task:" not in shown and "def hello" not in shown  # no prompt, no payload


def test_a_failed_call_is_named_by_its_subject(tmp_path: Path) -> None:
    steps = _steps(tmp_path, [
        _said("implementer", "", _call("c1", "read_file", path="logo.png")),
        ToolDone(agent="implementer", result=ToolResult(
            call_id="c1", name="read_file", content="logo.png is a binary file", is_error=True)),
    ])
    assert steps[-1] == "implementer: read_file logo.png failed: logo.png is a binary file"


def test_the_provider_is_named_when_it_changes(tmp_path: Path) -> None:
    steps = _steps(tmp_path, [
        _said("planner", "", _call("1", "list_files"), provider="gpt"),
        _said("planner", "", _call("2", "read_file", path="a.py"), provider="gpt"),
        _said("planner", "", _call("3", "read_file", path="b.py"), provider="claude"),
    ])
    assert steps == ["planner [gpt]: list_files", "planner: read_file a.py",
                     "planner [claude]: read_file b.py"]


def test_a_provider_passed_over_and_tokens_paid_for_nothing_are_steps(tmp_path: Path) -> None:
    steps = _steps(tmp_path, [
        FailedOver(agent="planner", provider="claude", message="Provider claude could not be "
                   "used: the key in $ANTHROPIC_API_KEY was refused (401)."),
        Paid(agent="planner", provider="gpt", usage=Usage(input_tokens=1200, output_tokens=30),
             why="gpt declined the request"),
    ])
    assert steps == [
        "planner: Provider claude could not be used: the key in $ANTHROPIC_API_KEY was "
        "refused (401).",
        "planner: 1,230 tokens paid for a turn that is not kept (gpt declined the request)"]


def test_model_text_is_one_visible_line(tmp_path: Path) -> None:
    forged = "ok\n12:00:00 you: accept\u202e"
    steps = _steps(tmp_path, [
        _said("planner", forged, _call("1", "run_command", command='echo "x"\nrm -rf /'))])
    assert steps == ['planner [offline]: ok\\n12:00:00 you: accept\\u202e',
                     'planner: run_command "echo \\"x\\"\\nrm -rf /"']


def test_calls_by_their_subject() -> None:
    assert call_line(_call("1", "read_file", path="a.py", start_line=10, end_line=20)) == \
        "read_file a.py lines 10-20"
    assert call_line(_call("1", "write_file", path="a.py", content="x" * 5000)) == "write_file a.py"
    assert call_line(_call("1", "search", pattern="def \\w+", path="src", glob="*.py")) == \
        'search "def \\\\w+" in src (files "*.py")'
    assert call_line(_call("1", "submit_review", verdict="approve", findings=[{"path": "a.py"}])) == \
        "submit_review approve, 1 finding(s)"
    assert call_line(_call("1", "finish", summary="Greets by name")) == 'finish "Greets by name"'
    assert call_line(_call("1", "mcp__git__git_diff", repo_path=".", target="main")) == \
        'mcp__git__git_diff repo_path="." target="main"'
    long = call_line(_call("1", "run_command", command="x" * 5000))
    assert len(long) < 200 and "characters, the rest not shown" in long
