"""What a run did, said once: the `summary` of `baton/runChanged`, `baton.runs` and
`baton.run.show` (the implementer's finish summary, the files it changed, the review's
verdict and findings), and the files a run changed, which `baton.run.show` lists too."""

from __future__ import annotations

from collections.abc import Callable

from ..display import visible
from ..wire import Summary
from .context import RunContext
from .runs import TERMINAL, Run, State

SUMMARY_LIMIT = 2000  # characters of a model's summary a client is given to show


def changed_files(ctx: RunContext) -> list[str]:
    """Workspace-relative: what its deliveries carried and what its agents touched."""
    run = ctx.run
    return sorted({e.path for d in run.deliveries for e in d.edits} | set(ctx.shadow.touched))


def finish_summary(run: Run) -> str:
    """What the implementer said it did, in its last `finish` call."""
    for message in reversed(run.conversations.get("implementer", [])):
        for call in reversed(message.tool_calls):
            if call.name == "finish":
                return str(call.arguments.get("summary", ""))
    return ""


def summary(ctx: RunContext, redact: Callable[[str], str] = lambda s: s) -> Summary | None:
    """At done and awaiting_apply, and at the other ends once something was done; None
    while the run works (or when it ended having done nothing). The text is the model's:
    `redact` takes out the keys it might repeat, as the journal does."""
    run = ctx.run
    files = changed_files(ctx)
    text = finish_summary(run) or (run.answer or "").strip().split("\n", 1)[0]
    if run.state not in (State.DONE, State.AWAITING_APPLY) and not (
            run.state in TERMINAL and (files or text or run.reviews)):
        return None
    review = run.reviews[-1] if run.reviews else None
    return Summary(text=visible(redact(text), multiline=True, limit=SUMMARY_LIMIT), files=files,
                   verdict=review.verdict if review else None,
                   findings=len(review.findings) if review else 0)
