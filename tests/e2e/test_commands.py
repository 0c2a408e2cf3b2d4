"""run_command end to end: isolated on the shadow, its file changes delivered like edits."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import plan_script, turn

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap is not installed (scripts/setup installs it)")


def results(root, run_id):
    lines = (root / ".baton" / "runs" / run_id / "transcript.jsonl").read_text().splitlines()
    return [json.loads(x)["result"] for x in lines if json.loads(x)["kind"] == "tool"]


async def test_allowed_command_changes_become_run_changes(make_editor):
    implementer = [
        turn(("run_command", {"command": "python3 -c \"open('gen.txt','w').write('made by a command\\n')\""})),
        turn(("finish", {"summary": "generated"}))]
    ed = await make_editor(plan_script(files=["gen.txt"], implementer=implementer),
                           extra_config='[permissions]\ncommands = ["python3"]\n')
    run_id = await ed.run("generate a file")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    out = [r for r in results(ed.root, run_id) if r["name"] == "run_command"][0]
    assert "exited with 0" in out["content"] and "gen.txt" in out["content"]
    assert not ed.prompts  # the prefix was granted up front
    # Delivered through workspace/applyEdit (create + insert), not written by the command.
    assert (ed.root / "gen.txt").read_text() == "made by a command\n"
    kinds = [type(c).__name__ for c in ed.applied[-1].edit.document_changes]
    assert kinds == ["CreateFile", "TextDocumentEdit"]


async def test_command_outside_prefixes_asks_and_deny_refuses(make_editor):
    implementer = [turn(("run_command", {"command": "touch pwned.txt"})),
                   turn(("finish", {"summary": "done"}))]
    ed = await make_editor(plan_script(files=["pwned.txt"], implementer=implementer),
                           extra_config='[permissions]\ncommands = ["pytest"]\n')
    ed.answer_prompt = lambda p: "Deny"
    run_id = await ed.run("try a command")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert any("touch pwned.txt" in p.message for p in ed.prompts)
    out = [r for r in results(ed.root, run_id) if r["name"] == "run_command"][0]
    assert out.get("is_error") and "did not allow" in out["content"]
    assert not (ed.root / "pwned.txt").exists()
