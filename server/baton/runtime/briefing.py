"""What a run's agents are told: the selection and the parent run, fixed when the run is
created, and each agent's first message (agents/context.py builds it within its budget)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pygls.uris import to_fs_path

from ..agents import context as agent_context
from ..edits.diff import unified_diff
from ..sandbox.shadow import read_text_file
from .context import RunContext
from .delivery import Delivery
from .host import Host
from .runs import Route

CONTEXT_LINES = 20  # lines around a selection given to agents


def relative_uri(root: Path, uri: str) -> str | None:
    """The workspace-relative path of a file: URI, or None if it is not in the workspace."""
    path = to_fs_path(uri)
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


class Briefing:
    def __init__(self, root: Path, *, host: Host, delivery: Delivery,
                 runs: Mapping[str, RunContext]) -> None:
        self.root = root
        self.host = host
        self.delivery = delivery
        self.runs = runs

    def run_diff(self, ctx: RunContext) -> str:
        """The whole change of the run so far: original base → shadow, per touched file."""
        return "".join(unified_diff(c.path, c.base, c.new) for c in self.delivery.full_changes(ctx))

    # -- at creation ------------------------------------------------------------------
    def gather(self, uri: str | None, range_: dict[str, Any] | None,
               parent_run_id: str | None) -> dict[str, Any]:
        """The selection (with its surroundings) and the parent run, as `Created` fields."""
        out: dict[str, Any] = {"context": ""}
        if uri:
            rel = relative_uri(self.root, uri)
            if rel is None:
                out["context"] = f"(The person pointed at {uri}, which is outside the workspace.)"
            else:
                out["selection_path"] = rel
                out["selection"] = self._selection(rel, range_)
        if parent_run_id:
            out["context"] = (out["context"] + "\n\n" + self._parent_context(parent_run_id)).strip()
        return out

    def _selection(self, rel: str, range_: dict[str, Any] | None) -> str | None:
        path = self.root / rel
        try:
            doc = self.host.open_document(path)
            text = (doc.text if doc else None) or read_text_file(path) or ""
        except Exception:
            text = ""
        lines = text.splitlines()
        if not range_ or not lines:
            return None
        try:
            start = int(range_["start"]["line"])
            end = int(range_["end"]["line"])
        except (KeyError, TypeError, ValueError):
            return None
        lo, hi = max(0, start - CONTEXT_LINES), min(len(lines), end + 1 + CONTEXT_LINES)
        selected = "\n".join(lines[start:end + 1])
        around = "\n".join(f"{i + 1:5}  {lines[i]}" for i in range(lo, hi))
        return (f"Lines {start + 1}-{end + 1}:\n{selected}\n\nWith the code around them:\n{around}")

    def _parent_context(self, parent_run_id: str) -> str:
        pctx = self.runs[parent_run_id]
        p = pctx.run
        status = f"it ended {p.state}" + (f" ({p.error})" if p.error else "")
        if p.reverted:
            status += "; its changes were reverted"
        out = [f"This is a follow-up to run {p.id}: \"{p.task}\" ({status})."]
        if p.accepted_plan:
            out.append(f"Its accepted plan:\n{p.accepted_plan[:4000]}")
        diff = self.run_diff(pctx)
        if diff:
            out.append(f"Its changes:\n```diff\n{diff[:6000]}\n```")
        if p.answer:
            out.append(f"Its answer:\n{p.answer[:3000]}")
        said = [m.text for conv in p.conversations.values() for m in conv
                if m.role == "assistant" and m.text.strip()]
        if said:
            out.append("What its agents said, last first:\n" + "\n".join(
                f"- {t.strip()[:300]}" for t in reversed(said[-8:])))
        return "\n\n".join(out)

    # -- each agent's first message ---------------------------------------------------
    async def first_message(self, ctx: RunContext, role: str,
                            context_window: int | None = None) -> str:
        """The role's deliberate context (agents/context.py): the stable part first
        (project instructions, repository map) so provider prompt caching applies; sized to
        leave the model's window (tokens) room for the conversation."""
        run = ctx.run
        route = run.route or Route.PLAN
        budget = agent_context.default_budget(role, route, context_window)
        root = self.root

        def stable() -> tuple[str, str]:
            if role == "classifier":
                return "", ""
            instructions = agent_context.project_instructions(root)
            repo = agent_context.repo_map(root, agent_context.repo_map_budget(role, budget, instructions))
            return instructions, repo
        instructions, repo = await asyncio.to_thread(stable)
        task = run.task + (f"\n\n{run.context}" if run.context else "")
        prefix, part = agent_context.build_context(
            role, task=task, selection=run.selection, selection_path=run.selection_path,
            diagnostic=run.diagnostic, open_buffers=self._open_buffers(),
            instructions=instructions, repo_map=repo, plan=run.accepted_plan,
            diff=self.run_diff(ctx) if role in ("implementer", "reviewer") else None,
            budget_chars=budget)
        if role == "reviewer" and run.verifications:  # the change's evidence, new failures first
            part += f"\n\n{run.verifications[-1].report}"
        return f"{prefix}\n\n{part}" if prefix else part

    def _open_buffers(self, limit: int = 8) -> dict[str, str]:
        out: dict[str, str] = {}
        for path in self.host.open_paths():
            if len(out) >= limit:
                break
            try:
                rel = path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                continue
            if rel.startswith(".baton/"):
                continue
            doc = self.host.open_document(path)
            if doc is not None:
                out[rel] = doc.text
        return out
