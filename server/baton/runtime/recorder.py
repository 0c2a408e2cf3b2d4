"""The recorder: how the runtime changes a run and says so. An event is appended to the
journal and folded into the in-memory `Run` (the run is what its events say); a
`baton/runChanged` notice and progress go to the host. Collaborators get this, never the
engine: it is the narrow way to change a run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from .actions import Action, allowed
from .context import RunContext
from ..providers.pricing import cost_text
from ..wire import RunChanged
from .host import Host
from .journal import Journal
from .runs import Event, Run, State
from .summary import summary


class Recorder:
    def __init__(self, journal: Journal, host: Host, redact: Callable[[str], str]) -> None:
        self.journal = journal
        self.host = host
        self.redact = redact

    def emit(self, ctx: RunContext, ev: Event) -> None:
        ev.ts = ev.ts or time.time()
        self.journal.append(ctx.run.id, ev)
        ctx.run.apply(ev)

    async def flush(self) -> None:
        """Everything emitted so far is durable (before a side effect not to repeat)."""
        await self.journal.flush()

    async def notify(self, ctx: RunContext, reason: str = "") -> None:
        await self.host.run_changed(self.notice(ctx, reason))

    async def progress(self, run_id: str, kind: Literal["begin", "report", "end"],
                       message: str) -> None:
        await self.host.progress(run_id, kind, message)

    def notice(self, ctx: RunContext, reason: str = "") -> RunChanged:
        run = ctx.run
        plan = ctx.folder / "plan.md"
        answer = ctx.folder / "answer.md"
        actions = allowed(run)
        if ctx.asking is not None and Action.ANSWER not in actions:  # a conflict asked meanwhile
            actions.append(Action.ANSWER)
        asked = run.question if run.state == State.AWAITING_INPUT else None
        return RunChanged(
            runId=run.id, state=run.state, route=run.route,
            routeReason=run.route_reason or None, task=run.task,
            planUri=plan.as_uri() if plan.exists() else None,
            answerUri=answer.as_uri() if answer.exists() else None,
            question=asked.question if asked else ctx.asking[0] if ctx.asking else None,
            error=self.redact(run.error) or None, usage=usage(run), held=ctx.held or None,
            reason=self.redact(reason) or None, actions=actions,
            verify=run.verifications[-1].wire() if run.verifications else None,
            permission=asked.wire_permission(self.redact) if asked else None,
            summary=summary(ctx, self.redact), createdAt=run.created_at)


def usage(run: Run) -> dict[str, dict[str, float]] | None:
    if not run.usage:
        return None
    return {role: u.model_dump() for role, u in run.usage.items()}


def usage_line(run: Run) -> str:
    total = run.total_usage()
    line = f"{total.input_tokens + total.output_tokens} tokens"
    if total.cached_tokens:
        line += f" ({total.cached_tokens} cached)"
    if total.cost_usd or total.unpriced_tokens:  # never "$0" for a model with no price
        line += f", {cost_text(total)}"
    return line
