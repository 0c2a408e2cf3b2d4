"""The documents a person reads and edits: `plan.md`, `answer.md`, `changes.diff`.

The plan's "Files" section is the write grant: accepting the plan grants exactly the
paths listed there *as the person left them*, so deleting a line narrows the grant.
"""

from __future__ import annotations

import re

from .runs import PlanSubmitted, Run

FILES_HEADING = "## Files this plan may write"
_FILE_LINE = re.compile(r"^\s*[-*]\s+`([^`]+)`\s*$")


def render_plan(run: Run, plan: PlanSubmitted, config_globs: list[str],
                command_prefixes: list[str] = ()) -> str:
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(plan.steps, 1))
    files = "\n".join(f"- `{f}`" for f in plan.files) or "- (none)"
    extra = ""
    if config_globs:
        extra = ("\n\nAlso writable by your configuration (`[permissions] write`): "
                 + ", ".join(f"`{g}`" for g in config_globs) + ".")
    if command_prefixes:
        extra += ("\n\nCommands run without asking (`[permissions] commands`, in the sandbox): "
                  + ", ".join(f"`{c}`" for c in command_prefixes) + "; any other command asks you.")
    return (
        f"# Plan: {plan.summary}\n\n"
        f"> Baton run `{run.id}` · route **{run.route}** ({run.route_reason})\n"
        f"> Task: {_one_line(run.task)}\n\n"
        f"## Steps\n\n{steps}\n\n"
        f"{FILES_HEADING}\n\n"
        "Accepting this plan lets the implementer write these paths; anything else asks you "
        f"first. Remove a line to withhold it.\n\n{files}{extra}\n\n"
        "---\n"
        "Edit this plan if you like, then use the code action **Accept plan** (or **Reject "
        "plan**). The implementer follows the text as it is when you accept.\n")


def granted_files(plan_text: str) -> list[str]:
    files: list[str] = []
    in_section = False
    for line in plan_text.splitlines():
        if line.startswith("#"):
            in_section = line.strip() == FILES_HEADING
            continue
        if in_section:
            if line.strip() == "---":
                break
            m = _FILE_LINE.match(line)
            if m:
                files.append(m.group(1).strip())
    return files


def render_edit_proposal(run: Run, summary: str, diff: str) -> str:
    return (
        f"# Proposed change: {_one_line(summary) or run.task}\n\n"
        f"> Baton run `{run.id}` · route **edit** ({run.route_reason})\n"
        f"> Task: {_one_line(run.task)}\n\n"
        "Nothing has been applied yet. **Accept plan** applies this change to your files; "
        "**Reject plan** discards it.\n\n"
        f"```diff\n{diff.rstrip()}\n```\n")


def render_answer(run: Run, text: str) -> str:
    return (f"# {_one_line(run.task)}\n\n> Baton run `{run.id}` · route **ask** "
            f"({run.route_reason})\n\n{text.strip()}\n")


def render_changes(run: Run, diff: str) -> str:
    return (f"# Baton run {run.id}: {_one_line(run.task)}\n"
            "# Use the code actions: Apply changes / Reject changes, or on a hunk:\n"
            "# Apply this hunk / Reject this hunk.\n" + diff)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "…"
