"""Per-run working state (`RunContext`) and what one agent of a run sees (`RoleSession`):
its conversation from the journal, its tools on the run's shadow, and the person behind
`ask_user` and permission prompts."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..display import HIDDEN_NOTE, code, has_hidden, non_ascii_note, visible
from ..errors import RunFailed, ToolRefused
from ..providers.base import Message, OnDelta, ToolCall, ToolResult, Usage
from ..sandbox.grants import Grants
from ..sandbox.shadow import Shadow
from ..tools import specs
from ..tools.files import FileTools
from .host import PermissionAnswer, Question
from .runs import AgentMessage, Answered, Asked, Permission, Run, State, ToolDone

COMMAND_TIMEOUT_S = 120.0
STREAM_REPORT_S = 0.5
PROMPT_SUBJECT_LIMIT = 2000  # characters of a path or command a permission prompt shows
QUESTION_LIMIT = 2000
OPTION_LIMIT = 200
MAX_OPTIONS = 10
log = logging.getLogger(__name__)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("progress report failed: %s", task.exception())

if TYPE_CHECKING:
    from .engine import Engine
    from .streaming import Streamer


def shown_question(args: specs.AskUser) -> Question:
    """The question as the person will see it, or ToolRefused: one line, hidden characters
    shown as escapes, every option whole and told apart from the others. Built once here,
    so the journal, `baton/runChanged` and every host carry the same safe text."""
    text = visible(args.question)
    if len(text) > QUESTION_LIMIT:
        raise ToolRefused(f"the question is {len(text)} characters long; ask in at most "
                          f"{QUESTION_LIMIT}")
    options = [visible(o.strip()) for o in args.options or []]
    if len(options) > MAX_OPTIONS:
        raise ToolRefused(f"{len(options)} options; offer at most {MAX_OPTIONS}")
    for o in options:
        if not o or len(o) > OPTION_LIMIT:
            raise ToolRefused(f"each option must be 1 to {OPTION_LIMIT} characters long")
    if len(set(options)) < len(options):
        raise ToolRefused("two options read the same; make each option distinct")
    return Question(text=text, options=options or None)


@dataclass
class RunContext:
    run: Run
    folder: Path
    shadow: Shadow
    grants: Grants
    task: asyncio.Task[None] | None = None
    side_task: asyncio.Task[None] | None = None  # a revert, owned by the run
    # Resolved by a command (accept, reject, revise, apply, answer) while the run waits.
    decision: asyncio.Future[Any] | None = None
    # A decision that arrived after the state changed but before the driver waited for it.
    early: Any = None
    resumed: bool = False  # rebuilt from the journal by a restarted daemon
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # While the implementer works in stream mode: told of each file a tool changed in the
    # shadow and of each model turn whose tool calls are all done.
    stream: Streamer | None = None
    declined: bool = False  # the editor declined a streamed edit: the rest waits for the end
    held: int = 0  # the agent's hunks held back after a conflict or a declined edit

    def new_decision(self) -> asyncio.Future[Any]:
        self.decision = asyncio.get_running_loop().create_future()
        if self.early is not None:
            self.decision.set_result(self.early)
            self.early = None
        return self.decision


class RoleSession:
    def __init__(self, engine: Engine, ctx: RunContext, agent: str) -> None:
        self.engine = engine
        self.ctx = ctx
        self.agent = agent
        self.run_id = ctx.run.id
        self.task = ctx.run.task
        self.files = FileTools(engine.policy, ctx.shadow, self.permit_write)
        self.on_delta: OnDelta | None = self._stream_progress
        self._last_delta = 0.0
        self._streamed = ""
        self._wrote: dict[str, str] = {}  # call id → the file it wrote, for progress

    def _stream_progress(self, text: str) -> None:
        """Streamed model text, shown as progress at most every STREAM_REPORT_S, so the
        person sees the model working without a notification per token."""
        self._streamed = (self._streamed + text)[-200:]
        now = time.monotonic()
        if now - self._last_delta < STREAM_REPORT_S:
            return
        self._last_delta = now
        tail = " ".join(self._streamed.split())[-60:]
        task = asyncio.get_running_loop().create_task(
            self.engine.host.progress(self.run_id, "report", f"{self.agent}: …{tail}"))
        task.add_done_callback(_log_failure)

    def conversation(self) -> list[Message]:
        return self.ctx.run.conversations.get(self.agent, [])

    def record(self, message: Message, *, usage: Usage | None = None, provider: str = "",
               steers_consumed: int = 0) -> None:
        self.engine.emit(self.ctx, AgentMessage(agent=self.agent, message=message, usage=usage,
                                                provider=provider, steers_consumed=steers_consumed))
        if usage is not None:
            self._check_budget()

    def _check_budget(self) -> None:
        limits = self.engine.config.limits
        total = self.ctx.run.total_usage()
        tokens = total.input_tokens + total.output_tokens
        if limits.run_tokens and tokens > limits.run_tokens:
            raise RunFailed(f"the run used {tokens} tokens, over its budget of {limits.run_tokens} "
                            "(`[limits] run_tokens`)")
        if limits.run_cost_usd and total.cost_usd > limits.run_cost_usd:
            raise RunFailed(f"the run cost ${total.cost_usd:.4f}, over its budget of "
                            f"${limits.run_cost_usd:.2f} (`[limits] run_cost_usd`)")

    async def record_result(self, result: ToolResult) -> None:
        self.engine.emit(self.ctx, ToolDone(agent=self.agent, result=result))
        # Durable before the next step, so a crash never repeats a completed call.
        await self.engine.journal.flush()
        path = self._wrote.pop(result.call_id, None)
        await self.engine.host.progress(self.run_id, "report", f"{self.agent}: {result.name}"
                                        + (f" {path}" if path else "")
                                        + (" (error)" if result.is_error else ""))
        if self.ctx.stream is not None and self._turn_done():
            self.ctx.stream.turn_done()

    def _turn_done(self) -> bool:
        """Every tool call of the model's last turn has its result."""
        conv = self.conversation()
        turn = next((m for m in reversed(conv) if m.role == "assistant"), None)
        return (turn is not None and conv[-1].role == "tool"
                and len(conv[-1].tool_results) >= len(turn.tool_calls))

    def pending_steers(self) -> list[str]:
        return list(self.ctx.run.steers)

    async def execute(self, call: ToolCall) -> str:
        name, args = call.name, call.arguments
        parsed = specs.DESCRIPTIONS[name][0].model_validate(args)
        f = self.files
        match name:
            case "read_file":
                return await asyncio.to_thread(f.read_file, parsed)
            case "list_files":
                return await asyncio.to_thread(f.list_files, parsed)
            case "search":
                return await asyncio.to_thread(f.search, parsed)
            case "write_file" | "edit_file" | "delete_file":
                out = await getattr(f, name)(parsed)
                self._changed(call, self.engine.policy.relative(parsed.path))
                return out
            case "ask_user":
                return await self.ask_user(call, parsed)
            case "run_command":
                out = await self.run_command(parsed)
                self._changed(call, None)
                return out
        raise ToolRefused(f"{name} is not a tool this role can run")

    def _changed(self, call: ToolCall, rel: str | None) -> None:
        """A tool finished changing the shadow: the stream delivers it while the agent goes on."""
        if rel is not None:
            self._wrote[call.id] = rel
        if self.ctx.stream is not None:
            self.ctx.stream.written(rel)

    async def permit_write(self, rel: str) -> bool:
        if self.ctx.grants.allows(rel):
            return True
        return await self.ask_permission(rel, f"Baton run {self.run_id} wants to write {code(rel)}, "
                                         "which its plan does not grant. Allow for this run "
                                         "allows this exact path only.")

    async def ask_permission(self, subject: str, prompt: str, *, command: bool = False) -> bool:
        """Ask the person. `prompt` quotes `subject` with `display.code`, so nothing in it can
        end the quote; what the subject hides is shown as escapes, and said."""
        shown = len(visible(subject))
        if shown > PROMPT_SUBJECT_LIMIT:  # a person cannot allow what they cannot read
            raise ToolRefused(f"too long to ask the person about ({shown} characters shown, at "
                              f"most {PROMPT_SUBJECT_LIMIT}); split it into shorter steps")
        notes = [non_ascii_note(subject), HIDDEN_NOTE if has_hidden(subject) else ""]
        text = " ".join([visible(prompt), *filter(None, notes)])
        host = self.engine.host
        timeout = self.engine.config.limits.client_request_timeout_s * 10
        try:
            answer = await asyncio.wait_for(host.ask_permission(self.run_id, text), timeout)
        except TimeoutError:
            answer = PermissionAnswer.DENY
        self.engine.emit(self.ctx, Permission(subject=subject, answer=answer, command=command))
        if answer == PermissionAnswer.RUN:
            if command:
                self.ctx.grants.allow_command_for_run(subject)
            else:
                self.ctx.grants.allow_for_run(subject)
        return answer in (PermissionAnswer.ONCE, PermissionAnswer.RUN)

    async def ask_user(self, call: ToolCall, args: specs.AskUser) -> str:
        run, engine = self.ctx.run, self.engine
        question = shown_question(args)
        decision = self.ctx.new_decision()
        if run.pending_answer is not None:  # answered before a restart, not yet consumed
            decision.set_result(run.pending_answer)
        if run.state != State.AWAITING_INPUT:
            engine.emit(self.ctx, Asked(agent=self.agent, call_id=call.id, question=question))
            await engine.set_state(self.ctx, State.AWAITING_INPUT, "a question for you")
        else:
            await engine.notify(self.ctx)
        # Ask directly where the host can (message box, terminal prompt); the answer may
        # equally arrive through `baton.run.answer`: whichever comes first wins.
        # Said to be the agent's in the host's own prompt, so a question dressed as a
        # permission prompt (options "Allow once", "Allow for this run") reads as what it is.
        asked = Question(text=f"A question from the {self.agent} agent: {question.text}",
                         options=question.options)
        direct = asyncio.get_running_loop().create_task(engine.host.ask_question(run.id, asked))
        try:
            done, _ = await asyncio.wait({direct, decision}, return_when=asyncio.FIRST_COMPLETED)
            if decision.done():
                answer = decision.result()
            else:
                answer = direct.result()
                if answer is None:
                    answer = await decision
        finally:
            direct.cancel()
        self.ctx.decision = None
        if run.pending_answer is None:
            engine.emit(self.ctx, Answered(answer=answer))
        await engine.set_state(self.ctx, run.resume_state or State.IMPLEMENTING, "answered")
        return f"The person answered: {answer}"

    async def run_command(self, args: specs.RunCommand) -> str:
        from ..sandbox.commands import run_command
        command, grants = args.command.strip(), self.ctx.grants
        if not grants.allows_command(command):
            allowed = await self.ask_permission(
                command, f"Baton run {self.run_id} wants to run {code(command)} (in its sandbox).",
                command=True)
            if not allowed:
                raise ToolRefused(f"`{command}` is not allowed by `[permissions] commands`, and "
                                  "the person did not allow it")
        perms = self.engine.config.permissions
        result = await run_command(command, shadow=self.ctx.shadow, workspace=self.engine.root,
                                   timeout_s=args.timeout_s or COMMAND_TIMEOUT_S,
                                   network=perms.network,
                                   allow_unsandboxed=perms.allow_unsandboxed_commands,
                                   may_write=grants.allows, env_allow=perms.env,
                                   provider_keys=[p.key_env() for p in
                                                  self.engine.config.providers.values()])
        status = ("timed out and was killed" if result.timed_out
                  else f"exited with {result.exit_code}")
        parts = [f"$ {command}\n({status}, {result.duration_s}s, isolation: {result.layer})"]
        if result.stdout:
            parts.append(f"stdout:\n{result.stdout}")
        if result.stderr:
            parts.append(f"stderr:\n{result.stderr}")
        if result.changed_paths:
            parts.append("files changed (now part of your changes): " + ", ".join(result.changed_paths))
        if result.denied_paths:
            parts.append("changes discarded (outside the write grant): " + ", ".join(result.denied_paths))
        if result.note:
            parts.append(f"note: {result.note}")
        return "\n".join(parts)
