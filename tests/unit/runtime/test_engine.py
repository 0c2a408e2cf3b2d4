"""The engine: runs created and resumed, the person's commands refused in the wrong state
and carried out in the right one, the actions a run allows, and a journal written before
the decision events were split (issue 18) read after the upgrade without losing a run."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from baton.config import load_config
from baton.edits.hunks import file_hunks
from baton.errors import UnknownRun, UserInputError, WrongState
from baton.runtime.engine import Engine
from baton.runtime.journal import SCHEMA
from baton.state_dir import Locations

from .harness import HELLO, MemoryHost, plan_script, start, workspace

OLD_JOURNAL = Path(__file__).parents[2] / "data" / "journal_before_issue18"


async def test_a_plan_run_goes_to_done_and_its_change_lands(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        run_id = engine.create("Greet by name")
        notice = await host.state(run_id, "awaiting_approval")
        assert notice.actions == ["accept", "reject", "revise", "steer", "cancel", "followUp"]
        engine.accept(run_id)
        done = await host.state(run_id, "done", "failed")
        assert done.state == "done" and done.actions == ["revert", "followUp"]
        assert (engine.root / "hello.py").read_text().startswith("def hello(name):")
        assert [r["runId"] for r in engine.list()] == [run_id]
        assert engine.list()[0]["actions"] == ["revert", "followUp"]
    finally:
        await engine.close()


async def test_commands_in_the_wrong_state_are_refused_with_what_they_need(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        with pytest.raises(UnknownRun):
            engine.accept("nope")
        with pytest.raises(UserInputError):
            engine.create("   ")
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        with pytest.raises(WrongState, match="Apply changes needs it to be awaiting_apply"):
            engine.apply(run_id)
        with pytest.raises(WrongState, match="a run that applied changes"):
            engine.revert(run_id)
        engine.reject(run_id, "not now")
        with pytest.raises(WrongState, match="not already decided"):
            engine.accept(run_id)  # the first decision stands until the driver takes it
        await host.state(run_id, "rejected")
        with pytest.raises(WrongState, match="still running"):
            engine.steer(run_id, "faster")
        with pytest.raises(WrongState, match="still running"):
            engine.cancel(run_id)
        assert any(line.endswith("you: reject (not now)") for line in engine.show(run_id)["events"])
    finally:
        await engine.close()


async def test_revert_sends_the_inverse_once(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        await host.state(run_id, "done")
        engine.revert(run_id)
        await engine.contexts[run_id].revert_task
        assert (engine.root / "hello.py").read_text() == HELLO
        assert host.last(run_id).actions == ["followUp"]
        with pytest.raises(WrongState, match="already reverted"):
            engine.revert(run_id)
    finally:
        await engine.close()


@pytest.mark.parametrize("apply", [True, False])
async def test_the_last_hunk_settled_ends_the_run(tmp_path: Path, apply: bool) -> None:
    """Review mode: each hunk applied or rejected on its own; with none left, the run is
    done if anything landed, else rejected."""
    engine, host = await start(*workspace(tmp_path, [plan_script()], mode="review"))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        notice = await host.state(run_id, "awaiting_apply")
        assert "apply" in notice.actions and "accept" not in notice.actions
        ctx = engine.contexts[run_id]
        [change] = engine.delivery.pending(ctx)
        [hunk] = file_hunks("hello.py", change.base, change.new)
        settle = engine.apply_hunk if apply else engine.reject_hunk
        assert await settle(run_id, "hello.py", hunk.id) == 0
        assert (await host.state(run_id, "done", "rejected")).state == ("done" if apply else "rejected")
        with pytest.raises(WrongState, match="Apply this hunk needs it to be awaiting_apply"):
            await engine.apply_hunk(run_id, "hello.py", hunk.id)
    finally:
        await engine.close()


async def test_a_run_resumes_after_a_restart_awaiting_what_it_awaited(tmp_path: Path) -> None:
    ws, config = workspace(tmp_path, [plan_script()])
    engine, host = await start(ws, config)
    run_id = engine.create("Greet by name")
    await host.state(run_id, "awaiting_approval")
    await engine.close()
    engine, host = await start(ws, config)
    try:
        await host.state(run_id, "awaiting_approval")  # told again, and shown plan.md
        assert host.shown == [engine.runs_dir / run_id / "plan.md"]
        engine.accept(run_id)
        await host.state(run_id, "done")
    finally:
        await engine.close()


def _old_journal(tmp_path: Path) -> tuple[Path, Path]:
    """The workspace and config a Baton before issue 18 left: its journal rebuilt from the
    rows it wrote (events.jsonl: run, time, kind and the JSON it stored), its run folders,
    where Baton keeps them now (the journal and shadows in the state directory)."""
    ws = tmp_path / "workspace"
    shutil.copytree(OLD_JOURNAL / "workspace", ws)
    shutil.copytree(OLD_JOURNAL / "runs", ws / ".baton" / "runs")
    shutil.copytree(OLD_JOURNAL / "config", tmp_path / "config")
    where = Locations.of(ws)
    where.prepare()
    for shadow in (ws / ".baton" / "runs").glob("*/shadow"):
        where.run_state(shadow.parent.name).mkdir(parents=True)
        shutil.move(shadow, where.run_state(shadow.parent.name) / "shadow")
    db = sqlite3.connect(where.journal)
    db.executescript(SCHEMA)
    rows = [json.loads(line) for line in (OLD_JOURNAL / "events.jsonl").read_text().splitlines()]
    db.executemany("INSERT INTO events(run_id, kind, ts, data) VALUES (?,?,?,?)",
                   [(r["run_id"], r["kind"], r["ts"], json.dumps(r["data"])) for r in rows])
    db.commit()
    db.close()
    return ws, tmp_path / "config" / "config.toml"


async def test_a_journal_written_before_the_upgrade_loses_no_run(tmp_path: Path) -> None:
    """Four runs the old code left: one accepted and holding its change for Apply, one
    revised and awaiting approval again, one rejected, one `ask` run answered."""
    ws, config = _old_journal(tmp_path)
    host = MemoryHost(ws.resolve())
    engine = Engine(ws, load_config(ws, env={"BATON_CONFIG": str(config)}), host)
    await engine.start()
    try:
        runs = {c.run.task.split("[")[-1].rstrip("]"): c.run for c in engine.contexts.values()}
        assert {k: r.state for k, r in runs.items()} == {
            "apply": "awaiting_apply", "revised": "awaiting_approval", "rejected": "rejected",
            "asked": "done"}
        applied, revised = runs["apply"], runs["revised"]
        assert applied.accepted_plan and "Greet by name (apply)" in applied.accepted_plan
        assert revised.accepted_plan is None
        assert "answerer" in runs["asked"].usage and "planner" not in runs["asked"].usage
        assert any("you: revise (say hello to the name)" in line
                   for line in engine.show(revised.id)["events"])
        await host.state(applied.id, "awaiting_apply")
        engine.apply(applied.id)
        await host.state(applied.id, "done")
        assert (ws / "hello.py").read_text().startswith("def hello(name):")
        engine.accept(revised.id)
        notice = await host.state(revised.id, "awaiting_apply", "done")
        if notice.state == "awaiting_apply":
            engine.apply(revised.id)
            await host.state(revised.id, "done")
    finally:
        await engine.close()


OUT_OF_GRANT = [{"tool_calls": [{"name": "write_file", "arguments": {"path": "notes.txt",
                                                                     "content": "a note\n"}}]},
                {"tool_calls": [{"name": "edit_file", "arguments": {
                    "path": "hello.py", "old": "def hello():", "new": "def hello(name):"}}]},
                {"tool_calls": [{"name": "finish", "arguments": {"summary": "Greets by name"}}]}]


async def test_a_permission_waits_with_what_it_would_write_and_is_answered_by_its_id(tmp_path: Path) -> None:
    ws, config = workspace(tmp_path, [plan_script(implementer=OUT_OF_GRANT)])
    engine, host = await start(ws, config)
    host.permission = None  # the editor's prompt is closed unanswered: it waits for a command
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        asked = await host.state(run_id, "awaiting_input")
        permission = asked.permission
        assert permission is not None and permission.kind == "write"
        assert permission.options == ["Allow once", "Allow for this run", "Deny"]
        assert "+a note" in (permission.diff or "") and "notes.txt" in permission.text
        assert asked.question is not None and asked.question.text == permission.text
        assert "answer_permission" in asked.actions and asked.createdAt == engine.contexts[run_id].run.created_at
        with pytest.raises(WrongState, match="no longer asked"):
            engine.answer_permission(run_id, "0" * 16, "Allow once")
        with pytest.raises(UserInputError, match="answer with one of"):
            engine.answer_permission(run_id, permission.id, "sure")
        engine.answer_permission(run_id, permission.id, "allow once")
        done = await host.state(run_id, "done", "failed")
        assert done.state == "done" and done.permission is None
        assert (engine.root / "notes.txt").read_text() == "a note\n"
        with pytest.raises(WrongState, match="no longer asked"):
            engine.answer_permission(run_id, permission.id, "Allow once")  # a stale prompt
        assert done.summary is not None and done.summary.text == "Greets by name"
        assert done.summary.files == ["hello.py", "notes.txt"]
        assert done.summary.verdict == "approve" and done.summary.findings == 0
        assert engine.list()[0]["summary"]["files"] == ["hello.py", "notes.txt"]
        assert engine.show(run_id)["summary"]["text"] == "Greets by name"
    finally:
        await engine.close()


async def test_a_permission_asked_again_after_a_restart_keeps_its_id(tmp_path: Path) -> None:
    ws, config = workspace(tmp_path, [plan_script(implementer=OUT_OF_GRANT)])
    engine, host = await start(ws, config)
    host.permission = None
    run_id = engine.create("Greet by name")
    await host.state(run_id, "awaiting_approval")
    engine.accept(run_id)
    before = (await host.state(run_id, "awaiting_input")).permission
    assert before is not None
    assert (await host.state(run_id, "awaiting_input")).summary is None  # nothing done yet
    await engine.close()
    engine, host = await start(ws, config)
    host.permission = None
    try:
        again = (await host.state(run_id, "awaiting_input")).permission
        assert again is not None and again.id == before.id and again.diff == before.diff
        engine.answer_permission(run_id, again.id, "Deny")
        done = await host.state(run_id, "done", "failed")
        assert not (engine.root / "notes.txt").exists() and done.summary is not None
    finally:
        await engine.close()


# -- a configuration that does not load (issue 20): runs wait, never fail or run on defaults --

PROBLEM = "config.toml:2: edit: unknown table; did you mean \"edits\"?"
WAITS = "waiting for a valid configuration"


def waited(host: MemoryHost, run_id: str) -> list[str]:
    return [n.state for n in host.notices if n.runId == run_id and WAITS in (n.reason or "")]


async def test_a_held_engine_starts_no_step_and_a_reload_lets_runs_go_on(tmp_path: Path) -> None:
    ws, cfg = workspace(tmp_path, [plan_script()])
    engine, host = await start(ws, cfg)
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.hold(PROBLEM)
        engine.accept(run_id)  # (the editor's accept is refused before this: lsp/commands.py)
        await host.wait_for(lambda: waited(host, run_id))
        assert waited(host, run_id) == ["implementing"] and PROBLEM in host.last(run_id).reason
        assert host.edits == [] and (ws / "hello.py").read_text() == HELLO
        engine.hold(PROBLEM + " (again)")  # another mistake: said, still waiting
        await host.wait_for(lambda: len(waited(host, run_id)) == 2)
        engine.reconfigure(load_config(ws, env={"BATON_CONFIG": str(cfg)}))
        assert (await host.state(run_id, "done", "failed")).state == "done"
        assert (ws / "hello.py").read_text().startswith("def hello(name):")
    finally:
        await engine.close()


async def test_a_run_waiting_for_the_configuration_can_be_cancelled(tmp_path: Path) -> None:
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        engine.hold(PROBLEM)
        run_id = engine.create("Greet by name")
        await host.wait_for(lambda: waited(host, run_id))
        engine.cancel(run_id)
        assert (await host.state(run_id, "cancelled", "failed")).state == "cancelled"
    finally:
        await engine.close()


async def test_reconfiguring_often_keeps_every_key_redacted_at_a_constant_cost(tmp_path: Path,
                                                                              monkeypatch) -> None:
    """A repository flipping its file makes the engine reconfigure again and again: the
    redactor stays one function over the keys ever seen (it was a chain of closures, one
    more per reload, until redacting overflowed the stack)."""
    from baton.config import Config
    monkeypatch.setenv("BATON_TEST_OLD_KEY", "sk-old-0123456789")
    engine, host = await start(*workspace(tmp_path, [plan_script()]))
    try:
        engine.reconfigure(Config.model_validate({"providers": {"old": {
            "kind": "anthropic", "api_key_env": "BATON_TEST_OLD_KEY"}}}))
        plain = Config.model_validate({"providers": {"offline": {"kind": "scripted"}}})
        for _ in range(3000):
            engine.reconfigure(plain)
        assert engine.recorder.redact("key sk-old-0123456789") == "key [redacted]"
        assert engine.journal.redact is engine.recorder.redact
    finally:
        await engine.close()


async def test_a_reload_gives_runs_under_way_its_permissions_and_limits(tmp_path: Path) -> None:
    """A run resumed while the files did not load was built on empty settings: once they
    load, it works under the person's [permissions] and [limits], not those."""
    ws, cfg = workspace(tmp_path, [plan_script()])
    engine, host = await start(ws, cfg)
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        ctx = engine.get(run_id)
        assert not ctx.grants.allows("docs/notes.md") and not ctx.grants.allows_command("make lint")
        cfg.write_text(cfg.read_text() + '[permissions]\nwrite = ["docs/**"]\ncommands = ["make"]\n'
                       '[limits]\nshadow_max_files = 7\n')
        engine.reconfigure(load_config(ws, env={"BATON_CONFIG": str(cfg)}))
        assert ctx.grants.allows("docs/notes.md") and ctx.grants.allows_command("make lint")
        assert ctx.shadow.limits.shadow_max_files == 7
    finally:
        await engine.close()
