"""What one agent of a run sees (`RoleSession`): its conversation from the journal, the
registry's tools run on the run's shadow, and the person behind permission prompts.

A session never moves the run: a tool that must wait for the person returns `Pause`, the
loop stops, and the workflow decides (runtime/workflow.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..agents.compaction import MessageEdit
from ..config import PermissionsConfig
from ..display import HIDDEN_NOTE, code, has_hidden, non_ascii_note, visible
from ..edits.diff import unified_diff
from ..errors import RunFailed, ToolRefused
from ..providers.base import Fallback, Message, OnDelta, ToolCall, ToolResult, Usage
from ..sandbox.paths import PathPolicy
from ..tools.files import FileTools
from ..tools.registry import AskFirst, Pause, Tool
from ..wire import PermissionKind
from .context import RunContext
from .host import Host, PermissionAnswer
from .recorder import Recorder
from .runs import AgentMessage, Compacted, FailedOver, Paid, Permission, ToolDone
from .settings import Settings

STREAM_REPORT_S = 0.5
DIFF_LIMIT = 20_000  # characters of what a permission would write that runChanged carries
_KINDS = {"path": PermissionKind.WRITE, "command": PermissionKind.COMMAND,
          "tool": PermissionKind.MCP}
PROMPT_SUBJECT_LIMIT = 2000  # characters of a path or command a permission prompt shows
log = logging.getLogger(__name__)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("progress report failed: %s", task.exception())


# (run, agent, the call in flight, its question) → the person's answer; the workflow's, as
# it alone moves the run to awaiting_input and back.
AskDuringCall = Callable[[RunContext, str, str, Pause], Awaitable[str | None]]


class RoleSession:
    def __init__(self, ctx: RunContext, agent: str, *, recorder: Recorder, host: Host,
                 settings: Settings, policy: PathPolicy,
                 ask_during_call: AskDuringCall | None = None) -> None:
        self.ctx = ctx
        self.agent = agent
        self.recorder = recorder
        self.host = host
        self.settings = settings
        self.policy = policy
        self.root: Path = policy.root
        self.run_id = ctx.run.id
        self.task = ctx.run.task
        self.shadow = ctx.shadow
        self.grants = ctx.grants
        self.files = FileTools(policy, ctx.shadow, self.permit_write)
        self.on_delta: OnDelta | None = self._stream_progress
        self._last_delta = 0.0
        self._streamed = ""
        self._wrote: dict[str, str] = {}  # call id → the file it wrote, for progress
        self._ask_during_call = ask_during_call
        self._call: ToolCall | None = None  # the call being executed

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
            self.recorder.progress(self.run_id, "report", f"{self.agent}: …{tail}"))
        task.add_done_callback(_log_failure)

    # -- the conversation (agents/loop.py AgentSession) -------------------------------
    def conversation(self) -> list[Message]:
        return self.ctx.run.conversations.get(self.agent, [])

    def record(self, message: Message, *, usage: Usage | None = None, provider: str = "",
               steers_consumed: int = 0) -> None:
        self.recorder.emit(self.ctx, AgentMessage(agent=self.agent, message=message, usage=usage,
                                                  provider=provider, steers_consumed=steers_consumed))
        self._check_budget()

    def compacted(self, edits: list[MessageEdit], tokens: int) -> None:
        self.recorder.emit(self.ctx, Compacted(agent=self.agent, edits=edits, tokens=tokens))

    def paid(self, usage: Usage, provider: str, why: str) -> None:
        self.recorder.emit(self.ctx, Paid(agent=self.agent, usage=usage, provider=provider,
                                          why=why))

    async def failed_over(self, fallback: Fallback) -> None:
        """In the run's events each time; in the editor (or the terminal) once per provider
        while the configuration stands (`Fallback.first`), not on every run and turn."""
        self.recorder.emit(self.ctx, FailedOver(agent=self.agent, provider=fallback.provider,
                                                message=fallback.message))
        if fallback.first:
            await self.host.tell(self.run_id, f"Baton run {self.run_id}: {fallback.message}")

    def _check_budget(self) -> None:
        limits = self.settings.config.limits
        worked = self.ctx.run.working_seconds(time.time())
        if limits.run_seconds and worked > limits.run_seconds:
            raise RunFailed(f"the run has worked {worked:.0f} s, over its budget of "
                            f"{limits.run_seconds:g} s (`[limits] run_seconds`)")
        total = self.ctx.run.total_usage()
        tokens = total.input_tokens + total.output_tokens
        if limits.run_tokens and tokens > limits.run_tokens:
            raise RunFailed(f"the run used {tokens} tokens, over its budget of {limits.run_tokens} "
                            "(`[limits] run_tokens`)")
        if limits.run_cost_usd and total.cost_usd > limits.run_cost_usd:
            raise RunFailed(f"the run cost ${total.cost_usd:.4f}, over its budget of "
                            f"${limits.run_cost_usd:.2f} (`[limits] run_cost_usd`)")

    async def record_result(self, result: ToolResult) -> None:
        self.recorder.emit(self.ctx, ToolDone(agent=self.agent, result=result))
        # Durable before the next step, so a crash never repeats a completed call.
        await self.recorder.flush()
        path = self._wrote.pop(result.call_id, None)
        await self.recorder.progress(self.run_id, "report", f"{self.agent}: {result.name}"
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

    async def execute(self, tool: Tool, call: ToolCall, args: Any) -> str | Pause:
        assert tool.handler is not None, "output tools are never executed"
        self._call = call
        try:
            if tool.asks and tool.name not in self.grants.allowed_tools:
                assert tool.prompt is not None
                if not await self.ask_permission(tool.name, tool.prompt(self.run_id, call.arguments),
                                                 kind="tool"):
                    raise ToolRefused(f"the person did not allow {tool.name}")
            out = await tool.handler(self, args)
        finally:
            self._call = None
        if tool.writes and not isinstance(out, Pause):
            # A file tool names its file; anything else may have changed any of them.
            path = getattr(args, "path", None) if tool.args is not None else None
            rel = self.policy.relative(path) if isinstance(path, str) else None
            if rel is not None:
                self._wrote[call.id] = rel
            if self.ctx.stream is not None:
                self.ctx.stream.written(rel)
        return out

    # -- what tools use (tools/registry.py ToolEnv) -----------------------------------
    def permissions(self) -> PermissionsConfig:
        return self.settings.config.permissions

    def provider_keys(self) -> list[str | None]:
        return self.settings.provider_keys()

    def answer(self) -> str | None:
        return self.ctx.run.pending_answer

    async def ask_person(self, question: str, options: list[str] | None) -> str | None:
        if self._ask_during_call is None or self._call is None:
            return None
        return await self._ask_during_call(self.ctx, self.agent, self._call.id,
                                           Pause(question=question, options=options))

    def report(self, text: str) -> None:
        task = asyncio.get_running_loop().create_task(
            self.recorder.progress(self.run_id, "report", f"{self.agent}: {text}"))
        task.add_done_callback(_log_failure)

    async def permit_write(self, rel: str) -> bool:
        if self.grants.allows(rel):
            return True
        return await self.ask_permission(rel, f"Baton run {self.run_id} wants to write {code(rel)}, "
                                         "which its plan does not grant. Allow for this run "
                                         "allows this exact path only.")

    async def ask_permission(self, subject: str, prompt: str, *, kind: str = "path") -> bool:
        """Ask the person. `prompt` quotes `subject` with `display.code`, so nothing in it can
        end the quote; what the subject hides is shown as escapes, and said.

        A permission is a question like an agent's (PROTOCOL §3): the call pauses (AskFirst),
        the run waits in awaiting_input as long as the person takes, across restarts, for the
        host's prompt or `baton.run.answer`; then the call runs again and finds the answer."""
        shown = len(visible(subject))
        if shown > PROMPT_SUBJECT_LIMIT:  # a person cannot allow what they cannot read
            raise ToolRefused(f"too long to ask the person about ({shown} characters shown, at "
                              f"most {PROMPT_SUBJECT_LIMIT}); split it into shorter steps")
        run = self.ctx.run
        if run.asked_permission != subject or run.pending_answer is None:
            notes = [non_ascii_note(subject), HIDDEN_NOTE if has_hidden(subject) else ""]
            raise AskFirst(Pause(question=" ".join([visible(prompt), *filter(None, notes)]),
                                 options=[a.value for a in PermissionAnswer], permission=subject,
                                 kind=_KINDS[kind], diff=self._what_it_would_do(subject, kind)))
        answer = PermissionAnswer(run.pending_answer) \
            if run.pending_answer in PermissionAnswer._value2member_map_ else PermissionAnswer.DENY
        self.recorder.emit(self.ctx, Permission(subject=subject, answer=answer,
                                                command=kind == "command", tool=kind == "tool"))
        if answer == PermissionAnswer.RUN:
            widen = {"path": self.grants.allow_for_run, "tool": self.grants.allow_tool_for_run,
                     "command": self.grants.allow_command_for_run}
            widen[kind](subject)
        return answer in (PermissionAnswer.ONCE, PermissionAnswer.RUN)

    def _what_it_would_do(self, subject: str, kind: str) -> str | None:
        """What the person allows, to read before answering: the diff a file tool's call
        would make to the file as the run sees it, the command, or the MCP call. Bounded,
        hidden characters shown as escapes (display.visible)."""
        call = self._call
        if kind == "command":
            text: str | None = subject
        elif kind == "tool":
            args = call.arguments if call is not None else {}
            text = f"{subject}\n{json.dumps(args, ensure_ascii=False, indent=2, sort_keys=True)}"
        else:
            text = self._would_write(subject, call)
        return None if text is None else visible(text, multiline=True, limit=DIFF_LIMIT)

    def _would_write(self, rel: str, call: ToolCall | None) -> str | None:
        if call is None or call.name not in ("write_file", "edit_file", "delete_file"):
            return None
        try:
            before = self.shadow.read(rel)
        except ToolRefused:  # binary or too large: the prompt's text says which file
            return None
        args = call.arguments
        after: str | None
        if call.name == "write_file":
            after = str(args.get("content", ""))
        elif call.name == "edit_file":
            old, new = args.get("old"), args.get("new")
            if before is None or not isinstance(old, str) or not isinstance(new, str):
                return None
            after = before.replace(old, new, 1)
        else:
            after = None
        return unified_diff(rel, before, after)
