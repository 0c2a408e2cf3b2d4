"""Delivery against a fake editor: hunks applied and rejected in any order while the person
types elsewhere, then revert. Whatever the person typed survives every step, and revert
gives back exactly the person's text."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from baton.edits.hunks import file_hunks
from baton.runtime.delivery import Delivery
from baton.runtime.host import ApplyResult, FileEdit, OpenDocument
from baton.runtime.runs import Run
from baton.runtime.session import RunContext
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow

N = 40
REL = "f.py"


class FakeEditor:
    """One open buffer; applies an edit only if it was computed against the current version."""

    def __init__(self, root: Path, text: str) -> None:
        self.root, self.text, self.version = root, text, 1

    def open_document(self, path: Path) -> OpenDocument | None:
        return OpenDocument(text=self.text, version=self.version) if path == self.root / REL else None

    def type(self, text: str) -> None:
        self.text, self.version = text, self.version + 1

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit], *,
                          confirm: bool = False) -> ApplyResult:
        for e in edits:
            if e.version not in (None, self.version) or e.before != self.text:
                return ApplyResult(applied=False, reason="stale")
            self.type(e.after)
        return ApplyResult(applied=True)

    async def ask_question(self, run_id, question):
        return None  # no answer: the person's text is kept

    async def run_changed(self, notice) -> None:
        pass


class FakeEngine:
    def __init__(self, root: Path, editor: FakeEditor) -> None:
        self.policy, self.host = PathPolicy(root), editor
        self.locks: dict[str, asyncio.Lock] = {}
        self.decided: list[str] = []

        class Journal:
            async def flush(self) -> None:
                pass
        self.journal = Journal()

    def file_lock(self, rel: str) -> asyncio.Lock:
        return self.locks.setdefault(rel, asyncio.Lock())

    def emit(self, ctx: RunContext, ev) -> None:
        ctx.run.apply(ev)

    async def notify(self, ctx: RunContext, reason: str = "") -> None:
        pass

    def decide(self, run_id, action, states, value) -> None:
        self.decided.append(value.decision)


def lines(versions: dict[int, str]) -> str:
    return "".join(versions.get(i, f"line {i}") + "\n" for i in range(N))


async def scenario(root: Path, agent_lines: list[int], person_lines: list[int],
                   ops: list[tuple[bool, bool]]) -> None:
    base = lines({})
    (root / REL).write_text(base)
    editor = FakeEditor(root, base)
    engine = FakeEngine(root, editor)
    run = Run(id="r", edit_mode="review")
    ctx = RunContext(run=run, folder=root / ".baton" / "runs" / "r",
                     shadow=Shadow(engine.policy, root / ".baton" / "runs" / "r" / "shadow",
                                   lambda p: editor.text if p == root / REL else None),
                     grants=None)  # type: ignore[arg-type]
    delivery = Delivery(engine)  # type: ignore[arg-type]
    ctx.shadow.write(REL, lines({i: f"agent {i}" for i in agent_lines}))
    typed: dict[int, str] = {}
    person = list(person_lines)
    for apply, type_first in ops:
        [change] = delivery.pending(ctx) or [None]
        if change is None:
            break
        if type_first and person:
            i = person.pop()
            typed[i] = f"person {i}"
            editor.type(editor.text.replace(f"line {i}\n", f"person {i}\n"))
        hunk = file_hunks(REL, change.base, change.new)[0]
        await (delivery.apply_hunk if apply else delivery.reject_hunk)(ctx, REL, hunk.id)
        # Whatever the person typed is still there; the agent's text is the rest.
        shadow = delivery.agent_text(ctx, REL)
        for i, text in typed.items():
            assert f"{text}\n" in editor.text
        if not delivery.pending(ctx):
            assert editor.text == "".join(typed.get(i, line.rstrip("\n")) + "\n"
                                          for i, line in enumerate(shadow.splitlines(True)))
    took = any(d.applied for d in run.deliveries)
    if not delivery.pending(ctx):
        assert engine.decided == ["accept" if took else "reject"]
    run.state = "done"  # type: ignore[assignment]
    if took:
        assert await delivery.revert(ctx)
    assert editor.text == lines(typed)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hunks_in_any_order_with_typing_then_revert(data):
    agent_lines = data.draw(st.lists(st.integers(0, N - 1), min_size=1, max_size=8, unique=True))
    # The person types on lines the agent leaves alone, one line away at least (merge3 takes
    # changes on adjacent lines from both sides, but a hunk's context would then differ).
    free = [i for i in range(N) if all(abs(i - a) > 1 for a in agent_lines)]
    person_lines = data.draw(st.lists(st.sampled_from(free), unique=True, max_size=4)) if free else []
    ops = data.draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=N, max_size=N))
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp).resolve(), agent_lines, person_lines, ops))
