"""A client that answers a server request after Baton stopped waiting for it."""

from __future__ import annotations

import asyncio

from .conftest import plan_script, turn


async def test_late_answer_to_a_prompt_is_ignored_without_an_error(make_editor):
    implementer = [turn(("write_file", {"path": "other.py", "content": "x = 1\n"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["hello.py"], implementer=implementer),
                           extra_config="[limits]\nclient_request_timeout_s = 0.3\n")
    ed.answer_prompt = lambda p: "Allow once"
    ed.prompt_delay_s = 1.0
    run_id = await ed.run("write somewhere else")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.prompts, "the write outside the plan asked"
    assert not (ed.root / "other.py").exists()  # no answer in time means deny
    await asyncio.sleep(1.0)  # the answer arrives after Baton gave up on it
    runs = await ed.command("baton.runs", {})
    assert any(r["runId"] == run_id for r in runs)
    errors = [m.message for m in ed.client.messages if m.type == 1]
    assert not errors, errors
