"""Cost per route, measured (issue: routing and context, item 4).

Runs the same tasks through the `ask`, `edit` and `plan` routes with the scripted
provider on a copy of a real source tree, and reports the prompt tokens each route sends.
Tokens are an estimate (characters / 4 of the system prompt, the tool schemas and the
messages, as sent to a provider), not a provider's tokenizer. It also checks that each
role's second turn starts with its first turn's request, unchanged (the prefix a
provider's prompt cache reuses).

    python -m benchmarks.route_cost
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from baton.config import Config
from baton.providers.base import OnDelta, Turn, TurnRequest
from baton.providers.registry import FailoverProvider, Registry
from baton.providers.scripted import ScriptedProvider
from baton.runtime.engine import Engine
from baton.runtime.host import (
    ApplyResult,
    FileEdit,
    Finding,
    OpenDocument,
    PermissionAnswer,
)
from baton.runtime.runs import Route, State
from baton.state_dir import Locations
from baton.wire import Question, RunChanged

ROOT = Path(__file__).resolve().parents[1]
TASKS = [
    ("Why does the journal write from a thread?", "server/baton/runtime/journal.py",
     "self._thread.start()", "self._thread.start()  # the writer owns the connection"),
    ("Explain how failover picks the next provider", "server/baton/providers/registry.py",
     "class FailoverProvider:", "class FailoverProvider:  # tries providers in order"),
    ("How are plan files turned into the write grant?", "server/baton/runtime/planfile.py",
     "def granted_files(plan_text: str) -> list[str]:",
     "def granted_files(plan_text: str) -> list[str]:  # the person's edits count"),
]


def tokens(request: TurnRequest) -> int:
    sent = request.system + json.dumps([t.model_dump() for t in request.tools]) + \
        "".join(m.model_dump_json() for m in request.messages)
    return len(sent) // 4


class Recorder:
    """Wraps the scripted provider and keeps every request it is sent."""

    def __init__(self, inner: ScriptedProvider, log: list[TurnRequest]) -> None:
        self.inner, self.log = inner, log
        self.name, self.capabilities = inner.name, inner.capabilities

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        self.log.append(request.model_copy(deep=True))
        return await self.inner.complete(request, on_delta)


class RecordingRegistry(Registry):
    def __init__(self, config: Config, log: list[TurnRequest]) -> None:
        super().__init__(config)
        self.log = log

    def for_role(self, role: str) -> FailoverProvider:
        inner = self.provider(self.config.chain(role)[0])
        assert isinstance(inner, ScriptedProvider)
        return FailoverProvider(role, [Recorder(inner, self.log)])  # type: ignore[list-item]


class AcceptingHost:
    """Accepts every plan and applies edits in memory: only the prompts matter here."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.ended: dict[str, asyncio.Event] = {}

    def open_document(self, path: Path) -> OpenDocument | None:
        return None

    def open_paths(self) -> list[Path]:
        return []

    async def run_changed(self, notice: RunChanged) -> None:
        assert self.engine is not None
        if notice.state == State.AWAITING_APPROVAL:
            asyncio.get_running_loop().call_soon(self._decide, self.engine.accept, notice.runId)
        elif notice.state == State.AWAITING_APPLY:
            asyncio.get_running_loop().call_soon(self._decide, self.engine.apply, notice.runId)
        if notice.state in ("done", "failed", "rejected", "cancelled"):
            self.ended.setdefault(notice.runId, asyncio.Event()).set()

    @staticmethod
    def _decide(action: Any, run_id: str) -> None:
        try:
            action(run_id)
        except Exception:
            pass  # already decided (the notice repeats while waiting)

    async def progress(self, run_id: str, kind: Literal["begin", "report", "end"], message: str) -> None:
        return None

    async def show_document(self, path: Path, *, take_focus: bool) -> None:
        return None

    async def ask_permission(self, run_id: str, prompt: str) -> PermissionAnswer:
        return PermissionAnswer.DENY

    async def ask_question(self, run_id: str, question: Question) -> str | None:
        return "no"

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit], *,
                          confirm: bool = False) -> ApplyResult:
        return ApplyResult(applied=True)

    async def publish_findings(self, run_id: str, findings: list[Finding]) -> None:
        return None


def script(path: str, old: str, new: str) -> dict[str, Any]:
    def call(name: str, **args: Any) -> dict[str, Any]:
        return {"tool_calls": [{"name": name, "arguments": args}]}
    return {
        "classifier": [call("classify", route="plan", reason="forced")],
        "planner": [call("read_file", path=path),
                    call("submit_plan", summary="Comment the line", steps=["Add a comment"], files=[path])],
        "implementer": [call("read_file", path=path), call("edit_file", path=path, old=old, new=new),
                        call("finish", summary="commented")],
        "reviewer": [call("read_file", path=path), call("submit_review", verdict="approve", findings=[])],
    }


def edit_script(path: str, old: str, new: str) -> dict[str, Any]:
    # An edit starts from the selection, which its context holds: no need to read first.
    full = script(path, old, new)
    return {"implementer": full["implementer"][1:]}


def ask_script(path: str) -> dict[str, Any]:
    return {"planner": [{"tool_calls": [{"name": "read_file", "arguments": {"path": path}}]},
                        {"text": "Because the answer is in the code above."}]}


async def measure(workspace: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"tasks": []}
    for task, path, old, new in TASKS:
        per_route: dict[str, int] = {}
        prefix_ok: list[bool] = []
        for route in (Route.ASK, Route.EDIT, Route.PLAN):
            folder = Path(tempfile.mkdtemp())
            chosen = {Route.ASK: ask_script(path), Route.EDIT: edit_script(path, old, new),
                      Route.PLAN: script(path, old, new)}[route]
            (folder / "s.json").write_text(json.dumps(chosen))
            config = Config.model_validate({"providers": {"s": {"kind": "scripted", "script": "s.json"}}})
            config.base_dir = folder
            log: list[TurnRequest] = []
            host = AcceptingHost()
            for folder_ in (workspace / ".baton", Locations.of(workspace).state):
                shutil.rmtree(folder_, ignore_errors=True)
            engine = Engine(workspace, config, host, registry=RecordingRegistry(config, log))  # type: ignore[arg-type]
            host.engine = engine
            # The same request each time: the task, from the file the person is in.
            line = (workspace / path).read_text().splitlines().index(
                next(x for x in (workspace / path).read_text().splitlines() if old in x))
            selected = {"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}}
            run_id = engine.create(task, route=route, uri=(workspace / path).as_uri(), range=selected)
            await asyncio.wait_for(host.ended.setdefault(run_id, asyncio.Event()).wait(), 60)
            state = engine.contexts[run_id].run.state
            await engine.close()
            if state != State.DONE:
                error = engine.contexts[run_id].run.error
                raise RuntimeError(f"{route} run of {task!r} ended {state}: {error}")
            per_route[route] = sum(tokens(r) for r in log)
            by_role: dict[str, list[TurnRequest]] = {}
            for r in log:
                by_role.setdefault(r.role, []).append(r)
            for reqs in by_role.values():
                if len(reqs) >= 2:
                    first, second = reqs[0], reqs[1]
                    prefix_ok.append(first.system == second.system and first.tools == second.tools
                                     and second.messages[:len(first.messages)] == first.messages)
        results["tasks"].append({"task": task, "tokens": per_route, "prefix_reused": all(prefix_ok)})
    return results


def main() -> int:
    workspace = Path(tempfile.mkdtemp()) / "ws"
    shutil.copytree(ROOT / "server", workspace / "server",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "README.md", workspace / "README.md")
    (workspace / "AGENTS.md").write_text("Run the tests with scripts/test. Keep modules small.\n")
    results = asyncio.run(measure(workspace))
    print("Prompt tokens per route (estimate: characters / 4 of system, tools and messages)")
    print(f"{'task':52} {'ask':>7} {'edit':>7} {'plan':>7}  ask/plan edit/plan  cache prefix")
    worst = 0.0
    ok = True
    for t in results["tasks"]:
        k = t["tokens"]
        ra, re_ = k["ask"] / k["plan"], k["edit"] / k["plan"]
        worst = max(worst, ra, re_)
        ok = ok and t["prefix_reused"]
        print(f"{t['task'][:52]:52} {k['ask']:>7} {k['edit']:>7} {k['plan']:>7}  {ra:>7.0%} {re_:>9.0%}"
              f"  {'reused' if t['prefix_reused'] else 'CHANGED'}")
    goal = worst <= 0.25 and ok
    print(f"worst ask-or-edit / plan: {worst:.0%} (goal ≤ 25%); second turns reuse the first's "
          f"prefix: {'yes' if ok else 'NO'} → {'goal met' if goal else 'goal MISSED'}")
    shutil.rmtree(workspace.parent, ignore_errors=True)
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
