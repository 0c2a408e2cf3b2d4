"""Delivery against a fake editor: hunks applied and rejected in any order while the person
types elsewhere, then revert. Whatever the person typed survives every step, and revert
gives back exactly the person's text."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from baton.edits.hunks import file_hunks
from baton.runtime.context import RunContext
from baton.runtime.delivery import KEEP_MINE, SHOW_BOTH, TAKE_AGENT, Delivery
from baton.runtime.file_locks import FileLocks
from baton.runtime.host import ApplyResult, FileEdit, OpenDocument
from baton.runtime.runs import Run
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

    async def apply_edits(self, run_id: str, label: str, edits: list[FileEdit]) -> ApplyResult:
        for e in edits:
            if e.version not in (None, self.version) or e.before != self.text:
                return ApplyResult(applied=False, reason="stale")
            self.type(e.after)
        return ApplyResult(applied=True)

    async def ask_question(self, run_id, question):
        return None  # no answer: the person's text is kept

    async def run_changed(self, notice) -> None:
        pass

    async def progress(self, run_id, kind, message) -> None:
        pass


class Recorder:
    """The recorder without a journal: events folded into the run, nothing said."""

    def emit(self, ctx: RunContext, ev) -> None:
        ctx.run.apply(ev)

    async def flush(self) -> None:
        pass

    async def notify(self, ctx: RunContext, reason: str = "") -> None:
        pass

    async def progress(self, run_id, kind, message) -> None:
        pass


def delivery_for(root: Path, editor: FakeEditor) -> Delivery:
    return Delivery(recorder=Recorder(), host=editor, policy=PathPolicy(root),  # type: ignore[arg-type]
                    locks=FileLocks())


def lines(versions: dict[int, str]) -> str:
    return "".join(versions.get(i, f"line {i}") + "\n" for i in range(N))


async def scenario(root: Path, agent_lines: list[int], person_lines: list[int],
                   ops: list[tuple[bool, bool]]) -> None:
    base = lines({})
    (root / REL).write_text(base)
    editor = FakeEditor(root, base)
    run = Run(id="r", edit_mode="review")
    ctx = RunContext(run=run, folder=root / ".baton" / "runs" / "r", state=root / ".baton" / "runs" / "r",
                     shadow=Shadow(PathPolicy(root), root / ".baton" / "runs" / "r" / "shadow",
                                   lambda p: editor.text if p == root / REL else None),
                     grants=None)  # type: ignore[arg-type]
    delivery = delivery_for(root, editor)
    ctx.shadow.write(REL, lines({i: f"agent {i}" for i in agent_lines}))
    typed: dict[int, str] = {}
    person = list(person_lines)
    left = None
    for apply, type_first in ops:
        [change] = delivery.pending(ctx) or [None]
        if change is None:
            break
        if type_first and person:
            i = person.pop()
            typed[i] = f"person {i}"
            editor.type(editor.text.replace(f"line {i}\n", f"person {i}\n"))
        hunk = file_hunks(REL, change.base, change.new)[0]
        left = await (delivery.apply_hunk if apply else delivery.reject_hunk)(ctx, REL, hunk.id)
        # Whatever the person typed is still there; the agent's text is the rest.
        shadow = delivery.agent_text(ctx, REL)
        for i, text in typed.items():
            assert f"{text}\n" in editor.text
        if not delivery.pending(ctx):
            assert editor.text == "".join(typed.get(i, line.rstrip("\n")) + "\n"
                                          for i, line in enumerate(shadow.splitlines(True)))
    took = any(d.applied for d in run.deliveries)
    if not delivery.pending(ctx):
        assert left == 0  # the engine ends the run (tests/unit/runtime/test_engine.py)
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


# -- streaming: agent writes delivered while the person types, then the final question --------

MARK = re.compile(r"[AP]\d{3}")
SMALL = 8  # a short file, so that the agent's and the person's changes often meet
ANSWERS = [KEEP_MINE, TAKE_AGENT, SHOW_BOTH, None]


class Person:
    """Types unique tokens: whole lines ("P007") or at the end of a line (" P008")."""

    def __init__(self) -> None:
        self.n = 0
        self.typed: set[str] = set()

    def type(self, text: str, pos: int, new_line: bool) -> str:
        self.n += 1
        mark = f"P{self.n:03d}"
        self.typed.add(mark)
        ls = text.splitlines(keepends=True)
        if new_line or not ls:
            ls.insert(pos % (len(ls) + 1), mark + "\n")
        else:
            k = pos % len(ls)
            ls[k] = ls[k].rstrip("\n") + f" {mark}\n"
        return "".join(ls)


class TypingEditor(FakeEditor):
    """The person may type while an edit is on its way (the edit then arrives stale) and
    while a question is open, and answers conflict questions from a script."""

    def __init__(self, root: Path, text: str, person: Person, answers: list, typing: list) -> None:
        super().__init__(root, text)
        self.person, self.answers, self.typing = person, list(answers), list(typing)
        self.view: tuple[Delivery, RunContext] | None = None
        self.mine_dropped: set[str] = set()  # agent tokens the person chose to keep out
        self.agent_took: set[str] = set()  # person tokens the person chose to replace
        self.questions: list[str] = []

    def _maybe_type(self) -> None:
        pos = self.typing.pop() if self.typing else None
        if pos is not None:
            self.type(self.person.type(self.text, pos, pos % 3 != 0))

    async def apply_edits(self, run_id, label, edits) -> ApplyResult:
        self._maybe_type()
        return await super().apply_edits(run_id, label, edits)

    async def ask_question(self, run_id, question):
        from baton.edits.merge import merge3
        delivery, ctx = self.view
        self.questions.append(question.text)
        merged = merge3(delivery.prior(ctx, REL), delivery.agent_text(ctx, REL), self.text)
        for c in merged.conflicts:  # the question names the lines it is about
            first, last = c.start_line + 1, c.end_line
            assert (f"line {first}" if last <= first else f"lines {first}–{last}") in question.text
        answer = self.answers.pop() if self.answers else None
        for c in merged.conflicts:
            if answer == KEEP_MINE:
                self.mine_dropped |= set(MARK.findall(c.agent))
            if answer == TAKE_AGENT:
                self.agent_took |= set(MARK.findall(c.current))
        self._maybe_type()  # typing while the box is open: a changed region is not settled
        return answer


def agent_write(text: str, op: int, pos: int, n: int) -> str:
    ls = text.splitlines(keepends=True)
    k = pos % (len(ls) + 1)
    if op == 0 or not ls:
        ls.insert(k, f"A{n:03d}\n")
    elif op == 1:
        ls[k % len(ls)] = f"A{n:03d}\n"
    else:
        del ls[k % len(ls)]
    return "".join(ls)


async def streaming(root: Path, steps: list[tuple[int, int, int]], answers: list, typing: list) -> None:
    base = "".join(f"line {i}\n" for i in range(SMALL))
    (root / REL).write_text(base)
    person = Person()
    editor = TypingEditor(root, base, person, answers, typing)
    ctx = RunContext(run=Run(id="r"), folder=root / ".baton" / "runs" / "r", state=root / ".baton" / "runs" / "r",
                     shadow=Shadow(PathPolicy(root), root / ".baton" / "runs" / "r" / "shadow",
                                   lambda p: editor.text if p == root / REL else None),
                     grants=None)  # type: ignore[arg-type]
    delivery = delivery_for(root, editor)
    editor.view = (delivery, ctx)
    ctx.shadow.write(REL, base)  # the agent has read the file: the person types after that
    for n, (who, a, b) in enumerate(steps):
        if who == 0:  # the agent writes; the stream picks it up now or with a later write
            ctx.shadow.write(REL, agent_write(delivery.agent_text(ctx, REL), a % 3, b, n))
            if a % 2:
                assert await delivery.deliver(ctx, [REL], ask=False) or ctx.held
        else:
            editor.type(person.type(editor.text, b, a % 2 == 0))
    await delivery.deliver(ctx)  # the implementer is done: held conflicts are asked about
    # Nothing the person typed is lost, except where they chose the agent's lines.
    for mark in person.typed - editor.agent_took:
        assert mark in editor.text, (mark, editor.text)
    # Every agent line has landed or is held (in changes.diff), unless the person kept theirs.
    pending = delivery.pending_diff(ctx)
    held = {m for line in pending.splitlines() if line.startswith("+") for m in MARK.findall(line)}
    agent = set(re.findall(r"A\d{3}", delivery.agent_text(ctx, REL) or ""))
    for mark in agent - editor.mine_dropped:
        assert mark in editor.text or mark in held, (mark, editor.text, pending)
    assert ctx.held == (len(file_hunks(REL, delivery.prior(ctx, REL), delivery.agent_text(ctx, REL)))
                        if pending else 0)
    # Revert takes back exactly what landed, merged onto the person's later typing.
    asked = len(editor.questions)
    editor.agent_took.clear()  # a revert gives back what "Take the agent's" replaced
    editor.answers, editor.typing = [], []  # revert questions unanswered: the person's text stays
    ctx.run.state = "done"  # type: ignore[assignment]
    if any(d.applied for d in ctx.run.deliveries):
        assert await delivery.revert(ctx)
    for mark in person.typed - editor.agent_took:
        assert mark in editor.text
    if len(editor.questions) == asked and undo_is_clean(ctx.run.deliveries):
        # Undone without a conflict: the person's text, and nothing of the agent's.
        assert not re.search(r"A\d{3}|<<<<<<<|>>>>>>>|=======", editor.text), editor.text
        kept = [MARK.sub("", line).rstrip() for line in editor.text.splitlines()]
        assert [line for line in kept if line] == base.splitlines()


def undo_is_clean(deliveries) -> bool:
    """No delivery's undo overlaps what the person typed on the run's lines after it."""
    from baton.edits.merge import merge3
    steps = [e for d in deliveries if d.applied and not d.revert for e in d.edits]
    text = steps[-1].after if steps else None
    for e in reversed(steps):
        if text != e.after:
            undone = merge3(e.after, e.before, text)
            if undone.conflicts:
                return False
            text = undone.text
        else:
            text = e.before
    return True


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5), st.integers(0, 2 * SMALL)),
                      min_size=1, max_size=24),
       answers=st.lists(st.sampled_from(ANSWERS), max_size=3),
       typing=st.lists(st.one_of(st.none(), st.integers(0, 2 * SMALL)), max_size=6))
def test_streamed_writes_while_the_person_types_lose_nothing(steps, answers, typing):
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(streaming(Path(tmp).resolve(), steps, answers, typing))


class NormalisingEditor:
    """An editor whose buffers end with a newline whatever was sent (Neovim's 'fixeol'):
    every file the run touched is open in it."""

    def __init__(self) -> None:
        self.buffers: dict[str, str] = {}
        self.asked: list = []

    def open_document(self, path: Path) -> OpenDocument | None:
        text = self.buffers.get(path.name)
        return None if text is None else OpenDocument(text=text, version=None)

    async def apply_edits(self, run_id, label, edits) -> ApplyResult:
        for e in edits:
            if e.after is None:
                self.buffers.pop(e.path, None)
            else:
                self.buffers[e.path] = e.after if e.after.endswith("\n") else e.after + "\n"
        return ApplyResult(applied=True)

    async def ask_question(self, run_id, question):
        self.asked.append(question.text)
        return None

    async def run_changed(self, notice) -> None:
        pass

    async def progress(self, run_id, kind, message) -> None:
        pass


async def test_what_the_editor_normalises_is_not_the_persons_change(tmp_path):
    """A file Baton created, to which the editor added a final newline, reverts without a
    conflict question; so does a line-ending change the editor made on its own."""
    editor = NormalisingEditor()
    run = Run(id="r", edit_mode="stream")
    ctx = RunContext(run=run, folder=tmp_path / ".baton" / "runs" / "r", state=tmp_path / ".baton" / "runs" / "r",
                     shadow=Shadow(PathPolicy(tmp_path), tmp_path / ".baton" / "runs" / "r" / "shadow",
                                   lambda p: editor.buffers.get(p.name)),
                     grants=None)  # type: ignore[arg-type]
    editor.buffers["crlf.txt"] = "a\r\nb\r\n"
    delivery = delivery_for(tmp_path, editor)  # type: ignore[arg-type]
    ctx.shadow.write("notes.md", "x is two now")
    ctx.shadow.write("crlf.txt", "a\r\nB\r\n")
    assert await delivery.deliver(ctx)
    assert editor.buffers == {"notes.md": "x is two now\n", "crlf.txt": "a\r\nB\r\n"}
    editor.buffers["crlf.txt"] = "a\nB\n"  # the editor normalised the line endings
    run.state = "done"  # type: ignore[assignment]
    assert await delivery.revert(ctx)
    assert editor.asked == []
    assert editor.buffers == {"crlf.txt": "a\r\nb\r\n"}  # as it was before the run


def test_a_delivery_of_a_created_file_survives_the_journal():
    """The journal leaves None out: a created file's edit has no `before` once read back."""
    from baton.runtime.runs import EVENT, Delivered
    ev = Delivered(edits=[FileEdit(path="new.txt", before=None, after="x\n")], applied=True)
    back = EVENT.validate_json(ev.model_dump_json(exclude_none=True))
    assert back.edits == ev.edits
