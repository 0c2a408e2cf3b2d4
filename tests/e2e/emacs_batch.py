"""Running a scenario of tests/e2e/emacs/ in `emacs --batch` against the real `baton serve`
(Emacs and its LSP clients come from apt: scripts/setup installs emacs-nox, elpa-eglot and
elpa-lsp-mode). Without them a test is skipped with the reason, except where
BATON_REQUIRE_EDITORS names emacs (scripts/test sets it under CI): there it fails. Each run
gets its own HOME and a hard timeout; a stuck scenario aborts Baton first so the report
shows where it was (PYTHONFAULTHANDLER)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .headless import run_headless
from .test_nvim import BIN, ROOT

SCENARIOS = ROOT / "tests" / "e2e" / "emacs"
TIMEOUT_S = 90


def emacs_with(feature: str, package: str) -> str:
    emacs = shutil.which("emacs")
    problem = None
    if emacs is None:
        problem = f"emacs is not installed (apt-get install emacs-nox {package}, or scripts/setup)"
    else:
        probe = subprocess.run([emacs, "--batch", "--eval", f"(require '{feature})"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            problem = f"{feature} is not installed (apt-get install {package}): {probe.stderr[-300:]}"
    if problem:
        if "emacs" in os.environ.get("BATON_REQUIRE_EDITORS", "").split(","):
            pytest.fail(f"Emacs is required here: {problem}")
        pytest.skip(problem)
    return emacs  # type: ignore[return-value]


def run_scenario(emacs: str, scenario: str, tmp: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "EMACS", "BATON_")) and k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    home = tmp / "home"
    home.mkdir()
    env |= {"HOME": str(home), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "BATON_TEST_TMP": str(tmp), "BATON_DOCS": str(ROOT / "docs"), "PYTHONFAULTHANDLER": "1"}
    code, out, err, timed_out = run_headless([emacs, "--batch", "-l", str(SCENARIOS / f"{scenario}.el")],
                                             tmp, env, TIMEOUT_S)
    report = f"\n--- stdout ---\n{out[-6000:]}\n--- stderr ---\n{err[-12000:]}"
    assert not timed_out, f"Emacs scenario {scenario} hung and was killed after {TIMEOUT_S} s{report}"
    assert code == 0 and "SCENARIO OK" in out, f"Emacs scenario {scenario} failed{report}"
