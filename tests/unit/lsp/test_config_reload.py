"""Loading the configuration again while Baton serves (lsp/config_reload.py): what the engine
is told (held, reconfigured) and what the person hears, however a file changes, including a
repository rewriting its own file in a loop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from baton.config import Config, WorkspaceTrust, trust_workspace
from baton.errors import ConfigError
from baton.lsp import config_reload
from baton.lsp.config_reload import FIXED, ConfigReload

TYPO = '[edit]\nmode = "review"\n'
GOOD = '[edits]\nmode = "review"\n'


class FakeEngine:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.held: list[str] = []
        self.reconfigured = 0

    def hold(self, problem: str) -> None:
        self.held.append(problem)

    def reconfigure(self, config: Config) -> None:
        self.config = config
        self.reconfigured += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Setup:
    def __init__(self, tmp_path: Path, workspace_text: str | None = GOOD) -> None:
        self.ws = tmp_path / "ws"
        (self.ws / ".baton").mkdir(parents=True)
        self.env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
        user = tmp_path / "xdg" / "baton" / "config.toml"
        user.parent.mkdir(parents=True)
        user.write_text('[providers.mine]\nkind = "scripted"\n')
        if workspace_text is not None:
            self.write(workspace_text)
        self.said: list[Any] = []
        self.offered: list[WorkspaceTrust] = []
        self.clock = Clock()

        async def say(message: Any) -> None:
            self.said.append(message)
        self.reload = ConfigReload(self.ws, None, say, self.offered.append, env=self.env,
                                   clock=self.clock)

    def write(self, text: str) -> None:
        (self.ws / ".baton" / "config.toml").write_text(text)

    async def started(self) -> FakeEngine:
        config, _ = await self.reload.initial()
        engine = FakeEngine(config)
        self.reload.attach(engine)
        return engine

    def errors(self) -> list[str]:
        return [m["message"] for m in self.said if m["type"] == "error"]

    def fixed(self) -> int:
        return sum(m["message"] == FIXED for m in self.said)


async def test_a_file_broken_at_start_holds_the_engine_and_its_fix_releases_it(tmp_path):
    s = Setup(tmp_path, TYPO)
    engine = await s.started()
    assert engine.held and "config.toml:1: edit: unknown table" in engine.held[0]
    assert s.said == []  # the start's own answer says it
    s.write(GOOD)
    await s.reload.reload()
    assert engine.reconfigured == 1 and engine.config.edits.mode == "review"
    assert s.reload.problem is None and s.fixed() == 1


async def test_a_file_flipping_between_one_mistake_and_a_fix_is_said_once_each_way(tmp_path):
    s = Setup(tmp_path)
    engine = await s.started()
    for _ in range(10):
        s.write(TYPO)
        await s.reload.reload()
        s.clock.now += 60
        s.write(GOOD)
        await s.reload.reload()
    # The engine follows every change (runs wait, then go on) ...
    assert len(engine.held) == 10 and engine.reconfigured == 10
    # ... but the person hears the mistake and its fix once.
    assert len(s.errors()) == 1 and s.fixed() == 1


async def test_distinct_mistakes_are_said_no_closer_together_than_the_gap(tmp_path):
    s = Setup(tmp_path)
    await s.started()
    for i in range(20):  # a new mistake each time (a hostile loop), within the gap
        s.write(f"[edit{i}]\n")
        await s.reload.reload()
    assert len(s.errors()) == 1
    s.clock.now += config_reload.ERROR_MESSAGE_GAP_S
    await s.reload.reload()  # the mistake in force, not said yet: said now
    assert len(s.errors()) == 2 and "edit19" in s.errors()[1]
    with pytest.raises(ConfigError, match="edit19"):
        await s.reload.check()  # and a command is refused with it
    assert len(s.errors()) == 2


async def test_an_untrusted_files_ignored_tables_changing_changes_nothing(tmp_path):
    evil = GOOD + '[providers.evil]\nkind = "openai"\nbase_url = "http://127.0.0.1:{}/v1"\n'
    s = Setup(tmp_path, evil.format(1))
    engine = await s.started()
    assert engine.config.workspace_file is not None and not engine.config.workspace_file.trusted
    for port in range(2, 12):
        s.write(evil.format(port))
        await s.reload.reload()
    assert engine.reconfigured == 0 and engine.held == [] and s.said == [] and s.offered == []
    assert list(engine.config.providers) == ["mine"]


async def test_a_trusted_file_edited_is_untrusted_again_and_offered_once(tmp_path):
    roles = GOOD + '[roles]\nplanner = "mine"\n'
    s = Setup(tmp_path, roles)
    trust_workspace(s.ws, env=s.env)
    engine = await s.started()
    assert engine.config.workspace_file.trusted and engine.config.roles.planner == "mine"
    s.write("")  # a save read half-way: empty, nothing ignored, nothing to ask yet
    await s.reload.reload()
    assert s.offered == []
    s.write(roles + "# edited by a pull\n")
    await s.reload.reload()
    [offer] = s.offered
    assert not offer.trusted and offer.ignored == ["roles"]
    assert engine.config.roles.planner is None
    reconfigured = engine.reconfigured
    for i in range(5):  # edited again, still untrusted: nothing new to say
        s.write(roles + f"# edit {i}\n")
        await s.reload.reload()
    assert len(s.offered) == 1 and engine.reconfigured == reconfigured


async def test_a_saved_file_is_loaded_without_a_command_even_where_no_folder_was(tmp_path):
    """The watch: the workspace file's change is seen, and the person's own file too, whose
    folder did not exist when the watch began (its parent is watched until it does)."""
    s = Setup(tmp_path)
    user_dir = tmp_path / "xdg" / "baton"
    (user_dir / "config.toml").unlink()
    user_dir.rmdir()
    engine = await s.started()
    s.reload.watch()
    try:
        await asyncio.wait_for(s.reload.armed.wait(), 10)
        s.write(TYPO)
        await _until(lambda: engine.held)
        s.write(GOOD)
        await _until(lambda: engine.reconfigured)
        user_dir.mkdir()
        (user_dir / "config.toml").write_text('[permissions]\nnetwrok = true\n')
        await _until(lambda: len(engine.held) == 2)
        assert "netwrok" in engine.held[1]
    finally:
        await s.reload.close()


async def _until(predicate: Any, timeout: float = 15) -> None:
    async def loop() -> None:
        while not predicate():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(loop(), timeout)
