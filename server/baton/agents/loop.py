"""One agent loop: model turn → tool calls → results → … → the role's output.

The conversation lives in the run's journal, so the loop is resumable: after a restart it
executes only the tool calls of the last model turn that have no recorded result, and
never repeats one that has.
"""

from __future__ import annotations

import json
import logging
from typing import Protocol

from pydantic import BaseModel, ValidationError

from ..errors import RunFailed, ToolRefused
from ..providers.base import Message, OnDelta, Provider, StopReason, ToolCall, ToolResult, Usage
from ..providers.base import TurnRequest
from ..tools.specs import DESCRIPTIONS, spec
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

    def pending_steers(self) -> list[str]: ...

    async def execute(self, call: ToolCall) -> str:
        """Run one tool; raise ToolRefused for a result the model should see as an error."""

    on_delta: OnDelta | None


class AgentOutput(BaseModel):
    text: str = ""
    call: ToolCall | None = None


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


async def run_agent(role: RoleSpec, provider: Provider, session: AgentSession, *,
                    max_turns: int) -> AgentOutput:
    finished = _answered_output(role, session.conversation())
    if finished is not None:
        return AgentOutput(call=finished)
    tools = [spec(name) for name in role.tools]
    failures: dict[str, int] = {}
    while True:
        output: ToolCall | None = None
        for call in _unanswered(session.conversation()):
            if call.name == role.output_tool and call.invalid is None:
                try:
                    DESCRIPTIONS[call.name][0].model_validate(call.arguments)
                except ValidationError as e:
                    await session.record_result(_error(call, f"invalid arguments: {_brief(e)}"))
                    continue
                # Answered last, after the turn's other calls, so every call gets its result.
                output = call
                continue
            result = await _execute(role, session, call)
            await session.record_result(result)
            if result.is_error:
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
        request = TurnRequest(run_id=session.run_id, role=role.name, task=session.task,
                              system=role.system, messages=session.conversation(), tools=tools)
        turn = await provider.complete(request, session.on_delta)
        session.record(turn.as_message(), usage=turn.usage, provider=turn.provider)
        if turn.stop == StopReason.REFUSAL:
            raise RunFailed(f"{role.name}: the model refused the task: {turn.text[:300]}")
        if turn.stop == StopReason.CONTEXT_EXCEEDED:
            raise RunFailed(f"{role.name}: the conversation no longer fits the model's context window")
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


async def _execute(role: RoleSpec, session: AgentSession, call: ToolCall) -> ToolResult:
    if call.invalid is not None:
        return _error(call, f"the arguments could not be read ({call.invalid}); issue the call "
                            "again with complete, valid JSON arguments")
    if call.name not in role.tools:
        return _error(call, f"the {role.name} cannot call {call.name}; available: "
                            + ", ".join(role.tools))
    if call.name == role.output_tool:  # output tool with a bad shape was handled by the caller
        return _error(call, "invalid arguments")
    try:
        DESCRIPTIONS[call.name][0].model_validate(call.arguments)
        content = await session.execute(call)
    except ToolRefused as e:
        return _error(call, str(e))
    except ValidationError as e:
        return _error(call, f"invalid arguments: {_brief(e)}")
    return ToolResult(call_id=call.id, name=call.name, content=content)


def _brief(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                     for err in e.errors())
