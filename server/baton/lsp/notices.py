"""What a client that shows neither progress nor documents is told, in words a person can
act on: every state in its log, and at each state that needs the person a message naming
the file and the code action, or the command with the run's id (docs/protocol.md).

The notice's texts (task, reason, error, question) were already made visible by the engine
process's host; paths are made visible here.
"""

from __future__ import annotations

import json
from typing import Any

from pygls.uris import to_fs_path

from ..display import visible

LIMIT = 4000


def _path(uri: str) -> str:
    return visible(to_fs_path(uri) or uri)


def _command(name: str, run_id: str, **extra: str) -> str:
    return f"the command {name} with {json.dumps({'runId': run_id, **extra}, ensure_ascii=False)}"


def state_line(n: dict[str, Any]) -> str:
    why = n.get("error") or n.get("reason")
    return visible(f"Baton run {n['runId']}: {n['state']}" + (f" ({why})" if why else "")
                   + f" — {n.get('task', '')}", limit=LIMIT)


def to_act_on(n: dict[str, Any]) -> str | None:
    """The message for a state the person must act on or learn the end of; None otherwise.
    A plan or held changes waiting are said where the document is shown (`open_this`)."""
    run_id, state = n["runId"], n["state"]
    lead = f"Baton run {run_id}"
    match state:
        case _ if n.get("question"):  # a question or permission (awaiting_input), a conflict
            q = n["question"]
            options = q.get("options") or []
            how = (f"choose one of: {', '.join(options)}; " if options else "") + "answer with " + \
                _command("baton.run.answer", run_id, answer="…")
            text = f"{lead} asks: {q['text']} ({how})"
        case "done":
            held = n.get("held")
            text = f"{lead} is done" + (f": {n['reason']}" if n.get("reason") else "") + (
                f". {held} change(s) are held in changes.diff" if held else "")
        case "failed":
            text = f"{lead} failed: {n.get('error') or n.get('reason') or 'see the log'}"
        case "rejected" | "cancelled":
            text = f"{lead} {state}" + (f": {n['reason']}" if n.get("reason") else "")
        case _:
            return None
    return visible(text, multiline=True, limit=LIMIT)


def open_this(uri: str) -> str:
    """For a client without window/showDocument: which file to open and how to go on."""
    path = _path(uri)
    folder, _, name = uri.rstrip("/").rpartition("/")
    run_id = visible(folder.rpartition("/")[2])
    if name == "plan.md":
        how = ("Open it and use the code action “Accept plan” (or “Reject plan”) there — you "
               "may edit the plan first — or run " + _command("baton.plan.accept", run_id) + ".")
        text = f"Baton run {run_id}: a plan awaits your approval in {path}. {how}"
    elif name == "changes.diff":
        text = (f"Baton run {run_id}: changes are held in {path}. Open it and use the code "
                "action “Apply changes” (or “Reject changes”, or one hunk at a time), or run "
                + _command("baton.edits.apply", run_id) + ".")
    elif name == "answer.md":
        text = f"Baton run {run_id} answered in {path}."
    else:
        text = f"Baton: open {path}"
    return visible(text, limit=LIMIT)
