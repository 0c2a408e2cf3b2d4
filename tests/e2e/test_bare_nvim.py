"""Neovim with nothing but its built-in LSP client and the documented snippet
(docs/snippets/neovim.lua), no plugin, against the real `baton serve`: the core flow in
tests/e2e/bare_nvim/. Neovim shows every stderr line of a server as [ERROR] in lsp.log, so
the log must hold none of Baton's."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from .test_nvim import ROOT, TIMEOUT_S, _env, _lsp_log, _nvim

pytestmark = pytest.mark.editor

SCENARIOS = ROOT / "tests" / "e2e" / "bare_nvim"
SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.lua"))


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_bare_nvim_scenario(scenario: str, tmp_path: Path) -> None:
    env = _env(tmp_path) | {"BATON_DOCS": str(ROOT / "docs")}
    proc = subprocess.Popen([_nvim(), "--headless", "--clean", "-l", str(SCENARIOS / f"{scenario}.lua")],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        timed_out = True
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    log = _lsp_log(tmp_path)
    report = (f"\n--- stdout ---\n{out.decode(errors='replace')[-6000:]}\n--- stderr ---\n"
              f"{err.decode(errors='replace')[-8000:]}\n--- lsp.log (tail) ---\n{log}")
    assert not timed_out, f"scenario {scenario} hung and was killed after {TIMEOUT_S} s{report}"
    assert proc.returncode == 0 and b"SCENARIO OK" in out, f"scenario {scenario} failed{report}"
    stderr_lines = [line for line in log.splitlines() if '"stderr"' in line]
    assert not stderr_lines, f"Baton wrote to stderr (Neovim logs each line as an error):{report}"
