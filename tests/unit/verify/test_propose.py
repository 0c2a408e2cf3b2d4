"""What `baton doctor` proposes for `[verify]` from what a workspace has; never run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from baton.doctor import report
from baton.verify.propose import propose


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def proposed(root: Path) -> list[tuple[str, str]]:
    return [(p.command, p.because) for p in propose(root)]


@pytest.mark.parametrize("files, because", [
    ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"}, "[tool.pytest.ini_options] in pyproject.toml"),
    ({"pytest.ini": "[pytest]\n"}, "pytest.ini"),
    ({"setup.cfg": "[tool:pytest]\ntestpaths = t\n"}, "[tool:pytest] in setup.cfg"),
    ({"tox.ini": "[pytest]\n"}, "[pytest] in tox.ini"),
    ({"tests/unit/test_x.py": ""}, "test files in tests/"),
    ({"test/x_test.py": ""}, "test files in test/"),
])
def test_pytest_from_its_configuration_or_test_files(tmp_path: Path, files, because) -> None:
    assert proposed(write(tmp_path, files)) == [("pytest -q", because)]


def test_linters_type_checkers_and_node(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.ruff]\nline-length = 100\n[tool.mypy]\n",
                     ".flake8": "[flake8]\n", "pyrightconfig.json": "{}",
                     "package.json": json.dumps({"scripts": {"test": "vitest run"}}),
                     "eslint.config.mjs": "export default []\n", "tsconfig.json": "{}"})
    assert proposed(tmp_path) == [
        ("ruff check .", "[tool.ruff] in pyproject.toml"), ("flake8", ".flake8"),
        ("mypy .", "[tool.mypy] in pyproject.toml"), ("pyright", "pyrightconfig.json"),
        ("npm test", "a `test` script in package.json"),
        ("npx --no-install eslint .", "eslint.config.mjs"),
        ("npx --no-install tsc --noEmit -p .", "tsconfig.json")]


def test_nothing_to_propose_from_placeholders_and_broken_files(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": json.dumps({"scripts": {"test": 'echo "Error: no test specified" && exit 1'}}),
                     "pyproject.toml": "[tool.ruff\n", "setup.cfg": "not = [an ini",
                     "tests/helper.py": "", "tests/data.txt": ""})
    assert proposed(tmp_path) == []


def test_links_and_fifos_count_as_absent(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"pytest.ini": "[pytest]\n", "tests/test_x.py": ""})
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "pytest.ini").symlink_to(outside / "pytest.ini")
    (ws / "tests").symlink_to(outside / "tests")
    os.mkfifo(ws / "tox.ini")  # would block a plain open
    assert proposed(ws) == []


def test_doctor_reports_proposals_only_without_verify(tmp_path: Path, monkeypatch) -> None:
    ws = write(tmp_path / "ws", {"tests/test_a.py": ""})
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("BATON_CONFIG", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    verify = report(ws)["verify"]
    assert verify["commands"] == [] and [p["command"] for p in verify["proposed"]] == ["pytest -q"]
    (tmp_path / "cfg" / "baton").mkdir(parents=True)
    (tmp_path / "cfg" / "baton" / "config.toml").write_text(
        '[verify]\ncommands = ["make check"]\ntimeout_s = 60\n')
    assert report(ws)["verify"] == {"commands": ["make check"], "rounds": 2, "timeout_s": 60.0}
