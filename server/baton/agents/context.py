"""What each role is shown: a deliberate context with a budget per section.

A prompt is two parts. The *stable prefix* (project instructions, repository map) depends
only on the workspace, the role and the budget, never on the task, so a provider's prompt
cache reuses it across turns and across runs. The *task part* (task, plan, selection,
diagnostic, open buffers, diff so far) comes after it. Every section has a share of the
role's budget; what a section does not use goes to the others of its part, and what does
not fit is cut by `truncate`, deterministically, with a marker saying how much was cut.

Sizes are in characters; `estimate_tokens` converts with the usual ~4 characters a token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from .repomap import repo_map, walk_files

__all__ = ["build_context", "default_budget", "estimate_tokens", "project_instructions",
           "repo_map", "repo_map_budget", "truncate", "walk_files"]

Keep = Literal["head", "tail", "middle"]

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md",
                     ".baton/instructions.md")
INSTRUCTIONS_FILE_CAP = 6_000
INSTRUCTIONS_TOTAL_CAP = 16_000

MIN_BUFFER_CHARS = 200
NOTE_CAP = 300

# Share of the role's budget per section. The stable sections come first in the prompt.
STABLE_SECTIONS = ("instructions", "repo_map")
ROLE_SHARES: dict[str, dict[str, float]] = {
    "planner": {"instructions": 0.15, "repo_map": 0.30, "task": 0.08, "selection": 0.15,
                "diagnostic": 0.05, "open_buffers": 0.27},
    "implementer": {"instructions": 0.10, "repo_map": 0.15, "task": 0.05, "plan": 0.15,
                    "selection": 0.10, "diagnostic": 0.05, "open_buffers": 0.20, "diff": 0.20},
    "reviewer": {"instructions": 0.10, "repo_map": 0.10, "task": 0.05, "plan": 0.15,
                 "selection": 0.05, "diagnostic": 0.05, "open_buffers": 0.10, "diff": 0.40},
}
ROLES = ("classifier", *ROLE_SHARES)

# Suggested budgets per role, in characters (÷4 ≈ tokens). `ask` and `edit` runs work in one
# place with one role, and their agent reads more with tools when it must; a quarter keeps
# them well under the cost of the `plan` route (its three roles each get a full budget).
DEFAULT_BUDGET_CHARS = {"classifier": 2_000, "planner": 48_000, "implementer": 48_000,
                        "reviewer": 40_000}
SINGLE_ROLE_ROUTE_FACTOR = 0.25
# The first message takes at most this share of the model's window: the rest is for the
# conversation to grow into (agents/compaction.py never cuts the first message).
WINDOW_SHARE = 0.3


def default_budget(role: str, route: str, context_window: int | None = None) -> int:
    """The suggested budget of `role` in a run of `route` ("ask", "edit" or "plan"), within
    WINDOW_SHARE of the model's `context_window` (tokens) when that is known."""
    budget = DEFAULT_BUDGET_CHARS[role]
    if route in ("ask", "edit") and role != "classifier":
        budget = int(budget * SINGLE_ROLE_ROUTE_FACTOR)
    if context_window:
        budget = min(budget, int(context_window * WINDOW_SHARE * 4))  # ~4 characters a token
    return budget


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: ~4 characters a token for English and code."""
    return math.ceil(len(text) / 4)


# --- truncation

def _marker(cut: int) -> str:
    return f"[… {cut} characters cut]"


def truncate(text: str, budget_chars: int, keep: Keep = "head") -> str:
    """`text` cut to at most `budget_chars`, keeping its head, tail or middle.

    Cuts at a line boundary when one is near, and says how much was cut. Same input, same
    output. Too small a budget for the marker gets a bare slice.
    """
    if budget_chars <= 0:
        return ""
    if len(text) <= budget_chars:
        return text
    markers = 2 if keep == "middle" else 1
    # +1 per marker for its newline; the count has at most as many digits as len(text).
    room = budget_chars - markers * (len(_marker(len(text))) + 1)
    if room <= 0:
        start = {"head": 0, "tail": len(text) - budget_chars,
                 "middle": (len(text) - budget_chars) // 2}[keep]
        return text[start:start + budget_chars]
    if keep == "head":
        kept = text[:room]
        nl = kept.rfind("\n")
        if nl >= room // 2:
            kept = kept[:nl + 1]
        sep = "" if kept.endswith("\n") else "\n"
        return kept + sep + _marker(len(text) - len(kept))
    if keep == "tail":
        kept = text[-room:]
        nl = kept.find("\n")
        if 0 <= nl < room // 2:
            kept = kept[nl + 1:]
        return _marker(len(text) - len(kept)) + "\n" + kept
    start = (len(text) - room) // 2
    kept = text[start:start + room]
    return (_marker(start) + "\n" + kept + "\n" + _marker(len(text) - start - len(kept)))


# --- project instructions

def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True


def project_instructions(root: Path, *, file_cap: int = INSTRUCTIONS_FILE_CAP,
                         total_cap: int = INSTRUCTIONS_TOTAL_CAP) -> str:
    """The project's instruction files, each labelled with its path and capped.

    A file that is a symlink out of the workspace is not read (it could be anything on the
    machine); one with the same text as an earlier file (CLAUDE.md → AGENTS.md) is named,
    not repeated.
    """
    parts: list[str] = []
    seen: dict[str, str] = {}
    for rel in INSTRUCTION_FILES:
        path = root / rel
        if not path.is_file() or not _inside(root, path):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if not text:
            continue
        if text in seen:
            parts.append(f"## {rel}\n(same text as {seen[text]})")
            continue
        seen[text] = rel
        parts.append(f"## {rel}\n{truncate(text, file_cap)}")
    return truncate("\n\n".join(parts), total_cap)


# --- the context of one role

def _fence(text: str, info: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _allocate(sizes: Mapping[str, int], shares: Mapping[str, float], pool: int) -> dict[str, int]:
    """Budgets by share; what a section does not need goes to the others (water-filling)."""
    budgets: dict[str, int] = {}
    open_ = [n for n in sizes if sizes[n] > 0]
    while open_:
        weight = sum(shares[n] for n in open_)
        fits = [n for n in open_ if sizes[n] <= pool * shares[n] / weight]
        if not fits:
            for n in open_:
                budgets[n] = int(pool * shares[n] / weight)
            break
        for n in fits:
            budgets[n] = sizes[n]
            pool -= sizes[n]
        open_ = [n for n in open_ if n not in fits]
    return budgets


class _Section:
    """A titled block whose body is cut to fit the budget it is given."""

    def __init__(self, title: str, body: str, *, keep: Keep = "head", fenced: bool = False,
                 info: str = "") -> None:
        self.title, self.body, self.keep, self.fenced, self.info = title, body, keep, fenced, info

    def render(self, budget: int | None = None) -> str:
        head = f"# {self.title}\n"
        fence = len(_fence(self.body, self.info)) - len(self.body) if self.fenced else 0
        overhead = len(head) + fence + 2  # + the "\n\n" that joins sections
        body = self.body if budget is None else truncate(self.body, budget - overhead, self.keep)
        if not body:
            return ""
        return head + (_fence(body, self.info) if self.fenced else body)


def _buffers(open_buffers: Mapping[str, str], first: str | None, budget: int | None) -> str:
    """The open buffers, the selected file's first, sharing `budget` equally (water-filled)."""
    order = sorted(open_buffers, key=lambda p: (p != first, p))
    blocks = {p: f"## {p}\n" + _fence(open_buffers[p]) for p in order}
    if budget is None:
        return "\n\n".join(blocks.values())
    sizes = {p: len(b) + 2 for p, b in blocks.items()}
    overhead = {p: sizes[p] - len(open_buffers[p]) for p in order}
    kept, reserve, got = order, 0, {}
    for _ in range(len(order) + 1):
        got = _allocate({p: sizes[p] for p in kept}, dict.fromkeys(kept, 1.0), budget - reserve)
        # A few lines of a file mislead more than they help: leave it out, name it instead.
        drop = [p for p in kept if sizes[p] > got[p] and got[p] - overhead[p] < MIN_BUFFER_CHARS]
        if not drop:
            break
        kept = [p for p in kept if p not in drop]
        reserve = NOTE_CAP + 2
    out = [f"## {p}\n" + _fence(truncate(open_buffers[p], got[p] - overhead[p])) for p in kept]
    left_out = [p for p in order if p not in kept]
    if left_out:
        note = truncate("Also open, not shown: " + ", ".join(left_out), min(NOTE_CAP, budget))
        out.append(note)
    return "\n\n".join(out)


def _classifier_context(task: str, selection: str | None, selection_path: str | None,
                        diagnostic: str | None, open_buffers: Mapping[str, str],
                        plan: str | None, budget_chars: int) -> tuple[str, str]:
    facts = []
    if selection:
        n = max(len(selection.splitlines()), 1)
        facts.append(f"- a selection of {n} line{'s' * (n != 1)} in {selection_path or 'an open file'}")
    if diagnostic:
        facts.append(f"- a diagnostic: {truncate(diagnostic.strip().splitlines()[0], 200)}")
    if open_buffers:
        names = sorted(open_buffers)
        facts.append(f"- {len(names)} open file(s): {', '.join(names[:5])}"
                     + (" …" if len(names) > 5 else ""))
    if plan:
        facts.append("- a plan was already accepted")
    summary = "# Context\n" + ("\n".join(facts) if facts else "- nothing selected, nothing open")
    summary = truncate(summary, budget_chars // 3)
    task_budget = budget_chars - len(summary) - len("# Task\n") - 2
    return "", f"# Task\n{truncate(task, task_budget)}\n\n{summary}"


def repo_map_budget(role: str, budget_chars: int, instructions: str) -> int:
    """What `build_context` will leave the repository map for `role`: pass it to `repo_map`
    so the map is cut by its own rules (shallow folders first, a count of the rest)."""
    if role == "classifier":
        return 0
    shares = ROLE_SHARES[role]
    sizes = {"repo_map": budget_chars}
    if instructions.strip():
        sizes["instructions"] = len(_Section("Project instructions", instructions.strip()).render()) + 2
    pool = int(budget_chars * sum(shares[n] for n in STABLE_SECTIONS))
    got = _allocate(sizes, shares, pool)["repo_map"]
    return max(got - len("# Repository map\n") - 2, 0)


def build_context(role: str, *, task: str, selection: str | None, selection_path: str | None,
                  diagnostic: str | None, open_buffers: dict[str, str], instructions: str,
                  repo_map: str, plan: str | None, diff: str | None,
                  budget_chars: int) -> tuple[str, str]:
    """(stable_prefix, task_part) for `role`, together at most `budget_chars` long.

    The classifier gets only the task and a short summary of what is around it (its
    prefix is empty). The planner gets instructions and repository map, then the task,
    selection, diagnostic and open buffers; implementer and reviewer also the accepted
    plan and the diff so far. Absent or empty inputs leave their section out.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if role == "classifier":
        return _classifier_context(task, selection, selection_path, diagnostic, open_buffers,
                                   plan, budget_chars)
    shares = ROLE_SHARES[role]
    sections: dict[str, _Section] = {
        "instructions": _Section("Project instructions", instructions.strip()),
        "repo_map": _Section("Repository map", repo_map.strip()),
        "task": _Section("Task", task.strip()),
    }
    if "plan" in shares and plan and plan.strip():
        sections["plan"] = _Section("Accepted plan", plan.strip())
    if selection:
        sections["selection"] = _Section(f"Selection ({selection_path or 'unsaved buffer'})",
                                         # the selected lines sit between the code around them
                                         selection, keep="middle", fenced=True)
    if diagnostic and diagnostic.strip():
        sections["diagnostic"] = _Section("Diagnostic", diagnostic.strip())
    if "diff" in shares and diff and diff.strip():
        sections["diff"] = _Section("Changes so far", diff, fenced=True, info="diff")
    buffers = {p: t for p, t in sorted(open_buffers.items()) if t}
    sizes = {n: len(s.render()) + 2 for n, s in sections.items()}
    if buffers:
        sizes["open_buffers"] = len("# Open buffers\n") + len(_buffers(buffers, selection_path, None)) + 2

    # The stable part is sized from stable inputs only, so a new task never changes it.
    stable_sizes = {n: sizes[n] for n in STABLE_SECTIONS if n in sizes}
    stable_pool = int(budget_chars * sum(shares[n] for n in STABLE_SECTIONS))
    stable_budgets = _allocate(stable_sizes, shares, stable_pool)
    stable = "\n\n".join(r for n in STABLE_SECTIONS if n in stable_budgets
                         and (r := sections[n].render(stable_budgets[n])))

    run_pool = budget_chars - (len(stable) + 2 if stable else 0)
    run_sizes = {n: s for n, s in sizes.items() if n not in STABLE_SECTIONS}
    run_budgets = _allocate(run_sizes, shares, run_pool)
    parts = []
    for name in ("task", "plan", "selection", "diagnostic", "open_buffers", "diff"):
        if name not in run_budgets:
            continue
        if name == "open_buffers":
            inner = run_budgets[name] - len("# Open buffers\n") - 2
            text = _buffers(buffers, selection_path, inner)
            rendered = f"# Open buffers\n{text}" if text else ""
        else:
            rendered = sections[name].render(run_budgets[name])
        if rendered:
            parts.append(rendered)
    return stable, "\n\n".join(parts)
