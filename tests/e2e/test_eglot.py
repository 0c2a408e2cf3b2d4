"""Emacs with Debian's Eglot (elpa-eglot 1.9, Emacs 28; scripts/setup installs both from apt)
and the documented snippet (docs/snippets/eglot.el), against the real `baton serve`: the
core flow in tests/e2e/eglot/, run in `emacs --batch`. Without Emacs or Eglot the test is
skipped with the reason, except where BATON_REQUIRE_EDITORS names emacs (scripts/test sets
it under CI): there it fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from .test_nvim import BIN, ROOT

pytestmark = pytest.mark.editor

SCENARIOS = ROOT / "tests" / "e2e" / "eglot"
SCENARIO_NAMES = sorted(p.stem for p in SCENARIOS.glob("*.el"))
TIMEOUT_S = 90


def _emacs() -> str:
    emacs = shutil.which("emacs")
    problem = None
    if emacs is None:
        problem = "emacs is not installed (apt-get install emacs-nox elpa-eglot, or scripts/setup)"
    else:
        probe = subprocess.run([emacs, "--batch", "--eval", "(require 'eglot)"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            problem = f"Eglot is not installed (apt-get install elpa-eglot): {probe.stderr[-300:]}"
    if problem:
        if "emacs" in os.environ.get("BATON_REQUIRE_EDITORS", "").split(","):
            pytest.fail(f"Emacs is required here: {problem}")
        pytest.skip(problem)
    return emacs  # type: ignore[return-value]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "EMACS", "BATON_")) and k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    home = tmp / "home"
    home.mkdir()
    return env | {"HOME": str(home), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                  "BATON_TEST_TMP": str(tmp), "BATON_DOCS": str(ROOT / "docs"),
                  "PYTHONFAULTHANDLER": "1"}  # a stuck scenario aborts Baton to show where it was


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_eglot_scenario(scenario: str, tmp_path: Path) -> None:
    cmd = [_emacs(), "--batch", "-l", str(SCENARIOS / f"{scenario}.el")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(tmp_path), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
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
    report = (f"\n--- stdout ---\n{out.decode(errors='replace')[-6000:]}\n--- stderr ---\n"
              f"{err.decode(errors='replace')[-10000:]}")
    assert not timed_out, f"Eglot scenario {scenario} hung and was killed after {TIMEOUT_S} s{report}"
    assert proc.returncode == 0 and b"SCENARIO OK" in out, f"Eglot scenario {scenario} failed{report}"
