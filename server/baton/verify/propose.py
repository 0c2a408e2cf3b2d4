"""Verify commands a workspace suggests, for `baton doctor` when `[verify]` is not set.

Only proposed, never run: a guess that runs by itself would run a repository's choice of
command. Read are a few top-level configuration files, each through a no-follow open of a
regular file (a link or a FIFO counts as absent), and a bounded look into `tests/`.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import ToolRefused
from ..sandbox.shadow import read_text_file

ESLINT_FILES = [f"eslint.config.{ext}" for ext in ("js", "mjs", "cjs", "ts", "mts", "cts")] + \
    [f".eslintrc{ext}" for ext in ("", ".js", ".cjs", ".json", ".yml", ".yaml")]
NPM_PLACEHOLDER = 'echo "Error: no test specified" && exit 1'
TEST_DIRS = ("tests", "test")
LOOK_AT = 2_000  # entries of the test folders looked at


class Proposal(BaseModel):
    command: str
    because: str           # what in the workspace suggests it
    available: bool        # its program is installed (on PATH, or node_modules/.bin)


def propose(workspace: Path) -> list[Proposal]:
    ws = _Workspace(workspace)
    pyproject = ws.toml("pyproject.toml")
    tool = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}
    package = ws.json("package.json")
    scripts = found if isinstance(found := package.get("scripts"), dict) else {}
    out: list[Proposal] = []

    def offer(command: str, program: str, *reasons: str | None, npx: bool = False) -> None:
        because = next((r for r in reasons if r), None)
        if because:
            on_path = (ws.root / "node_modules" / ".bin" / program).is_file() if npx \
                else shutil.which(program) is not None
            out.append(Proposal(command=command, because=because, available=on_path))

    offer("pytest -q", "pytest",
          _tables(tool, "pytest", "pyproject.toml"), ws.file("pytest.ini"),
          ws.section("setup.cfg", "tool:pytest"), ws.section("tox.ini", "pytest"),
          ws.test_files())
    offer("ruff check .", "ruff", _tables(tool, "ruff", "pyproject.toml"),
          ws.file("ruff.toml"), ws.file(".ruff.toml"))
    offer("flake8", "flake8", ws.file(".flake8"), ws.section("setup.cfg", "flake8"),
          ws.section("tox.ini", "flake8"))
    offer("mypy .", "mypy", _tables(tool, "mypy", "pyproject.toml"), ws.file("mypy.ini"),
          ws.file(".mypy.ini"), ws.section("setup.cfg", "mypy"))
    offer("pyright", "pyright", _tables(tool, "pyright", "pyproject.toml"),
          ws.file("pyrightconfig.json"))
    test_script = scripts.get("test")
    if isinstance(test_script, str) and test_script.strip() != NPM_PLACEHOLDER:
        offer("npm test", "npm", "a `test` script in package.json")
    offer("npx --no-install eslint .", "eslint", *(ws.file(f) for f in ESLINT_FILES),
          "eslintConfig in package.json" if "eslintConfig" in package else None, npx=True)
    offer("npx --no-install tsc --noEmit -p .", "tsc", ws.file("tsconfig.json"), npx=True)
    return out


def _tables(tool: dict[str, Any], name: str, file: str) -> str | None:
    table = tool.get(name)
    if not isinstance(table, dict):
        return None
    inner = ".ini_options" if list(table) == ["ini_options"] else ""
    return f"[tool.{name}{inner}] in {file}"


class _Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root

    def text(self, name: str) -> str | None:
        try:
            return read_text_file(self.root / name)
        except ToolRefused:
            return None

    def file(self, name: str) -> str | None:
        return name if self.text(name) is not None else None

    def toml(self, name: str) -> dict[str, Any]:
        try:
            return tomllib.loads(self.text(name) or "")
        except (tomllib.TOMLDecodeError, RecursionError):
            return {}

    def json(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads(self.text(name) or "{}")
        except (ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def section(self, name: str, section: str) -> str | None:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(self.text(name) or "")
        except configparser.Error:
            return None
        return f"[{section}] in {name}" if parser.has_section(section) else None

    def test_files(self) -> str | None:
        """`tests/` (or `test/`) holding a test_*.py or *_test.py, looked at without
        following links and at most LOOK_AT entries deep."""
        for folder in TEST_DIRS:
            seen = 0
            stack = [self.root / folder]
            while stack and seen < LOOK_AT:
                d = stack.pop()
                try:
                    if not stat.S_ISDIR(os.lstat(d).st_mode):
                        continue
                    entries = list(os.scandir(d))
                except OSError:
                    continue
                for e in entries:
                    seen += 1
                    name = e.name
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    elif e.is_file(follow_symlinks=False) and name.endswith(".py") and (
                            name.startswith("test_") or name.endswith("_test.py")):
                        return f"test files in {folder}/"
        return None
