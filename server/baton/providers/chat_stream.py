"""A streamed Chat Completions reply read into one turn, as the servers really send it.

What differs between servers, and is handled here:
- reasoning arrives in `reasoning_content` (DeepSeek, Kimi, vLLM and llama.cpp reasoning
  parsers) or `reasoning` (newer vLLM, OpenRouter, LM Studio), or as `<think>` in the
  content (thinking.py); it is kept, never shown or taken as the answer;
- tool call fragments come with an `index` (most), without one (each new call with an id,
  or each call whole in one chunk, as Ollama does), with every call at index 0, with no id
  or one id for all; calls are kept apart and each gets its own id;
- `function.arguments` is JSON text, or a JSON object (Ollama);
- `finish_reason` is "stop" with tool calls (Ollama), or never sent.
"""

from __future__ import annotations

from typing import Any

from .base import OnDelta, StopReason, ToolCall, Usage
from .call_ids import new_id
from .thinking import ThinkSplitter
from .toolargs import Brackets, parse_arguments

FINISH = {"stop": StopReason.END_TURN, "tool_calls": StopReason.TOOL_USE,
          "function_call": StopReason.TOOL_USE, "length": StopReason.MAX_TOKENS,
          "content_filter": StopReason.REFUSAL}
REASONING_FIELDS = ("reasoning_content", "reasoning")
CUT_OFF = ("the call was cut off at the output token limit; nothing was run. Issue it again, "
           "with smaller arguments if they were large.")


class _Slot:
    def __init__(self, call_id: str) -> None:
        self.id = call_id
        self.name = ""
        self.parts: list[str] = []  # argument text as it came (joined once, at the end)
        self.obj: dict[str, Any] | None = None  # arguments sent as a JSON object
        # How far the text is read for `complete`, and its brackets there: read once,
        # however often it is asked (a server that repeats the name asks on every fragment).
        self._read = 0
        self._brackets = Brackets()

    def complete(self) -> bool:
        """Holds a whole call: a name and arguments whose brackets have closed."""
        if not self.name or self.obj is not None:
            return bool(self.name)
        for part in self.parts[self._read:]:
            self._brackets.feed(part)
        self._read = len(self.parts)
        return self._brackets.closed()


class CallAssembler:
    """Tool call fragments → calls. A fragment belongs to the call its `index` names, else
    to the call with its id, else to the latest call, unless it evidently starts another:
    it carries an id other than that call's, or a name while that call is already whole."""

    def __init__(self) -> None:
        self.slots: list[_Slot] = []
        self._by_index: dict[int, _Slot] = {}

    def add(self, index: int | None, call_id: str | None, name: str | None,
            arguments: str | dict[str, Any] | None) -> None:
        slot = self._by_index.get(index) if index is not None else (
            next((s for s in reversed(self.slots) if call_id and s.id == call_id), None)
            or (self.slots[-1] if self.slots and not call_id else None))
        if slot is not None and ((call_id and slot.id and call_id != slot.id)
                                 or (name and slot.complete())):
            slot = None
        if slot is None:
            slot = _Slot(call_id or "")
            self.slots.append(slot)
            if index is not None:
                self._by_index[index] = slot
        slot.id = slot.id or call_id or ""
        # Some servers repeat the name on every fragment: keep the first.
        slot.name = slot.name or name or ""
        if isinstance(arguments, dict):
            slot.obj = {**(slot.obj or {}), **arguments}
        elif arguments:
            slot.parts.append(arguments)

    def calls(self, cut_off: bool) -> list[ToolCall]:
        """The calls, each with a unique non-empty id. With `cut_off` (the output limit was
        hit) the last call may be incomplete even if its arguments happen to parse."""
        out: list[ToolCall] = []
        seen: set[str] = set()
        for n, slot in enumerate(self.slots):
            args, invalid = ((slot.obj, None) if slot.obj is not None
                             else parse_arguments("".join(slot.parts)))
            if cut_off and n == len(self.slots) - 1 and not invalid:
                invalid = CUT_OFF
            call_id = slot.id
            if not call_id or call_id in seen:
                call_id = new_id()
            seen.add(call_id)
            out.append(ToolCall(id=call_id, name=slot.name,
                                arguments={} if invalid else args, invalid=invalid))
        return out


class ChatReply:
    """Everything read from one streamed completion."""

    def __init__(self, on_delta: OnDelta | None) -> None:
        self.on_delta = on_delta
        self.content = ThinkSplitter()
        self.reasoning: list[str] = []
        self.reasoning_field: str | None = None
        self.calls = CallAssembler()
        self.finish: str | None = None
        self.usage = Usage()
        self.received = False  # any content, reasoning or call at all

    def chunk(self, chunk: Any) -> None:
        if chunk.usage:
            u = chunk.usage
            details = getattr(u, "prompt_tokens_details", None)
            self.usage = Usage(input_tokens=u.prompt_tokens or 0,
                               output_tokens=u.completion_tokens or 0,
                               cached_tokens=(getattr(details, "cached_tokens", 0) or 0))
        for choice in chunk.choices or []:
            self.finish = choice.finish_reason or self.finish
            d = choice.delta
            if d is None:
                continue
            for field in REASONING_FIELDS:
                piece = getattr(d, field, None)
                if isinstance(piece, str) and piece:
                    self.reasoning.append(piece)
                    self.reasoning_field = self.reasoning_field or field
                    self.received = True
            if d.content:
                self.received = True
                shown = self.content.feed(d.content)
                if shown and self.on_delta:
                    self.on_delta(shown)
            for tc in d.tool_calls or []:
                self.received = True
                fn = tc.function
                self.calls.add(tc.index, tc.id, fn.name if fn else None,
                               fn.arguments if fn else None)

    def result(self) -> tuple[str, list[ToolCall], StopReason, dict[str, Any] | None]:
        """(answer text, calls, stop reason, provider_state). A missing finish_reason is
        read from what arrived: calls → tool use, else the end of the turn."""
        stop = FINISH.get(self.finish or "", StopReason.END_TURN)
        calls = self.calls.calls(cut_off=stop == StopReason.MAX_TOKENS)
        if calls and stop == StopReason.END_TURN:
            stop = StopReason.TOOL_USE  # Ollama says "stop" even when it called a tool
        text, thought = self.content.finish()
        reasoning = "".join(self.reasoning).strip() or thought
        state = None
        if reasoning:
            # Only reasoning the server sent in a field goes back to it (in that field); the
            # <think> kind was the server's own text and its template drops it anyway.
            state = {"reasoning": reasoning}
            if self.reasoning and self.reasoning_field:
                state["field"] = self.reasoning_field
        return text, calls, stop, state
