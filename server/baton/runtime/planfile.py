"""The documents a person reads and edits: `plan.md`, `answer.md`, `changes.diff`.

The plan's files section is the write grant: accepting the plan grants exactly the
entries listed there *as the person left them*, so deleting a line narrows the grant and
adding one widens it. Only one section counts: the first level-2 heading titled
`Files this plan may write` at the top level of the document, and in it only the items of
top-level lists that open with a code span. The same words inside an HTML comment, a code
block, a block quote or a list are text, and a second such heading adds nothing.

Each document says on one line of its own what the person can do with it (*waiting*), and
once they did, or the run ended before they could (cancelled, failed), Baton replaces that
line, and only that line, with what became of it (`settle`): the document stops asking.
The line is plain paragraph text, never part of the files section, and the grant was taken
from the accepted text before: replacing it cannot change what was granted.

Everything a model or a repository supplies (summary, steps, file names, the task, the
route's reason) is data: flattened to one line, control and invisible characters made
visible, and Markdown punctuation escaped, so it renders as itself and cannot open a
heading, comment, list item, code span or fence.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..display import code, non_ascii_note, visible
from ..sandbox.grants import describe_pattern, glob_note, is_glob
from .host import FileEdit, Host
from .runs import PlanSubmitted, Run

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

log = logging.getLogger(__name__)

FILES_TITLE = "Files this plan may write"
FILES_HEADING = f"## {FILES_TITLE}"
SUMMARY_LIMIT = 300
STEP_LIMIT = 2000

# How to act on a document, in words that work in any editor: the code actions are every
# LSP client's; VS Code shows the same actions as links at the top of the document.
PLAN_WAITING = ("**Waiting for you.** Edit this plan if you like, then accept it with the code "
                "action **Accept plan** (in VS Code, the **Accept Plan** link at the top; in "
                "Neovim, `:Baton accept`) or reject it with **Reject plan**. The implementer "
                "works from the text as it is when you accept.")
EDIT_WAITING = ("**Nothing has been applied yet.** The code action **Accept plan** (in VS Code, "
                "the **Accept Plan** link at the top; in Neovim, `:Baton accept`) applies this "
                "change to your files; **Reject plan** discards it.")
CHANGES_WAITING = ("# Use the code actions Apply changes / Reject changes (in VS Code, the "
                   "links at the top; in Neovim, :Baton accept), or on a hunk: Apply this hunk / "
                   "Reject this hunk.")
# What became of a document: the person answered it, or the run ended before they did
# (cancelled, failed), so it can no longer be answered.
Outcome = Literal["accepted", "rejected", "applied", "cancelled", "failed"]
# Each waiting line, and what it becomes ("{at}": the time). A plan or proposal that ends
# unanswered was never accepted, so nothing of it reached the person's files; changes.diff
# may end while an Apply is under way, so it says only that nothing more of it will.
_SETTLED: dict[str, dict[str, str]] = {
    PLAN_WAITING: {
        "accepted": "**Accepted at {at}.** The implementer works from this plan as it was then; "
                    "edits here change nothing now.",
        "rejected": "**Rejected at {at}.** Nothing of it was implemented; edits here change "
                    "nothing now.",
        "cancelled": "**Cancelled at {at}.** Nothing of it was implemented; edits here change "
                     "nothing now.",
        "failed": "**The run failed at {at}** (its error says why). Nothing of it was "
                  "implemented; edits here change nothing now."},
    EDIT_WAITING: {
        "accepted": "**Accepted at {at}.** Baton applies this change to your files; edits here "
                    "change nothing now.",
        "rejected": "**Rejected at {at}.** Nothing of it was applied; edits here change nothing "
                    "now.",
        "cancelled": "**Cancelled at {at}.** Nothing of it was applied; edits here change "
                     "nothing now.",
        "failed": "**The run failed at {at}** (its error says why). Nothing of it was applied; "
                  "edits here change nothing now."},
    CHANGES_WAITING: {
        "applied": "# Applied at {at}: these changes went to your files; this file is a record "
                   "now.",
        "rejected": "# Rejected at {at}: what is below did not go to your files; this file is a "
                    "record now.",
        "cancelled": "# Cancelled at {at}: Baton applies nothing more of these changes; this "
                     "file is a record now.",
        "failed": "# The run failed at {at} (its error says why): Baton applies nothing more of "
                  "these changes; this file is a record now."},
}
# plan.md as Baton before 0.3 wrote it (a run awaiting approval across the upgrade).
_SETTLED["Edit this plan if you like, then use the code action **Accept plan** (or **Reject "
         "plan**). The implementer follows the text as it is when you accept."] = _SETTLED[PLAN_WAITING]

# Characters that can open inline Markdown (emphasis, code, links, HTML, entities, tables,
# strikethrough, an ATX heading's closing #s). `_` only where it could emphasise: inside a
# word (snake_case) it cannot, and escaping it there would make plans hard to read.
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>#&|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# What opens a block when it starts a list item's text: a bullet, a setext underline or a
# thematic break, or an ordered-list number.
_BLOCK_START = re.compile(r"^(?:([-+=])|(\d{1,9})([.)]))")


def md_text(text: str, *, limit: int | None = None) -> str:
    """`text` as one line of Markdown that renders as exactly that text."""
    shown = visible(" ".join(text.split()), limit=limit)
    out = _MD_SPECIAL.sub(lambda m: "\\" + m.group(), shown)
    m = _BLOCK_START.match(out)
    if m and m.group(1):
        out = "\\" + out
    elif m:
        out = m.group(2) + "\\" + out[len(m.group(2)):]
    return out


def render_plan(run: Run, plan: PlanSubmitted, config_globs: list[str],
                command_prefixes: Sequence[str] = (), files: Iterable[str] | None = None) -> str:
    """plan.md. `files`, the workspace's listing, lets each glob say how many files it
    covers; without it a glob is still shown as one."""
    listed = list(files) if files is not None else None
    steps = "\n".join(f"{i}. {md_text(s, limit=STEP_LIMIT)}" for i, s in enumerate(plan.steps, 1))
    entries = []
    for f in dict.fromkeys(plan.files):
        entry = f"- {code(f)}"  # notes after the code span: the grant is the span alone
        if is_glob(f):
            entry += " " + glob_note(f, listed)
        if note := non_ascii_note(f):
            entry += " " + md_text(note)
        entries.append(entry)
    extra = ""
    if config_globs:
        extra = ("\n\nAlso writable by your configuration (`[permissions] write`): "
                 + "; ".join(describe_pattern(g, listed) for g in config_globs) + ".")
    if command_prefixes:
        extra += ("\n\nCommands run without asking (`[permissions] commands`, in the sandbox): "
                  + ", ".join(code(c) for c in command_prefixes) + "; any other command asks you.")
    return (
        f"# Plan: {md_text(plan.summary, limit=SUMMARY_LIMIT)}\n\n"
        f"> Baton run `{run.id}` · route **{run.route}** "
        f"({md_text(run.route_reason, limit=SUMMARY_LIMIT)})\n"
        f"> Task: {md_text(run.task, limit=SUMMARY_LIMIT)}\n\n"
        f"{PLAN_WAITING}\n\n"
        f"## Steps\n\n{steps}\n\n"
        f"{FILES_HEADING}\n\n"
        "Accepting this plan lets the implementer write what the list below names, one entry "
        "per line in backticks; anything else asks you first. Remove a line to withhold it, "
        "add one to grant it. Only this list counts.\n\n"
        + ("\n".join(entries) or "- (none)") + f"{extra}\n")


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # loaded when a plan is first read, not at start-up
    return MarkdownIt("commonmark")


def granted_files(plan_text: str) -> list[str]:
    """The entries of the plan's files section, as the person left it (module docstring)."""
    tokens = _parser().parse(plan_text)
    start = next((i + 3 for i, tok in enumerate(tokens)
                  if tok.type == "heading_open" and tok.level == 0 and tok.tag == "h2"
                  and tokens[i + 1].content.strip() == FILES_TITLE), None)
    if start is None:
        return []
    files: list[str] = []
    for i in range(start, len(tokens)):
        tok = tokens[i]
        if tok.level == 0 and tok.type in ("heading_open", "hr"):
            break  # the section ends at the next heading or thematic break
        # An item of a top-level list (level 1) whose text (level 3) opens with a code span.
        if (tok.type == "list_item_open" and tok.level == 1
                and tokens[i + 1].type == "paragraph_open" and tokens[i + 2].type == "inline"):
            children = tokens[i + 2].children
            first = children[0] if children else None
            if first is not None and first.type == "code_inline" and first.content.strip():
                files.append(first.content.strip())
    return list(dict.fromkeys(files))


def render_edit_proposal(run: Run, summary: str, diff: str) -> str:
    shown = visible(diff.rstrip(), multiline=True)
    # A fence longer than any run of backticks in the diff, so no line of it can close the
    # fence and have the rest rendered (and hidden) as Markdown.
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", shown)), default=0) + 1)
    return (
        f"# Proposed change: {md_text(summary, limit=SUMMARY_LIMIT) or md_text(run.task)}\n\n"
        f"> Baton run `{run.id}` · route **edit** ({md_text(run.route_reason)})\n"
        f"> Task: {md_text(run.task, limit=SUMMARY_LIMIT)}\n\n"
        f"{EDIT_WAITING}\n\n"
        + _verify_section(run) +
        f"{fence}diff\n{shown}\n{fence}\n")


def _verify_section(run: Run) -> str:
    """The verification as Markdown that renders as itself: each line escaped as data."""
    lines = verify_lines(run)
    if not lines:
        return ""
    head, rest = lines[0], lines[1:]
    return (f"**{md_text(head)}**\n\n" + "".join(f"- {md_text(line)}\n" for line in rest)
            + ("\n" if rest else ""))


def render_answer(run: Run, text: str) -> str:
    # The answer is the model's Markdown and stays Markdown; only hidden characters are shown.
    return (f"# {md_text(run.task, limit=SUMMARY_LIMIT)}\n\n> Baton run `{run.id}` · route "
            f"**ask** ({md_text(run.route_reason)})\n\n"
            f"{visible(text.strip(), multiline=True)}\n")


def render_changes(run: Run, diff: str) -> str:
    verify = "".join(f"# {line}\n" for line in verify_lines(run))
    return (f"# Baton run {run.id}: {visible(' '.join(run.task.split()), limit=200)}\n"
            + verify + CHANGES_WAITING + "\n" + diff)


def settle(text: str, outcome: Outcome, at: float) -> str | None:
    """`text`, a run document as the person has it now (their unsaved edits included), with
    its waiting line replaced by what became of it; None when there is no such line (the
    person removed or changed it: their text stays as it is). Only the first is replaced
    (a copy pasted further down is the person's), and nothing else changes."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        settled = _SETTLED.get(body, {}).get(outcome)
        if settled is not None:
            when = time.strftime("%H:%M", time.localtime(at))
            lines[i] = settled.format(at=when) + line[len(body):]
            return "".join(lines)
    return None


async def settle_document(host: Host, root: Path, run_id: str, path: Path,
                          outcome: Outcome) -> None:
    """Says in a run's document what became of it, the way Baton changes what the person
    may have open: an edit the editor applies to its buffer (their unsaved text stays, the
    version guards against typing meanwhile: then read again and tried once more), or, with
    no buffer of it open, the file on disk (Baton's own). Best effort: a document that
    cannot say so leaves the run as it is."""
    try:
        rel = path.relative_to(root).as_posix()
        for _ in range(2):
            doc = host.open_document(path)
            if doc is None:
                text = path.read_text(encoding="utf-8")
                if (after := settle(text, outcome, time.time())) is not None:
                    path.write_text(after, encoding="utf-8")
                return
            if (after := settle(doc.text, outcome, time.time())) is None:
                return
            done = await host.apply_edits(run_id, f"Baton run {run_id}: {path.name} {outcome}",
                                          [FileEdit(path=rel, before=doc.text, after=after,
                                                    version=doc.version)])
            if done.applied:
                return
        log.info("run %s: %s not marked %s (%s)", run_id, path.name, outcome, done.reason)
    except Exception as e:  # not in the workspace, gone, unreadable, the editor failed
        log.warning("run %s: %s not marked %s: %s", run_id, path.name, outcome, e)


def verify_lines(run: Run, most: int = 20) -> list[str]:
    """The last verification of the run's change, one line each: the verdict with the
    summary, then its new failures (each a line, whatever the output held)."""
    if not run.verifications:
        return []
    v = run.verifications[-1]
    out = [f"Verification {'passed' if v.passed else 'did not pass'}: {visible(v.summary, limit=300)}"]
    for f in v.findings[:most]:
        where = f"{f.path}:{f.line}: " if f.kind == "lint" else ""
        out.append("  " + visible(where + f.message, limit=300))
    if len(v.findings) > most:
        out.append(f"  … and {len(v.findings) - most} more")
    return out
