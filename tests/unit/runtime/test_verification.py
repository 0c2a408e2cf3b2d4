"""The verifying state in an in-process engine (harness.py): rounds back to the implementer,
then on to review with the evidence; an edit route's proposal carries it; verification
time counts against the run's time budget. The commands are small shell checks."""

from __future__ import annotations

import json

from baton.runtime.runs import State

from .harness import plan_script, start, turn, workspace

# Fails once hello.py takes a name (the implementer's change); passes on the base.
CHECK = "! grep -q 'hello(name)' hello.py"
EDIT = turn("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})


def verify(*commands: str, rounds: int = 2, extra: str = "") -> str:
    return f"\n[verify]\ncommands = {json.dumps(list(commands))}\nrounds = {rounds}\n{extra}"


async def test_new_failures_go_back_at_most_rounds_times_then_on_to_review(tmp_path):
    implementer = [EDIT, turn("finish", {"summary": "done"}),
                   turn("edit_file", {"path": "hello.py", "old": '"hello"', "new": '"hi"'}),
                   turn("finish", {"summary": "still takes a name"})]
    ws, config = workspace(tmp_path, [plan_script(implementer=implementer)],
                           extra=verify(CHECK, rounds=1))
    engine, host = await start(ws, config)
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, State.AWAITING_APPROVAL)
        engine.accept(run_id)
        done = await host.state(run_id, State.DONE, State.FAILED, timeout=60)
        run = engine.contexts[run_id].run
        assert host.states(run_id)[-6:] == ["implementing", "verifying", "implementing",
                                             "verifying", "reviewing", "done"]
        assert [v.sent_back for v in run.verifications] == [True, False]
        assert done.verify is not None and not done.verify.passed
        assert done.verify.summary.startswith("1 new failure: ")
        told = [m.text for m in run.conversations["implementer"] if m.role == "user"]
        assert told[-1].startswith("Verification found 1 new failure")
        briefing = run.conversations["reviewer"][0].text
        assert "Verification did not pass: 1 new failure" in briefing
        sides = [(o.command, o.side) for o in run.verify_outcomes]
        # The base ran once: the second round's (the same files) came from the cache.
        assert sides == [(CHECK, "change"), (CHECK, "base"), (CHECK, "change")]
    finally:
        await engine.close()


async def test_an_edit_routes_proposal_carries_the_verification(tmp_path):
    ws, config = workspace(tmp_path, [plan_script(route="edit", implementer=[
        EDIT, turn("finish", {"summary": "takes a name"})])], extra=verify("true"))
    engine, host = await start(ws, config)
    try:
        run_id = engine.create("Greet by name", uri=(ws / "hello.py").resolve().as_uri())
        notice = await host.state(run_id, State.AWAITING_APPROVAL, timeout=60)
        assert host.states(run_id)[-3:] == ["implementing", "verifying", "awaiting_approval"]
        assert notice.verify is not None and notice.verify.passed
        plan = (engine.contexts[run_id].folder / "plan.md").read_text()
        assert "# Proposed change: takes a name" in plan
        assert "**Verification passed: \\`true\\` passed**" in plan  # escaped: data, not Markdown
    finally:
        await engine.close()


async def test_verification_time_counts_against_the_run(tmp_path):
    """`[limits] run_seconds`: a hung verify command is cut at the run's deadline, the base is
    not started without time left, and the run ends failed, over its budget."""
    implementer = [EDIT, turn("finish", {"summary": "done"}), turn("finish", {"summary": "again"})]
    ws, config = workspace(tmp_path, [plan_script(implementer=implementer)],
                           extra=verify("sleep 30", extra="timeout_s = 60")
                           + "\n[limits]\nrun_seconds = 2.5\n")
    engine, host = await start(ws, config)
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, State.AWAITING_APPROVAL)
        engine.accept(run_id)
        failed = await host.state(run_id, State.FAILED, State.DONE, timeout=30)
        assert failed.state == State.FAILED
        assert "over its budget" in failed.error and "run_seconds" in failed.error
        run = engine.contexts[run_id].run
        [change] = run.verify_outcomes  # the base was never started
        assert change.timed_out and change.duration_s < 5
    finally:
        await engine.close()
