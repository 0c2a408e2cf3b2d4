"""One agent loop: model turn → tool calls → results → … → the role's output.

The conversation lives in the run's journal, so the loop is resumable: after a restart it
executes only the tool calls of the last model turn that have no recorded result, and
never repeats one that has. Each call is looked up in the tool registry, checked against
the role and parsed there once; the session runs it. A tool that must wait for the person
(`Pause`) stops the loop: the workflow decides what the run does meanwhile, and the next
`run_agent` continues with that call.

Every result is bounded by the registry before it is journaled, and every request is fitted
to the model's context window first (agents/compaction.py): a conversation that outgrows
the window is compacted, journaled as such, and retried harder if the provider still finds
it too long.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ContextTooLong, ProviderError, RunFailed, ToolRefused
from ..providers.base import (Fallback, Message, OnDelta, Provider, StopReason, ToolCall,
                              ToolResult, ToolSpec, Turn, TurnRequest, Usage)
from ..tools.registry import AskFirst, Pause, Tool, ToolRegistry
from .compaction import MAX_RETRIES, ContextGuard, MessageEdit
from .roles import RoleSpec

log = logging.getLogger(__name__)

REPEATED_FAILURE_LIMIT = 3


class AgentSession(Protocol):
    """What the loop needs from the engine for one role of one run."""

    run_id: str
    task: str

    def conversation(self) -> list[Message]: ...

    def record(self, message: Message, *, usage: Usage | None = None, provider: str = "",
               steers_consumed: int = 0) -> None: ...

    async def record_result(self, result: ToolResult) -> None:
        """Journal a tool's result durably before the loop goes on."""

    def compacted(self, edits: list[MessageEdit], tokens: int) -> None:
        """Journal a compaction of the conversation (estimated at `tokens` before it) and
        apply it: the conversation is from now on what the model is sent."""

    def paid(self, usage: Usage, provider: str, why: str) -> None:
        """Count tokens billed for a turn the conversation does not keep (refused, cut off
        at the context window) in the run's usage; the budgets see them at their next check
        (a recorded turn), so a refusal still ends the run with its own reason."""

    async def failed_over(self, fallback: Fallback) -> None:
        """A provider the person must fix was passed over: say so."""

    def pending_steers(self) -> list[str]: ...

    async def execute(self, tool: Tool, call: ToolCall, args: Any) -> str | Pause:
        """Run one tool with its parsed arguments; raise ToolRefused for a result the model
        should see as an error."""

    on_delta: OnDelta | None


class AgentOutput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    text: str = ""
    call: ToolCall | None = None  # the output call, or the call that paused
    pause: Pause | None = None  # the run must wait for the person before `call` is answered


def _last_turn_calls(conv: list[Message]) -> list[ToolCall]:
    return next((m.tool_calls for m in reversed(conv) if m.role == "assistant"), [])


def _unanswered(conv: list[Message]) -> list[ToolCall]:
    for i in range(len(conv) - 1, -1, -1):
        if conv[i].role == "assistant":
            done = {r.call_id for m in conv[i + 1:] for r in m.tool_results}
            return [c for c in conv[i].tool_calls if c.id not in done]
    return []


def _answered_output(role: RoleSpec, conv: list[Message]) -> ToolCall | None:
    """The role's output call, if its last turn was answered in full and that call was
    received: a role resumed after it finished (its run stopped before the next step) is
    done, and must not be asked for another turn."""
    if role.output_tool is None or not conv or conv[-1].role != "tool":
        return None
    for i in range(len(conv) - 1, -1, -1):
        if conv[i].role == "assistant":
            results = {r.call_id: r for m in conv[i + 1:] for r in m.tool_results}
            if any(c.id not in results for c in conv[i].tool_calls):
                return None
            return next((c for c in conv[i].tool_calls if c.name == role.output_tool
                         and not results[c.id].is_error), None)
    return None


def _error(call: ToolCall, message: str) -> ToolResult:
    return ToolResult(call_id=call.id, name=call.name, content=f"Error: {message}", is_error=True)


async def run_agent(role: RoleSpec, provider: Provider, session: AgentSession,
                    tools: ToolRegistry, *, max_turns: int) -> AgentOutput:
    finished = _answered_output(role, session.conversation())
    if finished is not None:
        return AgentOutput(call=finished)
    specs = tools.specs(role.name)
    guard = ContextGuard(provider, frozenset({role.output_tool}) if role.output_tool else frozenset())
    failures: dict[str, int] = {}
    while True:
        output: ToolCall | None = None
        pending = _unanswered(session.conversation())
        calls = len(_last_turn_calls(session.conversation()))
        for call in pending:
            tool, args, error = _parse(role, tools, call)
            if error is None and call.name == role.output_tool:
                # Answered last, after the turn's other calls, so every call gets its result.
                output = call
                continue
            if error is not None:
                result = _error(call, error)
            else:
                assert tool is not None
                try:
                    content = await session.execute(tool, call, args)
                except AskFirst as e:  # a permission the person has not given yet
                    content = e.pause
                except ToolRefused as e:
                    content = None
                    result = _error(call, str(e))
                if isinstance(content, Pause):
                    return AgentOutput(call=call, pause=content)
                if content is not None:
                    result = ToolResult(call_id=call.id, name=call.name, content=content)
            result.content = tools.bounded(call.name, result.content,
                                           provider.capabilities.context_window, calls)
            await session.record_result(result)
            # A malformed output call is the model's to fix however often it takes.
            if result.is_error and not (tool is not None and call.name == role.output_tool):
                key = call.name + json.dumps(call.arguments, sort_keys=True)
                failures[key] = failures.get(key, 0) + 1
                if failures[key] >= REPEATED_FAILURE_LIMIT:
                    raise RunFailed(f"{role.name} repeated the same failing call {call.name} "
                                    f"{failures[key]} times: {result.content[:200]}")
        if output is not None:
            await session.record_result(ToolResult(call_id=output.id, name=output.name, content="Received."))
            return AgentOutput(call=output)
        conv = session.conversation()
        turns = sum(1 for m in conv if m.role == "assistant")
        if turns >= max_turns:
            raise RunFailed(f"{role.name} reached its limit of {max_turns} turns without "
                            f"{'calling ' + role.output_tool if role.output_tool else 'answering'}")
        steers = session.pending_steers()
        if steers:
            note = "\n".join(steers)
            session.record(Message(role="user", text=note), steers_consumed=len(steers))
        turn = await _model_turn(role, provider, session, guard, specs)
        for fallback in turn.fallbacks:  # first: said even if recording the turn ends the run
            await session.failed_over(fallback)
        session.record(turn.as_message(), usage=turn.usage, provider=turn.provider)
        if turn.stop == StopReason.REFUSAL:
            raise RunFailed(f"{role.name}: the model refused the task: {turn.text[:300]}")
        if not turn.tool_calls:
            if role.output_tool is None and turn.text.strip():
                return AgentOutput(text=turn.text)
            if turn.stop == StopReason.PAUSE:
                continue
            hint = (f"Continue: use the tools, and call `{role.output_tool}` when you are done."
                    if role.output_tool else "Answer the question in text.")
            if turn.stop == StopReason.MAX_TOKENS:
                hint = "Your reply was cut off at the output limit. " + hint
            session.record(Message(role="user", text=hint))


async def _model_turn(role: RoleSpec, provider: Provider, session: AgentSession,
                      guard: ContextGuard, specs: list[ToolSpec]) -> Turn:
    """One model turn on the conversation fitted to the model's window: compacted first
    when it has outgrown it, and harder each time the provider still finds it too long."""
    def request() -> TurnRequest:
        return TurnRequest(run_id=session.run_id, role=role.config_role, task=session.task,
                           system=role.system, messages=session.conversation(), tools=specs)
    harder, problem = 0, ""
    while True:
        req = request()
        edits = await guard.fit(req, harder)
        if edits:
            session.compacted(edits, guard.estimate(req))
            req = request()
        elif harder:
            raise RunFailed(f"{role.name}: the conversation does not fit the model's context "
                            f"window ({guard.window:,} tokens) and nothing more can be "
                            f"compacted: {problem}")
        if edits is not None and guard.tokens_per_char is not None \
                and (reason := guard.too_long(req)) is not None:
            raise RunFailed(f"{role.name}: {reason}")
        try:
            turn = await provider.complete(req, session.on_delta)
        except ProviderError as e:
            if e.usage is not None and e.usage != Usage():
                session.paid(e.usage, e.provider, str(e))
            if not isinstance(e, ContextTooLong):
                raise
            problem = str(e)
        else:
            if turn.stop != StopReason.CONTEXT_EXCEEDED:
                guard.learn(req, turn.usage.input_tokens)
                return turn
            problem = "the model stopped at the end of its context window"
            # Not kept (its answer is cut short), but paid for: counted, and said.
            session.paid(turn.usage, turn.provider, problem)
            log.warning("%s: a turn stopped at the context window and is not kept (%d input, "
                        "%d output tokens paid)", role.name, turn.usage.input_tokens,
                        turn.usage.output_tokens)
        harder += 1
        if harder > MAX_RETRIES:
            raise RunFailed(f"{role.name}: the conversation does not fit the model's context "
                            f"window ({guard.window:,} tokens) even compacted {MAX_RETRIES} "
                            f"times: {problem}")
        log.warning("%s: the provider found the conversation too long (%s); compacting harder",
                    role.name, problem)
        guard.refused(req)


def _parse(role: RoleSpec, tools: ToolRegistry, call: ToolCall) -> tuple[Tool | None, Any, str | None]:
    """(tool, parsed arguments, None), or the error the model is told instead."""
    if call.invalid is not None:
        return None, None, (f"the arguments could not be read ({call.invalid}); issue the call "
                            "again with complete, valid JSON arguments")
    tool = tools.get(call.name)
    if tool is None or role.name not in tool.roles:
        return None, None, (f"the {role.name} cannot call {call.name}; available: "
                            + ", ".join(t.name for t in tools.for_role(role.name)))
    try:
        return tool, tool.parse(call.arguments), None
    except ValidationError as e:
        return tool, None, f"invalid arguments: {_brief(e)}"


def _brief(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                     for err in e.errors())
