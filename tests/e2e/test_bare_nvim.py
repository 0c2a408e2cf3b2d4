"""Neovim with nothing but its built-in LSP client and the documented snippet
(docs/snippets/neovim.lua), no plugin, against the real `baton serve`: the core flow in
tests/e2e/bare_nvim/. Neovim shows every stderr line of a server as [ERROR] in lsp.log, so
the log must hold none of Baton's."""

from __future__ import annotations

from pathlib import Path

import pytest

from .headless import run_headless
from .test_nvim import ROOT, TIMEOUT_S, _env, _lsp_log, _nvim

pytestmark = pytest.mark.editor

SCENARIOS = ROOT / "tests" / "e2e" / "bare_nvim"
SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.lua"))


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_bare_nvim_scenario(scenario: str, tmp_path: Path) -> None:
    env = _env(tmp_path) | {"BATON_DOCS": str(ROOT / "docs")}
    code, out, err, timed_out = run_headless(
        [_nvim(), "--headless", "--clean", "-l", str(SCENARIOS / f"{scenario}.lua")], tmp_path, env,
        TIMEOUT_S)
    log = _lsp_log(tmp_path)
    report = (f"\n--- stdout ---\n{out[-6000:]}\n--- stderr ---\n"
              f"{err[-8000:]}\n--- lsp.log (tail) ---\n{log}")
    assert not timed_out, f"scenario {scenario} hung and was killed after {TIMEOUT_S} s{report}"
    assert code == 0 and "SCENARIO OK" in out, f"scenario {scenario} failed{report}"
    stderr_lines = [line for line in log.splitlines() if '"stderr"' in line]
    assert not stderr_lines, f"Baton wrote to stderr (Neovim logs each line as an error):{report}"
