"""`baton run`: one task, headless, in the terminal (the terminal host)."""

from __future__ import annotations

import sys
from pathlib import Path

from .config import load_config
from .errors import ConfigError
from .runtime.engine import Engine
from .runtime.runs import TERMINAL, Route, State
from .terminal import TerminalHost


async def run_headless(workspace: Path, task: str, *, route: str, yes: bool) -> int:
    root = workspace.resolve()
    if not root.is_dir():
        print(f"baton run: {root} is not a folder", file=sys.stderr)
        return 2
    try:
        config = load_config(root)
    except ConfigError as e:
        # Never another configuration (the defaults would play the offline demo script on
        # this workspace): nothing runs until the file is fixed.
        print(f"baton run: the configuration does not load, so nothing ran: {e}", file=sys.stderr)
        return 2
    host = TerminalHost(root, interactive=sys.stdin.isatty())
    if config.offline:
        host.say(f"(offline) {config.origin[-1]}")
    workspace_notice = config.workspace_file.notice() if config.workspace_file else None
    if workspace_notice:
        host.say(workspace_notice)
    engine = Engine(root, config, host)
    host.say(f"Baton {root} — task: {task}")
    run_id = engine.create(task, route=None if route == "auto" else Route(route))
    ctx = engine.contexts[run_id]
    applied = False
    try:
        while True:
            notice = await host.notices.get()
            if notice.runId != run_id:
                continue
            if notice.state in (State.PLANNING, State.IMPLEMENTING) and ctx.run.route and \
                    notice.reason and notice.reason.startswith("route"):
                host.say(f"  route: {ctx.run.route} ({ctx.run.route_reason})")
            undecided = ctx.early is None and (ctx.decision is None or not ctx.decision.done())
            if notice.state == State.AWAITING_APPROVAL and undecided:
                await _approve(engine, host, run_id, yes)
            elif notice.state == State.AWAITING_APPLY and undecided:
                if applied and not host.interactive:
                    break  # applied once; what is left is held, for an editor to settle
                applied = True
                if yes or (await host.prompt("Apply these changes? [y/N] ") or "").lower().startswith("y"):
                    engine.apply(run_id)
                else:
                    engine.reject(run_id, "declined in the terminal")
            if notice.state in TERMINAL:
                break
    finally:
        await engine.close()
    run = ctx.run
    if run.verifications:  # the evidence: what the project's own commands said of the change
        host.say(run.verifications[-1].report)
    if run.reviews:
        last = run.reviews[-1]
        host.say(f"Review: {last.verdict}" + "".join(
            f"\n  {f.severity}: {f.path}:{f.line}: {f.message}" for f in last.findings))
    if ctx.held:
        host.say(f"{ctx.held} hunk(s) held back where the files changed under the run: apply "
                 f"or reject them from {ctx.folder / 'changes.diff'} in an editor")
    total = run.total_usage()
    host.say(f"Run {run_id} ended {run.state}"
             + (f": {run.error}" if run.error else "")
             + f" · {total.input_tokens} in / {total.output_tokens} out tokens")
    return 0 if run.state == State.DONE else 1


async def _approve(engine: Engine, host: TerminalHost, run_id: str, yes: bool) -> None:
    if yes:
        host.say("Accepted (--yes).")
        engine.accept(run_id)
        return
    answer = await host.prompt("Accept this plan? [y]es / [n]o / [r]evise: ")
    if answer is None:
        host.say("Not accepted: the terminal is not interactive; pass --yes to accept.")
        engine.reject(run_id, "not interactive and no --yes")
    elif answer.lower().startswith("y"):
        engine.accept(run_id)
    elif answer.lower().startswith("r"):
        feedback = await host.prompt("What should change? ") or ""
        engine.revise(run_id, feedback or "Please revise.")
    else:
        engine.reject(run_id, "rejected in the terminal")
