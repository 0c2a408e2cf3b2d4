"""Code actions (PROTOCOL §4): Accept/Reject in a plan awaiting approval, Apply/Reject in
a held `changes.diff`, `Fix with Baton` on diagnostics, and the selection actions.
Answered from memory only: a code-action request never waits on agent work.

Two selection actions carry the selected text itself, for clients that can neither prompt
nor pass an argument to a command (Helix, Kate, Sublime LSP): run it as a task, or answer
with it the question of a run awaiting input."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as t
from pygls.uris import to_fs_path
from pygls.workspace import Workspace

from ..display import visible
from .documents import open_buffer

FIX_CONTEXT_LINES = 3
SELECTED_LIMIT = 8000  # characters of selected text an action carries


def _run_file(runs_dir: Path, uri: str) -> tuple[str, str] | None:
    """(runId, file name) when `uri` is a run's document under .baton/runs/."""
    if "/runs/" not in uri:  # most requests: a person's file, told apart without parsing
        return None
    path = to_fs_path(uri)  # None unless a file: URI
    if path is None:
        return None
    try:
        rel = Path(path).relative_to(runs_dir)
    except ValueError:
        return None
    parts = rel.parts
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _cmd(title: str, command: str, arg: dict) -> t.CodeAction:
    return t.CodeAction(title=title, kind=t.CodeActionKind.QuickFix,
                        command=t.Command(title=title, command=command, arguments=[arg]))


def _apply_title(verify: dict[str, Any] | None) -> str:
    """Apply says what the project's own commands said of the change, when they ran."""
    if not verify:
        return "Apply changes"
    if verify.get("passed"):
        return "Apply changes (verify passed)"
    return f"Apply changes (verify did not pass: {visible(str(verify.get('summary', '')), limit=80)})"


def code_actions(runs_dir: Path, allowed: dict[str, list[str]], workspace: Workspace,
                 params: t.CodeActionParams,
                 verified: Mapping[str, dict[str, Any]] | None = None) -> list[t.CodeAction]:
    """`allowed` is what each run allows, as last notified (baton/runChanged's `actions`:
    the server's one rule, runtime/actions.py), `verified` its
    `verify` when it has one."""
    uri = params.text_document.uri
    out: list[t.CodeAction] = []
    found = _run_file(runs_dir, uri)
    if found:
        run_id, name = found
        actions = allowed.get(run_id)
        if actions is not None:
            arg = {"runId": run_id}
            if name == "plan.md" and "accept" in actions:
                out += [_cmd("Accept plan", "baton.plan.accept", arg),
                        _cmd("Reject plan", "baton.plan.reject", arg)]
            if name == "changes.diff" and "apply" in actions:
                out += _hunk_actions(workspace, uri, params.range, run_id)
                verify = (verified or {}).get(run_id)
                out += [_cmd(_apply_title(verify), "baton.edits.apply", arg),
                        _cmd("Reject changes", "baton.edits.reject", arg)]
        return out
    rng = _range(params.range)
    for diag in params.context.diagnostics or []:
        line = diag.range.start.line
        task = (f"Fix this problem reported by {diag.source or 'a tool'}"
                f"{f' ({diag.code})' if diag.code else ''}: {diag.message}")
        around = {"start": {"line": max(0, line - FIX_CONTEXT_LINES), "character": 0},
                  "end": {"line": diag.range.end.line + FIX_CONTEXT_LINES, "character": 0}}
        action = _cmd("Fix with Baton", "baton.run",
                      {"task": task, "uri": uri, "range": around, "route": "edit",
                       "diagnostic": f"line {line + 1}: {diag.message}"})
        action.diagnostics = [diag]
        out.append(action)
    if params.range.start != params.range.end:
        sel = {"uri": uri, "range": rng}
        out.append(_cmd("Ask Baton about this selection", "baton.selection.ask", sel))
        out.append(_cmd("Baton: edit this selection…", "baton.selection.edit", sel))
        out += _selected_text_actions(workspace, uri, params.range, allowed)
    return out


def _selected_text_actions(workspace: Workspace, uri: str, rng: t.Range,
                           allowed: dict[str, list[str]]) -> list[t.CodeAction]:
    doc = workspace.text_documents.get(unquote(uri))
    if doc is None:
        return []
    text = doc.source[doc.offset_at_position(rng.start):doc.offset_at_position(rng.end)].strip()
    if not text or len(text) > SELECTED_LIMIT:
        return []
    out = [_cmd("Run the selected text as a Baton task", "baton.run",
                {"task": text, "uri": uri, "range": _range(rng)})]
    for run_id, actions in allowed.items():
        if "answer" in actions:
            out.append(_cmd(f"Answer Baton run {run_id} with the selected text", "baton.run.answer",
                            {"runId": run_id, "answer": text}))
    return out


def _hunk_actions(workspace: Workspace, uri: str, rng: t.Range, run_id: str) -> list[t.CodeAction]:
    """`Apply this hunk` / `Reject this hunk` for each hunk the range touches, found in the
    document as the person sees it (the open buffer, else the file); the command checks the
    hunk is still pending, so a stale document cannot apply the wrong lines."""
    path = Path(to_fs_path(uri) or "")
    doc = open_buffer(workspace, path)
    try:
        text = doc.source if doc else path.read_text(encoding="utf-8")
    except OSError:
        return []
    out: list[t.CodeAction] = []
    from ..edits.hunks import at_lines, parse  # pydantic: only this process's diff documents need it
    touched = at_lines(parse(text), rng.start.line, rng.end.line)
    for h in touched:
        arg = {"runId": run_id, "path": h.path, "hunk": h.id}
        # Several hunks under one selection are told apart by where they land.
        where = "" if len(touched) == 1 else f" ({h.path}:{h.new_start})"
        out += [_cmd("Apply this hunk" + where, "baton.edits.applyHunk", arg),
                _cmd("Reject this hunk" + where, "baton.edits.rejectHunk", arg)]
    return out


def _range(r: t.Range) -> dict:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}
