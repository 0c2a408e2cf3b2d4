"""Tool call / result pairing, repaired before a history is sent.

Every provider with native tools rejects a history in which a call has no result
(Anthropic: the results must be in the very next message; OpenAI: "No tool output found
for function call"), and most reject a result that answers no call. A run interrupted
mid-turn (cancelled, daemon restarted, a steer note arriving) leaves exactly that, so
each adapter sends `repair_history(messages)` instead of the raw list.
"""

from __future__ import annotations

import logging

from .base import Message, ToolCall, ToolResult

log = logging.getLogger(__name__)

INTERRUPTED = ("This tool call was interrupted before it ran (the turn was cut short), so it "
               "has no result. Issue it again if it is still needed.")


def repair_history(messages: list[Message]) -> list[Message]:
    """The same conversation where each assistant message with tool calls is followed by
    exactly one tool message answering all of them, in call order."""
    out: list[Message] = []
    pending: list[ToolCall] = []

    def answer(results: list[ToolResult]) -> None:
        nonlocal pending
        if not pending:
            return
        by_id = {r.call_id: r for r in results}
        answered = [by_id.get(c.id) or ToolResult(call_id=c.id, name=c.name,
                                                  content=INTERRUPTED, is_error=True)
                    for c in pending]
        out.append(Message(role="tool", tool_results=answered))
        pending = []

    for m in messages:
        if m.role == "tool":
            known = {c.id for c in pending}
            stray = [r.call_id for r in m.tool_results if r.call_id not in known]
            if stray:
                log.warning("dropping tool results that answer no pending call: %s", stray)
            answer([r for r in m.tool_results if r.call_id in known])
            continue
        answer([])
        out.append(m)
        if m.role == "assistant":
            pending = list(m.tool_calls)
    answer([])
    return out
