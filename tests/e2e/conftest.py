from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from .editor import Editor, write_workspace

HELLO = ('GREETING = "é😀"  # non-ASCII and astral before the edit\n'
         "\n\ndef hello():\n    return f\"{GREETING}, world!\"\n")


def turn(*calls: tuple[str, dict[str, Any]], delay_ms: int = 0, text: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"tool_calls": [{"name": n, "arguments": a} for n, a in calls]}
    if delay_ms:
        out["delay_ms"] = delay_ms
    if text:
        out["text"] = text
    return out


def plan_script(*, files: list[str] | None = None, implementer: list[dict] | None = None,
                reviewer: list[dict] | None = None, planner: list[dict] | None = None,
                route: str = "plan", match: str = "") -> dict[str, Any]:
    return {
        "match": match,
        "classifier": [turn(("classify", {"route": route, "reason": "test"}))],
        "planner": planner or [turn(("submit_plan", {"summary": "Greet by name",
                                                     "steps": ["Add a name parameter"],
                                                     "files": files if files is not None else ["hello.py"]}))],
        "implementer": implementer or [
            turn(("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"})),
            turn(("finish", {"summary": "done"}))],
        "reviewer": reviewer or [turn(("submit_review", {"verdict": "approve", "findings": []}))],
    }


MakeEditor = Callable[..., Any]


@pytest.fixture(params=["vscode", "neovim"])
def client_kind(request: pytest.FixtureRequest) -> str:
    """Modules that use this run every test with both editors' capabilities (utf-16 and
    utf-8 positions): `pytestmark = pytest.mark.usefixtures("client_kind")`."""
    return request.param


@pytest.fixture
async def make_editor(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[MakeEditor]:
    editors: list[Editor] = []
    default_kind = (request.getfixturevalue("client_kind")
                    if "client_kind" in request.fixturenames else "vscode")

    async def make(script: dict[str, Any], *, files: dict[str, str] | None = None,
                   kind: str | None = None, extra_config: str = "", root: Path | None = None) -> Editor:
        kind = kind or default_kind
        ws = root or tmp_path / "ws"
        ws.mkdir(exist_ok=True)
        if "runs" not in script:
            script = {"runs": [script]}
        config = write_workspace(ws, files if files is not None else {"hello.py": HELLO}, script,
                                 extra_config)
        editor = Editor(ws, config, kind)
        await editor.start()
        editors.append(editor)
        return editor

    async def restart(old: Editor, answer_prompt: Callable[[Any], str | None] | None = None) -> Editor:
        """Kill the daemon (as a crash would) and start a new one on the same workspace; the
        editor keeps its open buffers, unsaved, and answers prompts with `answer_prompt`."""
        await old.kill()
        editors.remove(old)
        editor = Editor(old.root, old.config, old.kind)
        if answer_prompt is not None:
            editor.answer_prompt = answer_prompt
        await editor.start({uri: text for uri, (text, _) in old.buffers.items()})
        editors.append(editor)
        return editor

    make.restart = restart  # type: ignore[attr-defined]
    yield make
    for e in editors:
        try:
            await e.stop()
        except Exception:
            pass
