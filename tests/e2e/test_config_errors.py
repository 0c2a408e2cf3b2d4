"""A configuration that does not load stops runs, visibly, naming file, line and key, until
it is fixed; Baton never runs on other settings meanwhile (before, it fell back to its
defaults: without a key, the offline demo script, run on the person's workspace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types as t
from pygls.exceptions import JsonRpcException

from baton.lsp.command_names import CONFIG_INVALID

from tests.security.test_workspace_config import (WorkspaceEditor, baton, clean_env, persons_config,
                                                  repo_config, write)

from .conftest import HELLO

TYPO = '# the team\'s settings\n[edit]\nmode = "review"\n'
SAID = 'config.toml:2: edit: unknown table; did you mean "edits"?'


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write(root / "hello.py", HELLO)
    (root / ".git").mkdir()
    return root


def errors(editor: WorkspaceEditor) -> list[str]:
    return [m.message for m in editor.client.messages if m.type == t.MessageType.Error]


async def plan_waiting(tmp_path: Path, ws: Path,
                       implementer: list[dict]) -> tuple[WorkspaceEditor, str, Path]:
    """A review-mode run of the person's provider with its plan awaiting approval; the
    workspace file (returned) is the one the tests then break."""
    persons_config(tmp_path, implementer=implementer)
    write(ws / "src" / "app.py", "x = 1\n")
    config = repo_config(ws, '[edits]\nmode = "review"\n')
    editor = WorkspaceEditor(ws, clean_env(tmp_path))
    await editor.start()
    run_id = await editor.run("touch the app", route="plan")
    await editor.wait_state(run_id, "awaiting_approval")
    return editor, run_id, config


async def test_a_typo_stops_runs_in_the_editor_until_the_file_is_fixed(tmp_path, ws):
    persons_config(tmp_path)  # the person's own provider: what runs once the file is fixed
    config = repo_config(ws, TYPO)
    editor = WorkspaceEditor(ws, clean_env(tmp_path))
    await editor.start()
    try:
        await editor.wait_for(lambda: errors(editor), "the configuration error")
        [shown] = errors(editor)
        assert f"{config.resolve().parent}/{SAID}" in shown and "cannot start runs" in shown

        for attempt in ("Greet by name", "again"):
            with pytest.raises(JsonRpcException) as info:
                await editor.run(attempt)
            assert info.value.code == CONFIG_INVALID and SAID in str(info.value)
        with pytest.raises(JsonRpcException):
            await editor.command("baton.selection.ask", {"uri": editor.uri("hello.py"), "task": "why?",
                                                         "range": {"start": {"line": 0, "character": 0},
                                                                   "end": {"line": 1, "character": 0}}})
        # Said once in a message; what needs no configuration keeps working.
        assert len(errors(editor)) == 1
        assert await editor.command("baton.runs", {}) == []
        # Nothing ran: no run, no edit, no document shown, the file as it was.
        assert editor.notices == [] and editor.applied == [] and editor.client.shown_documents == []
        assert (ws / "hello.py").read_text() == HELLO

        config.write_text(TYPO.replace("[edit]", "[edits]"))
        run_id = await editor.run("explain this", route="ask")
        await editor.wait_state(run_id, "done")
        assert "the person's own provider" in (ws / ".baton" / "runs" / run_id / "answer.md").read_text()
        assert any("loads again" in m.message for m in editor.client.messages)
    finally:
        await editor.stop()


async def test_a_run_waiting_when_the_configuration_breaks_waits_until_it_is_fixed(tmp_path, ws):
    """A run waiting for its plan's approval when the daemon restarts on a broken file still
    waits (nothing is lost); accepting is refused with the mistake until it is fixed."""
    implementer = [{"tool_calls": [{"name": "edit_file", "arguments": {
        "path": "src/app.py", "old": "x = 1", "new": "x = 2"}}]}]
    editor, run_id, config = await plan_waiting(tmp_path, ws, implementer)
    await editor.stop()

    config.write_text(TYPO)
    editor = WorkspaceEditor(ws, clean_env(tmp_path))
    await editor.start()
    try:
        [run] = await editor.command("baton.runs", {})
        assert run["state"] == "awaiting_approval"
        with pytest.raises(JsonRpcException) as info:
            await editor.command("baton.plan.accept", {"runId": run_id})
        assert info.value.code == CONFIG_INVALID and SAID in str(info.value)
        assert (await editor.command("baton.run.show", {"runId": run_id}))["state"] == "awaiting_approval"
        config.write_text('[edits]\nmode = "review"\n')
        await editor.command("baton.plan.accept", {"runId": run_id})
        await editor.wait_state(run_id, "awaiting_apply")
        await editor.command("baton.run.cancel", {"runId": run_id})
        await editor.wait_state(run_id, "cancelled")
    finally:
        await editor.stop()


def test_baton_run_exits_non_zero_naming_the_mistake_and_runs_nothing(tmp_path, ws):
    persons_config(tmp_path, extra="[permissions]\nnetwrok = true\n")
    env = clean_env(tmp_path)
    proc = baton(env, "run", "--workspace", str(ws), "--yes", "Greet by name")
    user = tmp_path / "xdg" / "baton" / "config.toml"
    assert proc.returncode == 2, proc.stderr
    assert f'{user}:5: permissions.netwrok: unknown key; did you mean "network"?' in proc.stderr
    assert "nothing ran" in proc.stderr and proc.stdout == ""
    assert (ws / "hello.py").read_text() == HELLO and not (ws / ".baton").exists()


def test_doctor_names_the_mistake(tmp_path, ws):
    persons_config(tmp_path)
    config = repo_config(ws, TYPO)
    env = clean_env(tmp_path)
    proc = baton(env, "doctor", "--workspace", str(ws))
    assert proc.returncode == 1
    assert f"✗ configuration: {config.resolve().parent}/{SAID}" in proc.stdout
    data = json.loads(baton(env, "doctor", "--json", "--workspace", str(ws)).stdout)
    assert SAID in data["config"]["error"]


WAITING = "waiting for a valid configuration"


async def test_a_run_resumed_mid_work_on_a_broken_configuration_waits_and_goes_on_once_fixed(tmp_path, ws):
    """The daemon restarts while a run's implementer works, and the configuration no longer
    loads: the run neither resumes (no provider, the defaults included, gets its next turn)
    nor fails: it waits in its state, saying the mistake. The person fixes the file and
    sends nothing: the fix is seen, said once, and the run goes on to the end."""
    slow = [{"tool_calls": [{"name": "read_file", "arguments": {"path": "src/app.py"}}], "delay_ms": 20000}]
    editor, run_id, config = await plan_waiting(tmp_path, ws, slow)
    await editor.command("baton.plan.accept", {"runId": run_id})
    await editor.wait_state(run_id, "implementing")
    await editor.kill()

    config.write_text(TYPO)
    script = tmp_path / "xdg" / "baton" / "script.json"  # the next turn answers at once
    script.write_text(script.read_text().replace(', "delay_ms": 20000', ""))
    editor = WorkspaceEditor(ws, clean_env(tmp_path))
    await editor.start()
    try:
        notice = await editor.wait_for(lambda: next((n for n in editor.notices if WAITING in (n.get("reason") or "")),
                                                    None), "the run to say it waits")
        assert notice["state"] == "implementing" and SAID in notice["reason"]
        [run] = await editor.command("baton.runs", {})
        assert run["state"] == "implementing"
        assert errors(editor) and SAID in errors(editor)[0]

        config.write_text('[edits]\nmode = "review"\n')  # no command follows: the file is watched
        await editor.wait_state(run_id, "done", timeout=60)
        assert (ws / "src" / "app.py").read_text() == "x = 1\n"
        # Said once each: the mistake (at start), the fix, and the run's wait.
        assert len(errors(editor)) == 1
        assert sum("loads again" in m.message for m in editor.client.messages) == 1
        assert sum(WAITING in (n.get("reason") or "") for n in editor.notices) == 1
        assert not any(n["state"] == "failed" for n in editor.notices)
    finally:
        await editor.stop()


async def test_a_mistake_and_its_fix_are_seen_without_a_command_and_said_once(tmp_path, ws):
    """Saved files are loaded again as they change: a mistake made while Baton serves is said,
    and so is its fix, with no command sent. The same mistake made again (a repository
    rewriting its file in a loop, say) is not said again; runs are refused meanwhile."""
    persons_config(tmp_path)
    config = repo_config(ws, '[edits]\nmode = "review"\n')
    editor = WorkspaceEditor(ws, clean_env(tmp_path))
    await editor.start()

    def fixed() -> int:
        return sum("loads again" in m.message for m in editor.client.messages)
    try:
        for _ in range(3):
            config.write_text(TYPO)
            await editor.wait_for(lambda: errors(editor), "the mistake to be said")
            with pytest.raises(JsonRpcException) as info:
                await editor.run("explain this", route="ask")
            assert info.value.code == CONFIG_INVALID and SAID in str(info.value)
            config.write_text('[edits]\nmode = "review"\n')
            await editor.wait_for(fixed, "the fix to be said")
            run_id = await editor.run("explain this", route="ask")
            await editor.wait_state(run_id, "done")
        assert len(errors(editor)) == 1 and SAID in errors(editor)[0] and fixed() == 1
    finally:
        await editor.stop()


async def test_a_trusted_file_edited_while_baton_serves_is_untrusted_again_and_asked_once(tmp_path, ws):
    """The person trusted the workspace file; a pull (say) edits it while Baton serves. Its
    [roles] stop applying at once (trust is for the exact content) and the person is asked
    about it, once: more edits, or a repository rewriting it in a loop, ask nothing more."""
    persons_config(tmp_path)
    text = '[edits]\nmode = "review"\n[roles]\nplanner = "mine"\n'
    config = repo_config(ws, text)
    env = clean_env(tmp_path)
    proc = baton(env, "trust", "--workspace", str(ws))
    assert proc.returncode == 0, proc.stderr
    editor = WorkspaceEditor(ws, env)
    editor.answer_prompt = lambda p: "Not now"
    await editor.start()

    def asked() -> list[str]:
        return [p.message for p in editor.prompts if "not trusted" in p.message]
    try:
        run_id = await editor.run("explain this", route="ask")  # the file applies: no question
        await editor.wait_state(run_id, "done")
        assert asked() == []
        config.write_text(text + "# pulled\n")
        await editor.wait_for(asked, "the question about the edited file")
        assert "[roles]" in asked()[0]
        for i in range(3):
            config.write_text(text + f"# pulled again {i}\n")
            run_id = await editor.run("explain this", route="ask")  # loads the file again too
            await editor.wait_state(run_id, "done")
        assert len(asked()) == 1 and errors(editor) == []
    finally:
        await editor.stop()
