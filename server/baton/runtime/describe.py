"""`baton.run.show`: a run as a person reads it, with a line per step from its transcript."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .context import RunContext
from .summary import changed_files, summary
from .runs import (EVENT, AgentMessage, Answered, Approval, Asked, ChangesApplied, Compacted,
                   ConflictAnswered, ConflictAsked, Delivered, Permission, PlanAccepted,
                   Rejected, Reviewed, RevisionAsked, Routed, Run, StateChanged, Steered,
                   ToolDone, Verified, VerifyRan)


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
        "events": transcript_summary(ctx),
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


def transcript_summary(ctx: RunContext) -> list[str]:
    """A readable line per step, in order, with its time: from the run's transcript.jsonl
    (what the journal wrote, secrets already redacted)."""
    path = ctx.folder / "transcript.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out: list[str] = []
    for line in lines:
        try:
            ev = EVENT.validate_json(line)
        except ValueError:
            continue
        when = time.strftime("%H:%M:%S", time.localtime(ev.ts))
        out += [f"{when} {text}" for text in _describe(ev)]
    return out


def _describe(ev: Any) -> list[str]:
    match ev:
        case StateChanged():
            return [f"state → {ev.state}" + (f" ({ev.reason})" if ev.reason else "")]
        case Routed():
            return [f"route {ev.route} by {ev.source}: {ev.reason}"]
        case AgentMessage() if ev.message.role == "assistant":
            who = f"{ev.agent}" + (f" [{ev.provider}]" if ev.provider else "")
            said = [f"{who}: {ev.message.text.strip()[:200]}"] if ev.message.text.strip() else []
            return said + [f"{who} → {c.name}({_args(c.arguments)})" for c in ev.message.tool_calls]
        case AgentMessage():
            return [f"to {ev.agent}: {ev.message.text.strip()[:200]}"]
        case ToolDone():
            r = ev.result
            return [f"{ev.agent} ← {r.name}: {'ERROR ' if r.is_error else ''}{r.content[:120]}"]
        case Compacted():
            return [f"{ev.agent}: {len(ev.edits)} older message(s) compacted to fit the model's "
                    f"context window (the conversation was ~{ev.tokens:,} tokens)"]
        case PlanAccepted():
            return ["you: accept"]
        case ChangesApplied():
            return ["you: apply"]
        case RevisionAsked():
            return [f"you: revise ({ev.feedback[:120]})"]
        case Rejected():
            return ["you: reject" + (f" ({ev.reason[:120]})" if ev.reason else "")]
        case Approval():  # journals before Baton 0.2
            return [f"you: {ev.decision}" + (f" ({ev.text[:120]})" if ev.decision != "accept" and ev.text else "")]
        case Asked():
            return [f"{ev.agent} asks: {ev.question.text}"]
        case Answered():
            return [f"you answered: {ev.answer}"]
        case ConflictAsked():
            return [f"Baton asks: {ev.question.text}"]
        case ConflictAnswered():
            return [f"you answered: {ev.answer}" if ev.answer is not None else
                    f"conflict question closed ({ev.reason}): its hunks stay held"]
        case Steered():
            return [f"{'you' if ev.source == 'person' else 'Baton'} noted: {ev.message}"]
        case Permission():
            return [f"permission for {ev.subject}: {ev.answer}"]
        case Delivered():
            what = "revert" if ev.revert else "edits"
            files = ", ".join(e.path for e in ev.edits) or "nothing"
            return [f"{what} of {files}: {'applied' if ev.applied else 'not applied'}"
                    + (f" ({ev.reason})" if ev.reason else "")]
        case Reviewed():
            return [f"review: {ev.verdict}, {len(ev.findings)} finding(s)"]
        case VerifyRan():
            o = ev.outcome
            status = (f"not run ({o.error})" if o.error else "timed out" if o.timed_out
                      else f"exit {o.exit_code}")
            return [f"verify ran {o.command[:80]} on the {o.side}: {status}, {o.duration_s:.1f} s"]
        case Verified():
            return [f"verify {'passed' if ev.passed else 'did not pass'}: {ev.summary}"
                    + (" (sent back to the implementer)" if ev.sent_back else "")]
    return []


def _args(arguments: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return text if len(text) <= 120 else text[:117] + "…"
