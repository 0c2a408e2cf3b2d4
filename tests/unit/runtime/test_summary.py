"""What a run did, said once (runtime/summary.py): nothing while it works, the finish
summary, files, verdict and findings once it did something, its text redacted and shown
as text."""

from __future__ import annotations

from pathlib import Path

from baton.runtime.summary import summary

from .harness import plan_script, start, turn, workspace

FINISH = turn("finish", {"summary": "Greets by name with sk-SECRET-1234\u202e"})
FINDING = {"path": "hello.py", "line": 1, "message": "name is unused", "severity": "warning"}


async def test_a_summary_once_the_run_did_something(tmp_path: Path) -> None:
    script = plan_script(implementer=[plan_script()["implementer"][0], FINISH],
                         reviewer=[turn("submit_review", {"verdict": "approve", "findings": [FINDING]})])
    engine, host = await start(*workspace(tmp_path, [script]))
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        ctx = engine.contexts[run_id]
        assert summary(ctx) is None
        engine.accept(run_id)
        await host.state(run_id, "done")
        said = summary(ctx, lambda s: s.replace("sk-SECRET-1234", "[redacted]"))
        assert said is not None
        assert said.text == "Greets by name with [redacted]\\u202e"
        assert (said.files, said.verdict, said.findings) == (["hello.py"], "approve", 1)
    finally:
        await engine.close()
