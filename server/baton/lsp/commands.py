"""`workspace/executeCommand` (PROTOCOL §4): one object argument each, parsed once into a
pydantic model; Baton's exceptions become JSON-RPC errors here and nowhere else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams

from ..config import trust_workspace as record_trust
from ..errors import BatonError, ConfigError, UnknownRun, UserInputError, WrongState
from ..runtime.engine import Engine
from ..wire import (AnswerArgs, EmptyArgs, HunkArgs, PermissionAnswerArgs, RejectArgs, ReviseArgs,
                    Route, RunArgs, RunIdArgs, SelectionArgs, SteerArgs)
from .command_names import CONFIG_INVALID, UNKNOWN_RUN, WRONG_STATE

log = logging.getLogger(__name__)


def _parse(model: type[BaseModel], args: tuple[Any, ...]) -> Any:
    if len(args) > 1:
        raise JsonRpcInvalidParams(f"expected one object argument, got {len(args)} arguments")
    raw = args[0] if args else {}
    if not isinstance(raw, dict):
        raise JsonRpcInvalidParams(f"expected one object argument, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        fields = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'argument'}: {err['msg']}"
                           for err in e.errors())
        raise JsonRpcInvalidParams(f"invalid argument: {fields}") from None


def to_jsonrpc(e: BaseException) -> JsonRpcException:
    match e:
        case JsonRpcException():
            return e
        case UnknownRun():
            return JsonRpcException(str(e), code=UNKNOWN_RUN)
        case WrongState():
            return JsonRpcException(str(e), code=WRONG_STATE)
        case ConfigError():
            return JsonRpcException(str(e), code=CONFIG_INVALID)
        case UserInputError():
            return JsonRpcInvalidParams(str(e))
        case BatonError():
            return JsonRpcException(str(e), code=-32000)
    log.exception("command failed", exc_info=e)
    return JsonRpcInternalError(f"internal error: {type(e).__name__}: {e}")


Handler = Callable[[Engine, Any], Awaitable[Any] | Any]
Command = Callable[..., Awaitable[Any]]


async def _no_check() -> None:
    """The default for a caller with no configuration to re-read (tests driving an engine)."""


def handlers(get_engine: Callable[[], Awaitable[Engine]],
             check_config: Callable[[], Awaitable[None]] = _no_check,
             reload_config: Callable[[], Awaitable[None]] = _no_check) -> dict[str, Command]:
    """Every command by name: `await handlers[name](*arguments)` parses the one object
    argument, runs the command on the engine and maps Baton's errors to JSON-RPC ones.

    The commands that set agents to work for the person (start a run, accept or revise a
    plan, answer an agent's question or a permission, after which the agent goes on) first
    `check_config`: the configuration as its files say now, refused with its mistake (file,
    line, key) until fixed (`reload_config` loads them again, refusing nothing). The others
    need no configuration and always work, so a person
    can still see, cancel, reject, apply what a run already made, and revert: `baton.runs`, `baton.run.show`, `baton.run.cancel`,
    `baton.plan.reject`, `baton.edits.*`, `baton.run.revert`, `baton.run.steer` (a note
    for an agent already at work), `baton.workspace.trust` (which checks the file itself)."""
    out: dict[str, Command] = {}

    def command(name: str, model: type[BaseModel], *, configured: bool = False
                ) -> Callable[[Handler], Handler]:
        def wrap(fn: Handler) -> Handler:
            async def handler(*args: Any) -> Any:
                try:
                    parsed = _parse(model, args)
                    if configured:
                        await check_config()
                    result = fn(await get_engine(), parsed)
                    if hasattr(result, "__await__"):
                        result = await result
                    return {} if result is None else result
                except Exception as e:
                    raise to_jsonrpc(e) from None
            out[name] = handler
            return fn
        return wrap

    @command("baton.run", RunArgs, configured=True)
    def run(engine: Engine, a: RunArgs) -> dict[str, str]:
        return {"runId": engine.create(a.task, uri=a.uri, range=a.range, route=a.route,
                                       parent_run_id=a.parentRunId, diagnostic=a.diagnostic)}

    @command("baton.run.answer", AnswerArgs, configured=True)
    def answer(engine: Engine, a: AnswerArgs) -> None:
        engine.answer(a.runId, a.answer)

    @command("baton.permission.answer", PermissionAnswerArgs, configured=True)
    def answer_permission(engine: Engine, a: PermissionAnswerArgs) -> None:
        engine.answer_permission(a.runId, a.id, a.answer)

    @command("baton.run.steer", SteerArgs)
    def steer(engine: Engine, a: SteerArgs) -> None:
        engine.steer(a.runId, a.message)

    @command("baton.plan.accept", RunIdArgs, configured=True)
    def accept(engine: Engine, a: RunIdArgs) -> None:
        engine.accept(a.runId)

    @command("baton.plan.reject", RejectArgs)
    def reject(engine: Engine, a: RejectArgs) -> None:
        engine.reject(a.runId, a.reason)

    @command("baton.plan.revise", ReviseArgs, configured=True)
    def revise(engine: Engine, a: ReviseArgs) -> None:
        engine.revise(a.runId, a.feedback)

    @command("baton.edits.apply", RunIdArgs)
    def apply(engine: Engine, a: RunIdArgs) -> None:
        engine.apply(a.runId)

    @command("baton.edits.reject", RejectArgs)
    def reject_edits(engine: Engine, a: RejectArgs) -> None:
        engine.reject(a.runId, a.reason or "changes rejected")

    # Per-hunk review (code actions on each hunk of a held changes.diff).
    @command("baton.edits.applyHunk", HunkArgs)
    async def apply_hunk(engine: Engine, a: HunkArgs) -> dict[str, Any]:
        return {"hunksLeft": await engine.apply_hunk(a.runId, a.path, a.hunk)}

    @command("baton.edits.rejectHunk", HunkArgs)
    async def reject_hunk(engine: Engine, a: HunkArgs) -> dict[str, Any]:
        return {"hunksLeft": await engine.reject_hunk(a.runId, a.path, a.hunk)}

    @command("baton.run.cancel", RunIdArgs)
    def cancel(engine: Engine, a: RunIdArgs) -> None:
        engine.cancel(a.runId)

    @command("baton.run.revert", RunIdArgs)
    def revert(engine: Engine, a: RunIdArgs) -> None:
        engine.revert(a.runId)

    @command("baton.runs", EmptyArgs)
    def runs(engine: Engine, a: EmptyArgs) -> list[dict[str, Any]]:
        return engine.list()

    @command("baton.run.show", RunIdArgs)
    def show(engine: Engine, a: RunIdArgs) -> dict[str, Any]:
        return engine.show(a.runId)

    # Code actions on a selection: clients prompt for the text and call these with `task`.
    @command("baton.selection.ask", SelectionArgs, configured=True)
    def selection_ask(engine: Engine, a: SelectionArgs) -> dict[str, str]:
        task = a.task or "Explain the selected code."
        return {"runId": engine.create(task, uri=a.uri, range=a.range, route=Route.ASK)}

    @command("baton.selection.edit", SelectionArgs, configured=True)
    def selection_edit(engine: Engine, a: SelectionArgs) -> dict[str, str]:
        if not a.task:
            raise UserInputError("`task` is required: say what to change in the selection "
                                 "(your editor should have prompted for it)")
        return {"runId": engine.create(a.task, uri=a.uri, range=a.range, route=Route.EDIT)}

    @command("baton.workspace.trust", EmptyArgs)
    async def trust(engine: Engine, a: EmptyArgs) -> dict[str, str]:
        return await trust_workspace(engine, reload_config)

    return out


async def trust_workspace(engine: Engine, reload_config: Callable[[], Awaitable[None]],
                          digest: str | None = None) -> dict[str, str]:
    """Trusts the workspace's .baton/config.toml (PROTOCOL §2) and loads the configuration
    again, so what the file says applies from the next step on. With `digest`, only that
    content (what the person was asked about)."""
    file = await asyncio.to_thread(record_trust, engine.root, digest)
    await reload_config()
    log.info("trusted %s (sha256 %s)", file.path, file.digest)
    return {"path": str(file.path), "sha256": file.digest}
