"""The attacker's suite again, as an unprivileged user (issue 13: "both as root and as an
unprivileged user"). CI runs as root, so this re-runs `tests/security` under
`setpriv --reuid=65534 --regid=65534 --clear-groups` and requires it to pass.

The venv's interpreter lives under /root (mode 700), out of that user's reach; the system
Python of the same minor version runs the suite with the venv's packages and the project
on PYTHONPATH. HOME and pytest's temp dir are a fresh folder of that user's in the system
temp dir (pytest's own temp dirs for root are mode 700), removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import UNPRIVILEGED_ENV, running_as

NOBODY = 65534
SUITE = Path(__file__).resolve().parent
REPO = SUITE.parents[1]
MIN_PASSED = 40  # the suite's attempts that do not depend on root; fewer means it was skipped


def _system_python() -> str | None:
    """A Python of this minor version that uid 65534 can execute."""
    want = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/{want}", f"/usr/local/bin/{want}"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def test_the_suite_holds_as_an_unprivileged_user() -> None:
    """Everything in tests/security, re-run as uid 65534: no attempt gets through there
    either."""
    if os.environ.get(UNPRIVILEGED_ENV):
        pytest.skip("this is the unprivileged run itself")
    if running_as() != "root":
        pytest.skip("not root: this run already is the unprivileged one (switching users "
                    "needs root)")
    setpriv = shutil.which("setpriv")
    python = _system_python()
    if setpriv is None or python is None:
        pytest.fail(f"cannot re-run as uid {NOBODY}: setpriv={setpriv}, "
                    f"python{sys.version_info.major}.{sys.version_info.minor}={python} "
                    "(`apt-get install util-linux python3`)")
    site = [p for p in sys.path if p.endswith("site-packages")]
    closed = [str(d) for p in [REPO, *map(Path, site)] for d in [p, *p.parents]
              if not os.stat(d).st_mode & 0o001]
    if closed:
        pytest.fail(f"uid {NOBODY} cannot reach the checkout or its packages: "
                    f"{', '.join(sorted(set(closed)))} not searchable by others. Fix: check out "
                    "and install under a path every user can traverse (or chmod o+x them)")
    home = Path(tempfile.mkdtemp(prefix="baton-unprivileged-"))
    try:
        os.chown(home, NOBODY, NOBODY)
        r = _run_suite(setpriv, python, home, site)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    tail = "\n".join(r.stdout.splitlines()[-40:]) + r.stderr[-2000:]
    assert r.returncode == 0, tail
    passed = re.search(r"(\d+) passed", r.stdout)
    assert passed and int(passed.group(1)) >= MIN_PASSED, tail


def _run_suite(setpriv: str, python: str, home: Path,
               site: list[str]) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(home),
           "LANG": "C.UTF-8", UNPRIVILEGED_ENV: "1",
           "PYTHONPATH": os.pathsep.join([*site, str(REPO / "server"), str(REPO)])}
    if "BATON_REQUIRE_SANDBOX" in os.environ:  # CI's demand that isolation be tested, not skipped
        env["BATON_REQUIRE_SANDBOX"] = os.environ["BATON_REQUIRE_SANDBOX"]
    return subprocess.run(
        [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-m",
         "pytest", str(SUITE), "-q", "-p", "no:cacheprovider", "--basetemp", str(home / "t")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
