"""Context management: a conversation that outgrows its model's window is compacted, not
failed.

Before each model turn the loop asks `ContextGuard.fit` whether the request fits. Counting
is cheap where it can be: the provider reports the exact input tokens of every turn, which
calibrates a characters-to-tokens ratio for this agent, so the next request's size is
known to within a few percent without asking anyone. The provider's counting endpoint
(`count_tokens`, Anthropic's `messages.count_tokens`) costs a round trip before the turn,
so it is asked only when its answer could change the decision: when the estimate is
within its own error (UNCALIBRATED_ERROR before any count, CALIBRATED_ERROR after) of the
point where compaction starts. Clearly below it, or clearly above, the estimate decides.

When a request would take more than COMPACT_AT of the budget (the window less room for
the answer), older turns are compacted down to TARGET of it, in steps that stop as soon
as the conversation fits: the oldest tool results first (cut to their head, with a note
saying what they were and how to get them again), long arguments of older calls (a file
written in full), and the provider state (thinking, reasoning items) of every assistant
message but the last, which the open tool exchange needs. The first message (the task,
the accepted plan, the briefing) and the most recent turns stay whole, and every tool
call keeps its result, so pairing holds. Big steps, rarely: each compaction changes the
history's prefix, so the provider's prompt cache starts again after it.

A provider that still finds the history too long (`ContextTooLong`, or the stop reason
`CONTEXT_EXCEEDED`) has said the estimate was wrong: the ratio is raised to what the
failure proves and the loop compacts harder (a lower target, fewer turns kept whole, then
older notes from the person cut too) and tries again, at most MAX_RETRIES times; then the
run fails saying how large the conversation was and what the model's window is.

A compaction is a list of `MessageEdit`s, journaled (`runtime/runs.py` `Compacted`) and
applied with `apply_edits`, so a run resumed after a restart sees the history the model
saw. The original tool results stay in the journal's earlier events.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from ..providers.base import Message, Provider, ToolCall, ToolResult, TurnRequest

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3.0  # before any count: on the safe side of ~4 for English, ~3 for code
# What a count may teach: a tokenizer makes between ~6 characters a token (plain English)
# and 2 tokens a character (bytes of rare scripts). A provider reporting usage outside
# that (a local server that says 1 token) cannot switch compaction off, nor make it
# compact everything.
RATIO_RANGE = (1 / 6, 2.0)
MESSAGE_OVERHEAD = 12  # characters a message costs beyond its content (role, framing)
UNCALIBRATED_ERROR = 0.35  # how far off an estimate may be before any count…
CALIBRATED_ERROR = 0.1  # …and once the provider has counted this agent's requests
COMPACT_AT = 0.8  # of the budget: compact before sending
TARGET = 0.5  # of the budget: what a compaction aims for
HARDER_TARGETS = (0.3, 0.15)  # after the provider said "too long" once, twice
MAX_RETRIES = len(HARDER_TARGETS)
KEEP_RECENT = 3  # assistant turns (with their results) kept whole, when that is enough
RESULT_HEAD = 400  # characters of a compacted tool result kept, after its note
STUB_MAX = 1_000  # a compacted result's length at most (note, call, head); longer ones compact
ARGUMENT_CHARS = 300  # a string argument of an older call longer than this is replaced
TEXT_CHARS = 1_000  # older assistant text, and (hardest) older notes, cut to this
CUT_NOTE = " [… the rest compacted to save context]"


class MessageEdit(BaseModel):
    """How compaction changed one message of an agent's conversation."""

    index: int
    text: str | None = None
    results: dict[str, str] = Field(default_factory=dict)  # call id → its compacted result
    arguments: dict[str, dict[str, Any]] = Field(default_factory=dict)  # call id → arguments
    drop_state: bool = False  # its provider_state (thinking, reasoning items) is dropped


def apply_edits(messages: list[Message], edits: list[MessageEdit]) -> list[Message]:
    """The conversation with `edits` applied (a new list; the messages are not changed)."""
    out = list(messages)
    for e in edits:
        if not 0 <= e.index < len(out):
            continue  # an edit of a message this conversation does not have changes nothing
        m = out[e.index]
        update: dict[str, Any] = {}
        if e.text is not None:
            update["text"] = e.text
        if e.results:
            update["tool_results"] = [
                r.model_copy(update={"content": e.results[r.call_id]}) if r.call_id in e.results
                else r for r in m.tool_results]
        if e.arguments:
            update["tool_calls"] = [
                c.model_copy(update={"arguments": e.arguments[c.id]}) if c.id in e.arguments
                else c for c in m.tool_calls]
        if e.drop_state:
            update["provider_state"] = None
        out[e.index] = m.model_copy(update=update)
    return out


# --- sizes ---------------------------------------------------------------------------

def message_chars(m: Message) -> int:
    n = MESSAGE_OVERHEAD + len(m.text)
    n += sum(len(c.name) + len(json.dumps(c.arguments, ensure_ascii=False)) for c in m.tool_calls)
    n += sum(len(r.content) + len(r.call_id) for r in m.tool_results)
    if m.provider_state:
        n += len(json.dumps(m.provider_state, ensure_ascii=False))
    return n


def request_chars(request: TurnRequest) -> int:
    tools = sum(len(t.name) + len(t.description) + len(json.dumps(t.parameters))
                for t in request.tools)
    return len(request.system) + tools + sum(message_chars(m) for m in request.messages)


# --- what one compaction does ----------------------------------------------------------

def _describe(call: ToolCall | None) -> str:
    if call is None:
        return "a tool result"
    args = json.dumps(call.arguments, ensure_ascii=False)
    return f"the result of {call.name} {args if len(args) <= 200 else args[:200] + '…'}"


def _result_stub(result: ToolResult, call: ToolCall | None) -> str:
    head = result.content[:RESULT_HEAD]
    cut = head.rfind("\n")
    head = head[:cut] if cut > RESULT_HEAD // 2 else head
    return (f"[Compacted to save context: {_describe(call)} was {len(result.content):,} "
            f"characters, shown in full earlier; its start is below. Call the tool again if "
            f"you need the rest.]\n{head}")


def _argument_stub(value: str) -> str:
    return f"[{len(value):,} characters, compacted to save context]"


def _cut(text: str) -> str | None:
    """Older text cut to TEXT_CHARS with a note; None if it is short (or already cut: by
    its length, never by its words, which a file or a model could imitate)."""
    if len(text) <= TEXT_CHARS + len(CUT_NOTE):
        return None
    return text[:TEXT_CHARS] + CUT_NOTE


def _compacted_message(m: Message, calls: dict[str, ToolCall], keep_tools: frozenset[str],
                       hardest: bool) -> MessageEdit | None:
    """The edit compacting one older message, or None when there is nothing to gain."""
    edit = MessageEdit(index=-1)
    if m.role == "tool":
        # Longer than any stub, so a stub is never compacted again, whatever a result says.
        edit.results = {r.call_id: _result_stub(r, calls.get(r.call_id)) for r in m.tool_results
                        if len(r.content) > STUB_MAX}
    elif m.role == "assistant":
        edit.drop_state = m.provider_state is not None
        for c in m.tool_calls:
            if c.name in keep_tools:  # the role's output: the workflow reads its arguments
                continue
            args = {k: _argument_stub(v) if isinstance(v, str) and len(v) > ARGUMENT_CHARS else v
                    for k, v in c.arguments.items()}
            if args != c.arguments:
                edit.arguments[c.id] = args
        edit.text = _cut(m.text)
    elif m.role == "user" and hardest:  # a note from the person or Baton: hardest only
        edit.text = _cut(m.text)
    if edit.text is None and not edit.results and not edit.arguments and not edit.drop_state:
        return None
    return edit


def compact(messages: list[Message], *, fits: Callable[[list[Message]], bool],
            keep_tools: frozenset[str] = frozenset(), harder: int = 0) -> list[MessageEdit]:
    """The edits that make `messages` fit (`fits`), taking as little as it can: older
    messages first, the first message and the recent turns whole. Tries with KEEP_RECENT
    turns kept whole, then only the last; `harder` (after the provider refused) starts at
    the last and also cuts older notes. Returns what it did even when that is not enough
    (the caller decides); [] when nothing could be compacted."""
    assistants = [i for i, m in enumerate(messages) if m.role == "assistant"]
    if not assistants:
        return []
    last = assistants[-1]
    calls = {c.id: c for m in messages for c in m.tool_calls}
    edits: dict[int, MessageEdit] = {}
    current = list(messages)
    for keep, hardest in ([(KEEP_RECENT, False), (1, False), (1, True)] if harder == 0
                          else [(1, harder > 1), (1, True)]):
        boundary = assistants[-keep] if len(assistants) >= keep else assistants[0]
        for i in range(1, len(messages)):
            if fits(current):
                return list(edits.values())
            if i == last:
                continue
            if i < boundary:
                edit = _compacted_message(current[i], calls, keep_tools, hardest)
            elif current[i].provider_state is not None:  # a recent turn: whole, but its state
                edit = MessageEdit(index=i, drop_state=True)
            else:
                edit = None
            if edit is None:
                continue
            edit.index = i
            edits[i] = _merged(edits[i], edit) if i in edits else edit
            current = apply_edits(current, [edit])
    return list(edits.values())


def _merged(a: MessageEdit, b: MessageEdit) -> MessageEdit:
    return MessageEdit(index=a.index, text=b.text if b.text is not None else a.text,
                       results=a.results | b.results, arguments=a.arguments | b.arguments,
                       drop_state=a.drop_state or b.drop_state)


# --- the guard the loop asks before each turn -------------------------------------------

class ContextGuard:
    """One agent's requests kept within its provider's window. `tokens_per_char` is learnt
    from what the provider counted (every turn's usage, the counting endpoint)."""

    def __init__(self, provider: Provider, keep_tools: frozenset[str] = frozenset()) -> None:
        self.provider = provider
        self.keep_tools = keep_tools
        self.tokens_per_char: float | None = None
        self.counted = 0  # calls to the provider's counting endpoint, for tests and logs

    @property
    def window(self) -> int:
        return self.provider.capabilities.context_window

    def budget(self) -> int:
        """Input tokens a request may take: the window less room for the answer."""
        caps = self.provider.capabilities
        return caps.context_window - min(caps.max_output_tokens, caps.context_window // 4)

    def estimate(self, request: TurnRequest) -> int:
        ratio = self.tokens_per_char or 1 / CHARS_PER_TOKEN
        return math.ceil(request_chars(request) * ratio)

    def learn(self, request: TurnRequest, tokens: int) -> None:
        """The provider counted `tokens` for `request` (its usage, or its counting endpoint)."""
        if tokens > 0:
            low, high = RATIO_RANGE
            self.tokens_per_char = min(max(tokens / max(request_chars(request), 1), low), high)

    async def measure(self, request: TurnRequest) -> int:
        """The request's tokens: the estimate, or the provider's own count (where it has
        one) when the estimate is too close to the compaction point to decide."""
        estimate = self.estimate(request)
        error = UNCALIBRATED_ERROR if self.tokens_per_char is None else CALIBRATED_ERROR
        if abs(estimate - COMPACT_AT * self.budget()) > error * estimate:
            return estimate
        self.counted += 1
        exact = await self.provider.count_tokens(request)
        if exact is None:
            return estimate
        self.learn(request, exact)
        return exact

    def refused(self, request: TurnRequest) -> None:
        """The provider found `request` longer than its window: the ratio is at least that."""
        proven = self.window * 1.05 / max(request_chars(request), 1)
        self.tokens_per_char = max(self.tokens_per_char or 0.0, proven)

    async def fit(self, request: TurnRequest, harder: int = 0) -> list[MessageEdit] | None:
        """The edits that make `request` fit, None when it fits as it is. `harder` > 0:
        the provider refused it that many times, so aim lower."""
        budget = self.budget()
        tokens = self.estimate(request) if harder else await self.measure(request)
        if not harder and tokens <= COMPACT_AT * budget:
            return None
        target = (HARDER_TARGETS[harder - 1] if harder else TARGET) * budget
        ratio = self.tokens_per_char or 1 / CHARS_PER_TOKEN
        fixed = request_chars(request.model_copy(update={"messages": []}))
        sizes: dict[int, int] = {}  # by message object: compaction replaces what it edits

        def fits(messages: list[Message]) -> bool:
            chars = fixed + sum(sizes.get(id(m)) or sizes.setdefault(id(m), message_chars(m))
                                for m in messages)
            return chars * ratio <= target
        edits = compact(request.messages, fits=fits, keep_tools=self.keep_tools, harder=harder)
        log.info("%s: compacting %d of %d messages (~%d tokens, budget %d)", request.role,
                 len(edits), len(request.messages), tokens, budget)
        return edits

    def too_long(self, request: TurnRequest) -> str | None:
        """Why `request` cannot be sent even compacted, or None if its estimate fits."""
        tokens = self.estimate(request)
        if tokens <= self.budget():
            return None
        return (f"the conversation needs about {tokens:,} tokens even compacted (the task, "
                f"its context and the last turn kept whole), more than the model's context "
                f"window of {self.window:,} tokens leaves for it ({self.budget():,}); use a "
                "model with a larger window (`context_window` in its provider table) or "
                "split the task")
