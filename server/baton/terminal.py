"""The terminal host for `baton run`: prints what an editor would show, prompts where an
editor would ask, and writes accepted edits to disk itself (no editor is attached)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Literal, TextIO

from .display import visible
from .edits.diff import unified_diff
from .runtime.host import ApplyResult, FileEdit, Finding, OpenDocument, PermissionAnswer
from .wire import Question, RunChanged, Verify
from .sandbox.paths import PathPolicy


class TerminalHost:
    def __init__(self, root: Path, *, interactive: bool, out: TextIO = sys.stdout) -> None:
        self.policy = PathPolicy(root)
        self.interactive = interactive
        self.out = out
        self.notices: asyncio.Queue[RunChanged] = asyncio.Queue()
        self._last: dict[str, tuple[str, str | None]] = {}
        self._verify: dict[str, Verify | None] = {}

    def say(self, text: str = "") -> None:
        # Everything printed passes here: a file's or a model's escape sequences and carriage
        # returns are shown, never run by the terminal.
        try:
            print(visible(text, multiline=True), file=self.out, flush=True)
        except BrokenPipeError:  # `baton run … | head`: the reader left; the run goes on
            pass

    async def prompt(self, text: str) -> str | None:
        if not self.interactive:
            return None
        self.out.write(visible(text, multiline=True))
        self.out.flush()
        line = await asyncio.to_thread(sys.stdin.readline)
        return line.strip() if line else None

    def open_document(self, path: Path) -> OpenDocument | None:
        return None

    def open_paths(self) -> list[Path]:
        return []

    async def run_changed(self, notice: RunChanged) -> None:
        extra = f" — {notice.reason}" if notice.reason else ""
        if notice.error:
            extra = f" — {notice.error}"
        if self._last.get(notice.runId) != (notice.state, extra):
            self.say(f"● {notice.state}{extra}")
        self._last[notice.runId] = (notice.state, extra)
        verify = notice.verify
        if verify is not None and self._verify.get(notice.runId) != verify:
            self.say(f"  verify: {'passed' if verify.passed else 'did not pass'} — {verify.summary}")
        self._verify[notice.runId] = verify
        await self.notices.put(notice)

    async def progress(self, run_id: str, kind: Literal["begin", "report", "end"],
                       message: str) -> None:
        return None

    async def show_document(self, path: Path, *, take_focus: bool) -> None:
        self.say(f"\n──── {path.name} ({path}) ────")
        self.say(path.read_text(encoding="utf-8").rstrip())
        self.say("─" * 40)

    async def ask_permission(self, run_id: str, prompt: str) -> PermissionAnswer:
        prompt = visible(prompt)  # one line: a newline in it cannot fake the choices below
        answer = await self.prompt(f"{prompt}\n  [o] allow once  [r] allow for this run  [N] deny: ")
        if answer is None:
            self.say(f"{prompt} Denied: the terminal is not interactive.")
            return PermissionAnswer.DENY
        return {"o": PermissionAnswer.ONCE, "r": PermissionAnswer.RUN}.get(
            answer.lower()[:1], PermissionAnswer.DENY)

    async def ask_question(self, run_id: str, question: Question) -> str | None:
        options = ""
        if question.options:
            options = "\n" + "\n".join(f"  {i}. {visible(o)}" for i, o in enumerate(question.options, 1))
        answer = await self.prompt(f"\n? {visible(question.text)}{options}\n> ")
        if answer is None:
            return "(no answer: Baton runs in a non-interactive terminal; decide yourself and say so)"
        if question.options and answer.isdigit() and 1 <= int(answer) <= len(question.options):
            return question.options[int(answer) - 1]
        return answer

    async def tell(self, run_id: str, text: str) -> None:
        self.say(text)

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit]) -> ApplyResult:
        from .runtime.disk_edits import apply_on_disk
        result = apply_on_disk(self.policy, edits)
        if result.applied:
            for e in edits:
                if e.rename_from is not None:
                    self.say(f"moved {e.rename_from} → {e.path}")
                if diff := unified_diff(e.path, e.before, e.after).rstrip():
                    self.say(diff)
        return result

    async def publish_findings(self, run_id: str, findings: list[Finding]) -> None:
        for f in findings:
            self.say(f"  {f.severity}: {f.path}:{f.line}: {f.message}")
