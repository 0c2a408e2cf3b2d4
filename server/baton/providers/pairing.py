"""Tool call / result pairing, repaired before a history is sent.

Every provider with native tools rejects a history in which a call has no result
(Anthropic: the results must be in the very next message; OpenAI: "No tool output found
for function call"), and most reject a result that answers no call. A run interrupted
mid-turn (cancelled, daemon restarted, a steer note arriving) leaves exactly that, so
each adapter sends `repair_history(messages)` instead of the raw list.

A history written partly by another provider (after a failover, or a role bound to
another provider since) is converted for the one it goes to by `for_provider`, applied
by the failover chain before every turn (registry.py).
"""

from __future__ import annotations

import json
import logging

from .base import Capabilities, Message, ToolCall, ToolResult
from .call_ids import normalise_call_ids

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


# -- a history moving to another provider (failover, or a role bound to another one) ------

def for_provider(messages: list[Message], name: str, caps: Capabilities) -> list[Message]:
    """The conversation as provider `name` accepts it, whoever wrote each turn.

    What another provider wrote is converted here, and only here: its `provider_state`
    (Anthropic thinking signatures, OpenAI reasoning items, DeepSeek reasoning_content)
    means nothing to this one, or is refused by it, and is dropped; call ids become ones
    this provider accepts (`caps.call_ids`, unique; call_ids.py), results following;
    pairing is repaired. A provider that replays its own reasoning (`reasoning_replay`)
    gets the foreign exchanges of the turn in progress as plain text, so that it answers
    as from a turn of its own: Anthropic with manual thinking (`{"type": "enabled"}`, a
    budget) rejects tool results continuing an assistant turn with no thinking block
    (adaptive thinking accepts one: there the conversion is not needed, only harmless),
    DeepSeek every tool call since the last user message that has no reasoning_content.
    Messages with no recorded author (journaled before authors were) are sent as they are."""
    history = repair_history(messages)
    if not any(_foreign(m, name) for m in history):
        return history
    out = [m.model_copy(update={"provider_state": None})
           if _foreign(m, name) and m.provider_state else m for m in history]
    out = normalise_call_ids(out, caps.call_ids)
    if caps.reasoning_replay:
        out = _current_turn_as_text(out, name)
    return out


def _foreign(m: Message, name: str) -> bool:
    return m.role == "assistant" and bool(m.provider) and m.provider != name


def _current_turn_as_text(history: list[Message], name: str) -> list[Message]:
    """Each foreign exchange after the last user message as text (a repaired history: a
    tool message follows each assistant message with calls)."""
    i = max((i for i, m in enumerate(history) if m.role == "user"), default=-1) + 1
    out = history[:i]
    while i < len(history):
        m = history[i]
        if _foreign(m, name) and m.tool_calls and i + 1 < len(history):
            out += _as_text(m, history[i + 1])
            i += 2
        else:
            out.append(m)
            i += 1
    return out


def _as_text(call: Message, results: Message) -> list[Message]:
    said = [call.text] if call.text else []
    said += [f"(called {c.name} with {json.dumps(c.arguments, ensure_ascii=False)})"
             for c in call.tool_calls]
    got = "\n\n".join(f"Result of {r.name}{' (error)' if r.is_error else ''}:\n{r.content}"
                      for r in results.tool_results)
    return [Message(role="assistant", text="\n".join(said), provider=call.provider),
            Message(role="user", text=f"{got}\n\n(These calls were made before a switch of "
                                      "model provider; go on from their results.)")]
