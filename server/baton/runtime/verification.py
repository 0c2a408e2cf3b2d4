"""The `verifying` state's work (PROTOCOL §3): `[verify] commands` on a run's change and
its base (verify/), each outcome journaled, and the result said where the person and the
agents look. The workflow decides what follows (back to the implementer, or on).

Outcomes are kept by content (verify/runner.py): the engine's one cache serves every run
of the workspace (a base checked for one run is not run again for the next), and a
restarted run seeds it from its journal, so a command that completed is not run again.
The run's time limit (`[limits] run_seconds`) bounds verification too: a command is not
started with too little of it left, and one running when it runs out is stopped.
"""

from __future__ import annotations

import time

from ..errors import ToolRefused
from ..sandbox.paths import PathPolicy
from ..verify.outcome import Side
from ..verify.report import VerifyResult
from ..verify.runner import OutcomeCache, Verifier
from .context import RunContext
from .host import Finding
from .recorder import Recorder
from .runs import Run, Verified, VerifyRan
from .settings import Settings

FINDINGS_KEPT = 50  # new failures a Verified event keeps (the report says the rest)


class Verification:
    def __init__(self, *, recorder: Recorder, settings: Settings, policy: PathPolicy) -> None:
        self.recorder = recorder
        self.settings = settings
        self.policy = policy
        self.cache = OutcomeCache()

    @property
    def configured(self) -> bool:
        return bool(self.settings.config.verify.commands)

    async def run(self, ctx: RunContext) -> Verified:
        """Verify the run's change now; the result is journaled (`Verified`) and returned."""
        run = ctx.run
        self.cache.seed(run.verify_outcomes)  # what ran before a restart is not run again
        config = self.settings.config
        verifier = Verifier(config.verify, config.permissions, cache=self.cache,
                            provider_keys=self.settings.provider_keys())

        async def starting(command: str, side: Side) -> None:
            await self.recorder.flush()  # the outcomes so far survive a crash in this one
            what = "the change" if side == "change" else "the base (the files before the change)"
            await self.recorder.progress(run.id, "report", f"verify: {command[:80]} on {what}")

        result = await verifier.verify(
            ctx.shadow, ctx.folder / "verify-base", deadline=self._deadline(run),
            record=lambda outcome: self.recorder.emit(ctx, VerifyRan(outcome=outcome)),
            starting=starting)
        sent = sum(1 for v in run.verifications if v.sent_back)
        verified = _event(result, back=bool(result.findings) and sent < config.verify.rounds)
        self.recorder.emit(ctx, verified)
        await self.recorder.flush()
        return verified

    def _deadline(self, run: Run) -> float | None:
        limit = self.settings.config.limits.run_seconds
        if not limit:
            return None
        return time.monotonic() + limit - run.working_seconds(time.time())

    def diagnostics(self, run: Run) -> list[Finding]:
        """The last verification's new failures as `baton` diagnostics, at their file and
        line: only files the path policy lets Baton name (a tool's output may print any path)."""
        verified = run.verifications[-1] if run.verifications else None
        out: list[Finding] = []
        for f in verified.findings if verified is not None else []:
            if not f.path or f.path.startswith("/"):
                continue
            try:
                rel = self.policy.relative(f.path)
            except ToolRefused:
                continue
            out.append(Finding(path=rel, line=max(f.line or 1, 1), severity="error",
                               message=f"verify: {f.message}"))
        return out


def _event(result: VerifyResult, *, back: bool) -> Verified:
    """The result as journaled: the new failures without their output (the report and
    the feedback carry it, bounded); `back`: they go back to the implementer."""
    return Verified(passed=result.passed, summary=result.summary, report=result.review_section(),
                    feedback=result.feedback() if back else "", sent_back=back,
                    findings=[f.model_copy(update={"detail": ""}) for f in result.findings[:FINDINGS_KEPT]],
                    duration_s=result.duration_s)
