"""An engine in this process, on a workspace in tmp, with the scripted provider and a host
that keeps everything in memory: no subprocess, no editor, a run in milliseconds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from baton.config import load_config
from baton.runtime.engine import Engine
from baton.runtime.host import ApplyResult, FileEdit, Finding, OpenDocument, PermissionAnswer
from baton.wire import Question, RunChanged

HELLO = 'def hello():\n    print("hello")\n'


def turn(name: str, args: dict[str, Any], delay_ms: int = 0) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": args}], "delay_ms": delay_ms}


def plan_script(match: str = "", route: str = "plan", **roles: list[dict[str, Any]]) -> dict[str, Any]:
    """A run that adds a `name` parameter to hello.py; `roles` replace a role's turns."""
    script = {
        "match": match,
        "classifier": [turn("classify", {"route": route, "reason": "test"})],
        "planner": [turn("submit_plan", {"summary": "Greet by name", "steps": ["Add a name"],
                                         "files": ["hello.py"]})],
        "implementer": [turn("edit_file", {"path": "hello.py", "old": "def hello():",
                                           "new": "def hello(name):"}),
                        turn("finish", {"summary": "done"})],
        "reviewer": [turn("submit_review", {"verdict": "approve", "findings": []})],
    }
    script.update(roles)
    return script


class MemoryHost:
    """Records what the engine says; applies edits to disk (no editor holds a buffer);
    answers prompts and questions with what a test set."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notices: list[RunChanged] = []
        self.shown: list[Path] = []
        self.edits: list[list[FileEdit]] = []
        self.findings: list[Finding] = []
        self.prompts: list[str] = []
        self.questions: list[Question] = []
        self.permission = PermissionAnswer.DENY
        self.reply: str | None = None  # what a question is answered directly (None: later)
        self.told: list[str] = []
        self.refuse_edits = False  # the editor says it applied nothing
        self.buffers: dict[Path, OpenDocument] = {}
        self._changed = asyncio.Event()

    def open_document(self, path: Path) -> OpenDocument | None:
        return self.buffers.get(path)

    def open_paths(self) -> list[Path]:
        return list(self.buffers)

    async def run_changed(self, notice: RunChanged) -> None:
        self.notices.append(notice)
        self._changed.set()
        self._changed = asyncio.Event()

    async def progress(self, run_id: str, kind: str, message: str) -> None:
        pass

    async def show_document(self, path: Path, *, take_focus: bool) -> None:
        self.shown.append(path)

    async def ask_permission(self, run_id: str, prompt: str) -> PermissionAnswer:
        self.prompts.append(prompt)
        return self.permission

    async def ask_question(self, run_id: str, question: Question) -> str | None:
        self.questions.append(question)
        return self.reply

    async def tell(self, run_id: str, text: str) -> None:
        self.told.append(text)

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit]) -> ApplyResult:
        if self.refuse_edits:
            return ApplyResult(applied=False, reason="the person applied nothing")
        for e in edits:
            path = self.root / e.path
            if e.after is None:
                path.unlink()
            else:
                path.write_text(e.after, encoding="utf-8")
        self.edits.append(edits)
        return ApplyResult(applied=True)

    async def publish_findings(self, run_id: str, findings: list[Finding]) -> None:
        self.findings += findings

    def states(self, run_id: str) -> list[str]:
        """The run's states in the order its notices said them, each once in a row."""
        out: list[str] = []
        for n in self.notices:
            if n.runId == run_id and (not out or out[-1] != n.state):
                out.append(n.state)
        return out

    def last(self, run_id: str) -> RunChanged:
        return [n for n in self.notices if n.runId == run_id][-1]

    async def wait_for(self, predicate: Any, timeout: float = 10) -> None:
        """Until `predicate()` holds, checked at each notice."""
        async def held() -> None:
            while not predicate():
                await self._changed.wait()
        await asyncio.wait_for(held(), timeout)

    async def state(self, run_id: str, *states: str, timeout: float = 10) -> RunChanged:
        """The run's notice once it is in one of `states`."""
        async def reached() -> RunChanged:
            while True:
                notice = next((n for n in reversed(self.notices) if n.runId == run_id), None)
                if notice is not None and notice.state in states:
                    return notice
                await self._changed.wait()
        return await asyncio.wait_for(reached(), timeout)


def workspace(tmp: Path, scripts: list[dict[str, Any]], *, mode: str = "stream",
              extra: str = "") -> tuple[Path, Path]:
    """(workspace, config file) with hello.py and a scripted provider playing `scripts`."""
    ws = tmp / "ws"
    ws.mkdir(exist_ok=True)
    if not (ws / "hello.py").exists():
        (ws / "hello.py").write_text(HELLO)
    cfg = tmp / "config"
    cfg.mkdir(exist_ok=True)
    (cfg / "script.json").write_text(json.dumps({"runs": scripts}))
    config = cfg / "config.toml"
    config.write_text('[providers.offline]\nkind = "scripted"\nscript = "script.json"\n\n'
                      f'[edits]\nmode = "{mode}"\n{extra}')
    return ws, config


async def start(ws: Path, config: Path) -> tuple[Engine, MemoryHost]:
    host = MemoryHost(ws.resolve())
    engine = Engine(ws, load_config(ws, env={"BATON_CONFIG": str(config)}), host)
    await engine.start()
    return engine, host
