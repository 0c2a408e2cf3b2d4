"""`baton.run.show`: a run as a person reads it, with a line per step from its transcript
(what the agents did, never what Baton told them)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..display import visible
from ..providers.base import ToolCall
from .context import RunContext
from .runs import (EVENT, AgentMessage, Answered, Approval, Asked, ChangesApplied, Compacted,
                   ConflictAnswered, ConflictAsked, Delivered, FailedOver, Paid, Permission,
                   PlanAccepted, Rejected, Reviewed, RevisionAsked, Routed, Run, StateChanged,
                   Steered, ToolDone, Verified, VerifyRan)
from .summary import changed_files, summary


TEXT_LIMIT = 200
SUBJECT_LIMIT = 100
# A call is shown by its subject (the file, the command), never its payload (a file's
# content, an edit's old and new text): those stay in the transcript. Quoted subjects are
# free text, so where they end is never in doubt.
_SUBJECT = {"read_file": "path", "write_file": "path", "edit_file": "path",
            "delete_file": "path", "list_files": "path", "search": "pattern",
            "run_command": "command", "classify": "route", "submit_plan": "summary",
            "submit_review": "verdict", "finish": "summary", "ask_user": "question"}
_QUOTED = {"pattern", "command", "summary", "question"}


def describe(ctx: RunContext, children: list[str],
             redact: Callable[[str], str] = lambda s: s) -> dict[str, Any]:
    run = ctx.run
    return {
        "runId": run.id, "task": run.task, "route": run.route, "routeReason": run.route_reason,
        "state": run.state, "createdAt": run.created_at, "error": run.error or None,
        "parentRunId": run.parent_run_id,
        "children": children,
        "plan": run.accepted_plan or (run.plan.text if run.plan else None),
        "answer": run.answer,
        "files": changed_files(ctx),
        "summary": s.model_dump(mode="json") if (s := summary(ctx, redact)) else None,
        "grant": ctx.grants.describe(),
        "usage": {role: u.model_dump() for role, u in run.usage.items()},
        "providers": run.providers,
        "question": run.question.question.model_dump() if run.question else None,
        "conflict": run.conflict.model_dump() if run.conflict else None,
        "held": ctx.held,
        "reverted": run.reverted,
        "reviews": [r.model_dump(exclude={"ts"}) for r in run.reviews],
        "verify": _verify(run),
        "events": transcript_summary(ctx.folder / "transcript.jsonl"),
    }


def _verify(run: Run) -> dict[str, Any] | None:
    """The last verification: verdict, summary, the report the reviewer saw; the time all
    verification took in this run (it counts against `[limits] run_seconds`)."""
    if not run.verifications:
        return None
    last = run.verifications[-1]
    return {"passed": last.passed, "summary": last.summary, "report": last.report,
            "rounds": len(run.verifications),
            "seconds": round(sum(v.duration_s for v in run.verifications), 3),
            "commandsRun": len(run.verify_outcomes)}


def transcript_summary(path: Path) -> list[str]:
    """A person's account of the run, a line per step with its time: what each agent said
    and did (its tool calls by their subject: `edit_file hello.py`, `run_command "pytest -q"`),
    what failed, what the person and Baton decided. From the run's transcript.jsonl (what the
    journal wrote, secrets already redacted). The messages Baton sent the agents (their
    prompts) and what tools returned stay in the transcript: they are the agents' reading,
    not steps. Model-written text is shown with `visible`, one line each."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    account = _Account()
    out: list[str] = []
    for line in lines:
        try:
            ev = EVENT.validate_json(line)
        except ValueError:
            continue
        when = time.strftime("%H:%M:%S", time.localtime(ev.ts))
        out += [f"{when} {text}" for text in account.step(ev)]
    return out


class _Account:
    """Steps from events, in order; remembers what a later event needs (a call's subject
    for its failure, the provider each agent last spoke through)."""

    def __init__(self) -> None:
        self.calls: dict[str, str] = {}
        self.providers: dict[str, str] = {}

    def step(self, ev: Any) -> list[str]:
        match ev:
            case AgentMessage() if ev.message.role == "assistant":
                return self._turn(ev)
            case ToolDone() if ev.result.is_error:
                r = ev.result
                what = self.calls.get(r.call_id) or visible(r.name, limit=SUBJECT_LIMIT)
                return [f"{ev.agent}: {what} failed: {visible(r.content, limit=TEXT_LIMIT)}"]
        return _describe(ev)

    def _turn(self, ev: AgentMessage) -> list[str]:
        """An agent's turn: its text, then its calls. The provider is named when it changes
        (the agent's first turn, a failover)."""
        who = ev.agent
        if ev.provider and self.providers.get(ev.agent) != ev.provider:
            who += f" [{ev.provider}]"
            self.providers[ev.agent] = ev.provider
        text = ev.message.text.strip()
        said = [visible(text, limit=TEXT_LIMIT)] if text else []
        for c in ev.message.tool_calls:
            self.calls[c.id] = call_line(c)
            said.append(self.calls[c.id])
        return [f"{who if i == 0 else ev.agent}: {line}" for i, line in enumerate(said)]


def _describe(ev: Any) -> list[str]:
    match ev:
        case StateChanged():
            return [f"state → {ev.state}" + (f" ({_text(ev.reason)})" if ev.reason else "")]
        case Routed():
            return [f"route {ev.route} by {ev.source}: {_text(ev.reason)}"]
        case Compacted():
            return [(f"{ev.agent}: {len(ev.edits)} older message(s) compacted to fit the "
                     f"model's context window (the conversation was ~{ev.tokens:,} tokens)")]
        case Paid():
            tokens = ev.usage.input_tokens + ev.usage.output_tokens
            return [f"{ev.agent}: {tokens:,} tokens paid for a turn that is not kept "
                    f"({_text(ev.why)})"]
        case FailedOver():
            return [f"{ev.agent}: {visible(ev.message, limit=2 * TEXT_LIMIT)}"]
        case PlanAccepted():
            return ["you: accept"]
        case ChangesApplied():
            return ["you: apply"]
        case RevisionAsked():
            return [f"you: revise ({_text(ev.feedback)})"]
        case Rejected():
            return ["you: reject" + (f" ({_text(ev.reason)})" if ev.reason else "")]
        case Approval():  # journals before Baton 0.2
            return [f"you: {ev.decision}" + (f" ({_text(ev.text)})" if ev.decision != "accept" and ev.text else "")]
        case Asked():
            return [f"{ev.agent} asks: {_text(ev.question.text)}"]
        case Answered():
            return [f"you answered: {_text(ev.answer)}"]
        case ConflictAsked():
            return [f"Baton asks: {_text(ev.question.text)}"]
        case ConflictAnswered():
            return [f"you answered: {_text(ev.answer)}" if ev.answer is not None else
                    f"conflict question closed ({_text(ev.reason)}): its hunks stay held"]
        case Steered():
            return [f"{'you' if ev.source == 'person' else 'Baton'} noted: {_text(ev.message)}"]
        case Permission():
            return [f"permission for {_text(ev.subject)}: {ev.answer}"]
        case Delivered():
            what = "revert" if ev.revert else "edits"
            files = ", ".join(visible(e.path) for e in ev.edits) or "nothing"
            return [_text(f"{what} of {files}: {'applied' if ev.applied else 'not applied'}"
                          + (f" ({ev.reason})" if ev.reason else ""))]
        case Reviewed():
            return [f"review: {ev.verdict}, {len(ev.findings)} finding(s)"]
        case VerifyRan():
            o = ev.outcome
            status = (f"not run ({o.error})" if o.error else "timed out" if o.timed_out
                      else f"exit {o.exit_code}")
            return [_text(f"verify ran {o.command[:80]} on the {o.side}: {status}, "
                          f"{o.duration_s:.1f} s")]
        case Verified():
            return [f"verify {'passed' if ev.passed else 'did not pass'}: {_text(ev.summary)}"
                    + (" (sent back to the implementer)" if ev.sent_back else "")]
    return []


def call_line(call: ToolCall) -> str:
    """`read_file hello.py`, `run_command "pytest -q"`, `submit_review approve, 2 finding(s)`;
    another tool (an MCP server's) with its arguments as `key=value`."""
    args = call.arguments
    key = _SUBJECT.get(call.name)
    if key is None:
        shown = " ".join(f"{visible(k, limit=40)}={_quote(v)}" for k, v in args.items())
        return visible(f"{call.name} {shown}".rstrip(), limit=TEXT_LIMIT)
    value = args.get(key)
    subject = ("" if value is None else _quote(value) if key in _QUOTED or not isinstance(value, str)
               else visible(value, limit=SUBJECT_LIMIT))
    return f"{call.name} {subject}{_detail(call.name, args)}".rstrip()


def _detail(name: str, args: dict[str, Any]) -> str:
    """What tells two calls of a tool on the same subject apart, briefly."""
    match name:
        case "read_file":
            first, last = args.get("start_line"), args.get("end_line")
            if isinstance(first, int) or isinstance(last, int):
                return f" lines {first if isinstance(first, int) else 1}-{last if isinstance(last, int) else 'end'}"
        case "search" | "list_files":
            where = args.get("path") if name == "search" else None
            glob = args.get("glob")
            return ((f" in {visible(where, limit=SUBJECT_LIMIT)}" if isinstance(where, str) and where != "." else "")
                    + (f" (files {_quote(glob)})" if isinstance(glob, str) else ""))
        case "submit_review" if isinstance(args.get("findings"), list):
            return f", {len(args['findings'])} finding(s)"
        case "submit_plan" if isinstance(args.get("files"), list):
            return f", {len(args['files'])} file(s)"
    return ""


def _quote(value: Any) -> str:
    return visible(json.dumps(value, ensure_ascii=False), limit=SUBJECT_LIMIT)


def _text(text: str | None) -> str:
    """Text a model, a repository or a person wrote, as one visible line."""
    return visible(text or "", limit=TEXT_LIMIT)
