"""MCP tools through `baton serve` (issue 16): a scripted provider calls
`mcp__demo__<tool>` on the demo server (tests/unit/mcp/demo_server.py, the SDK's
MCPServer) configured in [mcp.servers]; the server runs in the run's sandbox."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .conftest import plan_script, turn

DEMO = Path(__file__).parents[1] / "unit" / "mcp" / "demo_server.py"


def mcp_config(allow: list[str]) -> str:
    return (f'[mcp.servers.demo]\ncommand = [{json.dumps(sys.executable)}, {json.dumps(str(DEMO))}]\n'
            f"allow = {json.dumps(allow)}\n")


def transcript(root: Path, run_id: str) -> list[dict]:
    path = root / ".baton" / "runs" / run_id / "transcript.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def results(root: Path, run_id: str, tool: str) -> list[str]:
    return [e["result"]["content"] for e in transcript(root, run_id)
            if e["kind"] == "tool" and e["result"]["name"] == tool]


async def test_planner_calls_an_allowed_read_only_tool_without_a_prompt(make_editor):
    planner = [turn(("mcp__demo__echo", {"text": "hi"})),
               turn(("submit_plan", {"summary": "s", "steps": ["s"], "files": ["hello.py"]}))]
    ed = await make_editor(plan_script(planner=planner), extra_config=mcp_config(["echo"]))
    run_id = await ed.run("Look around", route="plan")
    await ed.wait_state(run_id, "awaiting_approval")
    assert results(ed.root, run_id, "mcp__demo__echo") == ["echo: hi"]
    assert ed.prompts == []


async def test_implementer_write_asks_arrives_as_an_edit_and_reverts(make_editor):
    implementer = [turn(("mcp__demo__write_note", {"name": "note.txt", "text": "from mcp\n"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer, files=["note.txt"]),
                           extra_config=mcp_config(["echo"]))
    ed.answer_prompt = lambda p: "Allow once" if "write_note" in p.message else None
    run_id = await ed.run("Write a note", route="plan")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    [prompt] = [p for p in ed.prompts if "write_note" in p.message]
    assert "MCP server `demo`" in prompt.message and "not read-only" in prompt.message
    assert [a.title for a in prompt.actions] == ["Allow once", "Allow for this run", "Deny"]
    assert (ed.root / "note.txt").read_text() == "from mcp\n"  # delivered through applyEdit
    kinds = [e["kind"] for e in transcript(ed.root, run_id)]
    assert "permission" in kinds
    await ed.command("baton.run.revert", {"runId": run_id})
    await ed.wait_for(lambda: not (ed.root / "note.txt").exists(), "the revert")


async def test_the_escaping_tool_stays_in_the_sandbox(make_editor, tmp_path):
    target = tmp_path / "escaped.txt"
    implementer = [turn(("mcp__demo__escape", {"path": str(target)})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer), extra_config=mcp_config(["escape"]))
    run_id = await ed.run("Escape", route="plan")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    [out] = results(ed.root, run_id, "mcp__demo__escape")
    assert "connect: refused" in out and not target.exists()


async def test_a_restart_mid_run_does_not_repeat_a_completed_call(make_editor):
    implementer = [turn(("mcp__demo__append", {"name": "log.txt", "line": "once"})),
                   turn(("read_file", {"path": "hello.py"}), delay_ms=4000),
                   turn(("finish", {"summary": "done"}))]
    # Review mode: nothing is delivered while the implementer works, so the daemon dies
    # between two steps of the run, not in the middle of an edit.
    ed = await make_editor(plan_script(implementer=implementer, files=["log.txt"]),
                           extra_config=mcp_config(["append"]) + '[edits]\nmode = "review"\n')
    run_id = await ed.run("Append once", route="plan")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_for(lambda: results(ed.root, run_id, "mcp__demo__append"), "the append")
    ed = await make_editor.restart(ed)
    await ed.wait_state(run_id, "awaiting_apply", timeout=60)
    await ed.command("baton.edits.apply", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert results(ed.root, run_id, "mcp__demo__append") == ["appended to log.txt\n"
                                                             "files changed (now part of your changes): log.txt"]
    assert (ed.root / "log.txt").read_text() == "once\n"


async def test_a_servers_question_and_progress_go_through_the_run(make_editor):
    """Elicitation takes the question path of ask_user (awaiting_input, baton.run.answer),
    the call goes on with the answer, and the answer is not reused by a later question;
    the server's progress is the run's."""
    implementer = [turn(("mcp__demo__ask_name", {})),
                   turn(("mcp__demo__count", {"steps": 3})),
                   turn(("ask_user", {"question": "Anything else?"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(implementer=implementer),
                           extra_config=mcp_config(["ask_name", "count"]))
    run_id = await ed.run("Ask me", route="plan")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    notice = await ed.wait_state(run_id, "awaiting_input")
    assert notice["question"]["text"].startswith("The MCP server demo asks: Which name should I use?")
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "Ada"})
    await ed.wait_for(lambda: ed.states(run_id).count("awaiting_input") == 2, "the agent's own question")
    assert results(ed.root, run_id, "mcp__demo__ask_name") == ["hello Ada"]
    assert results(ed.root, run_id, "mcp__demo__count") == ["counted 3"]
    token = f"baton-run-{run_id}"
    assert any("implementer: demo 1/3: step 1" in m for tok, _, m in ed.progress if tok == token)
    await ed.command("baton.run.answer", {"runId": run_id, "answer": "no"})
    await ed.wait_state(run_id, "done")
