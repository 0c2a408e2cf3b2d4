"""Anthropic Messages API adapter (official SDK, streamed).

What differs here: the system prompt is a top-level field; every `tool_use` must be
answered by a `tool_result` in the very next user message (grouped, ids matching), so a
history interrupted mid-turn is repaired before it is sent; prompt caching needs explicit
`cache_control` breakpoints; an `overloaded_error` can arrive mid-stream after HTTP 200,
which the SDK neither retries nor maps to 529, so `retry.py` handles it.

Thinking: a turn's content blocks (`thinking` with its `signature`, `redacted_thinking`,
text, `tool_use`) go back exactly as they came, in their order: their signatures are
checked, and once thinking is interleaved with tool calls a reordered or merged turn is a
400. The ordered list is kept in `provider_state`. How a model thinks by default, and which
fields it refuses, comes from models.py; so does `block_binding` for models that check a
thinking block's prefix (Fable 5.1 and later, the 5.5 models): compaction rewrites older
turns, and the API drops the thinking it no longer vouches for instead of answering 400.
That field needs a beta header, sent with it, and each block dropped is logged. Where it
cannot go (Sonnet 5.5's `between_tools`, a newer model the table does not know), the 400
"bound to a different conversation" is answered as the docs say, by sending the history
once more without its thinking.

Stop reasons that are not an answer: `pause_turn` continues the same turn (the partial
turn is sent back, a bounded number of times); `refusal` raises ProviderRefused;
`model_context_window_exceeded` and the 400 "prompt is too long" raise ContextTooLong; a
400 "input length and `max_tokens` exceed context limit" (older models) is retried once
with the room there is.

Config extras: `cache` (default true), `thinking` ("adaptive", "off" or a budget in
tokens), `effort` (low|medium|high|xhigh|max), `temperature`, `prices`, `retry_base_s`,
`retry_max_s`.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..config import ProviderConfig
from ..errors import ContextTooLong, ProviderError, ProviderRefused
from .base import (Capabilities, Message, OnDelta, StopReason, ToolCall, ToolResult, Turn,
                   TurnRequest, Usage)
from .models import InForce, in_force
from .pairing import repair_history
from .pricing import priced, prices_for
from .retry import RetryPolicy, Sleep, classify, guard_delta, retried
from .transport import client_options
from .toolargs import parse_arguments

log = logging.getLogger(__name__)

STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "stop_sequence": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "pause_turn": StopReason.PAUSE,
    "refusal": StopReason.REFUSAL,
    "model_context_window_exceeded": StopReason.CONTEXT_EXCEEDED,
}
STATE_KEY = "anthropic"
# What `messages.count_tokens` takes of a request's parameters.
COUNTED_PARAMS = frozenset({"model", "messages", "system", "tools", "thinking", "tool_choice",
                            "output_config"})
EPHEMERAL = {"type": "ephemeral"}
BINDING_BETA = "thinking-binding-controls-2026-08-01"  # what `thinking.block_binding` needs
# pause_turn continuations inside one turn; past them the turn is handed back paused and
# the loop's next turn continues it from the history.
MAX_PAUSES = 4
# A turn's blocks are kept for replay up to this size (128k output tokens is ~0.6 MB):
# a bound against a hostile server, not a limit a model reaches.
MAX_STATE_CHARS = 4_000_000
TOO_LONG = re.compile(r"prompt is too long", re.IGNORECASE)
# "input length and `max_tokens` exceed context limit: 197461 + 8192 > 200000, ..."
OVER_LIMIT = re.compile(r"exceed context limit: (\d+) \+ (\d+) > (\d+)")
# A replayed thinking block whose prefix changed, on a model that checks (preserved thinking)
UNBOUND = re.compile(r"bound to a different conversation", re.IGNORECASE)
THINKING_BLOCKS = ("thinking", "redacted_thinking")


def _tool_result_block(r: ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": r.call_id,
                             "content": r.content or "(empty)"}
    if r.is_error:
        block["is_error"] = True
    return block


def _assistant_blocks(m: Message) -> list[dict[str, Any]]:
    state = (m.provider_state or {}).get(STATE_KEY) or {}
    content = state.get("content")
    if isinstance(content, list) and content:
        blocks = [copy.deepcopy(b) for b in content if isinstance(b, dict)]
        if [b.get("id") for b in blocks if b.get("type") == "tool_use"] == \
                [c.id for c in m.tool_calls]:
            return blocks  # the model's own turn, as it came
        log.warning("stored content of an assistant turn does not match its tool calls; "
                    "sending the turn rebuilt without its thinking")
    # A turn kept before the ordered list was (thinking first), or one without thinking.
    blocks = [copy.deepcopy(b) for b in state.get("thinking", []) if isinstance(b, dict)]
    if m.text:
        blocks.append({"type": "text", "text": m.text})
    for c in m.tool_calls:
        # An invalid call's input could not be parsed; the model gets its error as the result.
        blocks.append({"type": "tool_use", "id": c.id, "name": c.name,
                       "input": {} if c.invalid else c.arguments})
    return blocks


def translate_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Neutral history → Messages API turns: repaired pairing (pairing.py), tool results
    as a user turn, same-role neighbours merged, empty assistant turns skipped."""
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in repair_history(messages):
        if m.role == "tool":
            add("user", [_tool_result_block(r) for r in m.tool_results])
        elif m.role == "user":
            add("user", [{"type": "text", "text": m.text}] if m.text else [])
        else:
            add("assistant", _assistant_blocks(m))
    if out and out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continue)"}]})
    return out


def build_params(request: TurnRequest, cfg: ProviderConfig, settings: InForce) -> dict[str, Any]:
    """The Messages API request body for one turn (golden-tested)."""
    extra = cfg.model_extra or {}
    cache = bool(extra.get("cache", True))
    params: dict[str, Any] = {"model": cfg.model,
                              "max_tokens": request.max_output_tokens or settings.max_output_tokens}
    if request.system:
        system: dict[str, Any] = {"type": "text", "text": request.system}
        if cache:
            system["cache_control"] = EPHEMERAL
        params["system"] = [system]
    if request.tools:
        tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                 for t in request.tools]
        if cache:  # the breakpoint on the last tool caches system + all tools
            tools[-1]["cache_control"] = EPHEMERAL
        params["tools"] = tools
    messages = translate_messages(request.messages)
    if cache and messages:
        # A moving breakpoint at the end lets each turn of a loop read the previous one.
        last = messages[-1]["content"][-1]
        if last.get("type") in ("text", "tool_result"):
            last["cache_control"] = EPHEMERAL
    params["messages"] = messages
    if settings.thinking is not None:
        params["thinking"] = dict(settings.thinking)
        budget = settings.thinking.get("budget_tokens")
        if budget:  # thinking counts inside max_tokens: leave room for an answer
            params["max_tokens"] = max(params["max_tokens"], int(budget) + 4096)
    if settings.effort:
        params["output_config"] = {"effort": settings.effort}
    if settings.temperature is not None:
        params["temperature"] = settings.temperature
    return params


def beta_headers(params: dict[str, Any]) -> dict[str, str]:
    """The `anthropic-beta` header a request body needs (thinking.block_binding's)."""
    return {"anthropic-beta": BINDING_BETA} if "block_binding" in (params.get("thinking") or {}) \
        else {}


def _wire(b: dict[str, Any]) -> dict[str, Any]:
    """A streamed block as the API takes it back (tool_use with its parsed input)."""
    block = {k: v for k, v in b.items() if not k.startswith("_")}
    if block["type"] == "tool_use" and b.get("_json"):
        block["input"] = parse_arguments(b["_json"])[0]
    return block


def _continued(params: dict[str, Any], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The request that lets a paused turn go on: the same one with the turn so far as the
    last assistant message (documented for pause_turn)."""
    messages = list(params["messages"])
    if messages and messages[-1]["role"] == "assistant":
        messages[-1] = {"role": "assistant", "content": messages[-1]["content"] + blocks}
    else:
        messages.append({"role": "assistant", "content": blocks})
    return params | {"messages": messages}


def _without_thinking(params: dict[str, Any]) -> dict[str, Any]:
    """The request with no thinking block in its history (a turn left empty goes; the API
    joins the neighbours that meet)."""
    messages = []
    for m in params["messages"]:
        if m["role"] == "assistant":
            m = m | {"content": [b for b in m["content"] if b.get("type") not in THINKING_BLOCKS]}
        if m["content"]:
            messages.append(m)
    return params | {"messages": messages}


@dataclass
class _Streamed:
    """One response's blocks as they came (tool_use input parsed), and how it ended."""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)


class _OverLimit(ProviderError):
    """input + max_tokens exceed the window of a model that says so with a 400."""

    def __init__(self, room: int, message: str, provider: str) -> None:
        super().__init__(message, provider=provider)
        self.room = room


class _Unbound(ProviderError):
    """Thinking the API no longer vouches for, on a request that could not ask to drop it."""


class AnthropicProvider:
    def __init__(self, name: str, cfg: ProviderConfig, *, http_client: Any = None) -> None:
        self.name = name
        self.cfg = cfg
        self.settings = in_force(name, cfg)
        for note in self.settings.notes:
            log.warning("provider %s: %s", name, note)
        self.capabilities = Capabilities(
            max_output_tokens=self.settings.max_output_tokens,
            context_window=self.settings.context_window,
            reasoning_replay=self.settings.thinks)
        self.policy = RetryPolicy.from_config(cfg)
        self.prices = prices_for(name, cfg)
        self.sleep: Sleep | None = None  # tests replace the backoff sleep
        self._http_client = http_client
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            import anthropic  # heavy; imported when the provider is first used
            key = self.cfg.api_key()
            self._client = anthropic.AsyncAnthropic(
                api_key=key.get_secret_value() if key else None, base_url=self.cfg.base_url,
                max_retries=0,
                **client_options(self.cfg, anthropic.DefaultAsyncHttpxClient, self._http_client))
        return self._client

    async def count_tokens(self, request: TurnRequest) -> int | None:
        """`messages.count_tokens` on the request as it would be sent (free, rate-limited
        separately); None when it fails, and the caller estimates."""
        import anthropic
        import httpx2
        params = build_params(request, self.cfg, self.settings)
        counted = {k: v for k, v in params.items() if k in COUNTED_PARAMS}
        try:
            return int((await self._sdk().messages.count_tokens(
                **counted, extra_headers=beta_headers(counted))).input_tokens)
        except (anthropic.APIError, httpx2.HTTPError) as e:
            log.info("provider %s: counting tokens failed (%s); estimating", self.name,
                     type(e).__name__)
            return None

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        import anthropic
        import httpx2
        params = build_params(request, self.cfg, self.settings)
        transient = (anthropic.APIConnectionError, httpx2.TransportError)
        delta = guard_delta(on_delta, self.name)
        turn = _Streamed()
        shrunk = unbound = False
        try:
            for _ in range(MAX_PAUSES + 1):
                sent = _continued(params, [_wire(b) for b in turn.blocks]) if turn.blocks \
                    else params
                try:
                    part = await retried(self, partial(self._stream, sent, delta, transient),
                                         transient)
                except _OverLimit as e:
                    if shrunk:
                        raise
                    turn.usage = turn.usage + (e.usage or Usage())  # earlier attempts, billed
                    # Older models refuse max_tokens beyond the window instead of stopping
                    # at it: ask for the room there is, once.
                    log.warning("provider %s: %s; asking for %d output tokens", self.name, e,
                                e.room)
                    params["max_tokens"], shrunk = e.room, True
                    continue
                except _Unbound as e:
                    if unbound:
                        raise
                    turn.usage = turn.usage + (e.usage or Usage())
                    # The documented way out where block_binding cannot go: the same
                    # conversation without the reasoning the model no longer vouches for.
                    log.warning("provider %s: %s; sending the conversation again without its "
                                "thinking", self.name, e)
                    params, unbound = _without_thinking(params), True
                    turn.blocks = [b for b in turn.blocks if b["type"] not in THINKING_BLOCKS]
                    continue
                turn.blocks += part.blocks
                turn.stop, turn.stop_details = part.stop, part.stop_details
                turn.usage = turn.usage + part.usage
                if part.stop != "pause_turn":
                    break
        except ProviderError as e:
            if turn.usage != Usage():  # pause_turn parts, billed
                e.usage = priced(turn.usage + (e.usage or Usage()), self.prices)
            if self.cfg.api_key() is None and not e.retryable:
                # The SDK looked for other credentials; say which variable Baton reads.
                raise type(e)(f"{e} (no API key: ${self.cfg.key_env()} is not set)",
                              provider=self.name, usage=e.usage) from e
            raise
        return self._turn(turn)

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta | None,
                      transient: tuple[type[BaseException], ...]) -> _Streamed:
        """One attempt. Failing once message_start has said what it bills (an
        overloaded_error mid-stream, a stream cut), its error carries that usage: the
        retry that follows pays again, and the run counts both."""
        out = _Streamed()
        try:
            await self._read(params, on_delta, out)
        except Exception as e:
            if out.usage == Usage():
                raise
            err = classify(e, self.name, transient)
            err.usage = priced(out.usage, self.prices)
            if err is e:
                raise
            raise err from e
        return out

    async def _read(self, params: dict[str, Any], on_delta: OnDelta | None,
                    out: _Streamed) -> None:
        import anthropic
        blocks: dict[int, dict[str, Any]] = {}
        finished = False
        try:
            stream = await self._sdk().messages.create(**params, stream=True,
                                                       extra_headers=beta_headers(params))
        except anthropic.BadRequestError as e:
            raise self._bad_request(e, params) from e
        async with stream:  # closing the stream drops the connection on cancel
            async for ev in stream:
                kind = ev.type
                if kind == "message_start":
                    out.usage = _usage(ev.message.usage, out.usage)
                    self._log_dropped(getattr(ev.message, "input_transformations", None))
                elif kind == "content_block_start":
                    cb = ev.content_block.to_dict()
                    cb["_json"] = ""
                    blocks[ev.index] = cb
                elif kind == "content_block_delta":
                    b, d = blocks[ev.index], ev.delta
                    if d.type == "text_delta":
                        b["text"] = b.get("text", "") + d.text
                        if on_delta and d.text:
                            on_delta(d.text)
                    elif d.type == "input_json_delta":
                        b["_json"] += d.partial_json
                    elif d.type == "thinking_delta":
                        b["thinking"] = b.get("thinking", "") + d.thinking
                    elif d.type == "signature_delta":
                        b["signature"] = d.signature
                elif kind == "message_delta":
                    out.stop = ev.delta.stop_reason or out.stop
                    details = getattr(ev.delta, "stop_details", None)
                    if details is not None:
                        out.stop_details = details.to_dict()
                    out.usage = _usage(ev.usage, out.usage)
                elif kind == "message_stop":
                    finished = True
        if not finished:
            raise ProviderError("the stream ended before the message was complete",
                                provider=self.name, retryable=True)
        out.blocks = [blocks[i] for i in sorted(blocks)]

    def _log_dropped(self, transformations: Any) -> None:
        """Say when the API left out thinking it no longer vouches for (`drop_block`): the
        model goes on without that reasoning, which costs quality, never silently."""
        if not isinstance(transformations, list):
            return
        dropped = sum(1 for t in transformations
                      if (t.get("type") if isinstance(t, dict) else getattr(t, "type", None))
                      == "thinking_dropped")
        if dropped:
            log.info("provider %s: the API dropped %d thinking block(s) whose conversation "
                     "changed since they were written (compacted or converted history)",
                     self.name, dropped)

    def _bad_request(self, e: Any, params: dict[str, Any]) -> Exception:
        """A 400 that says the conversation does not fit, as context management's error."""
        text = str(getattr(e, "message", "") or e)
        if TOO_LONG.search(text):
            return ContextTooLong(f"the conversation does not fit {self.cfg.model}'s context "
                                  f"window: HTTP 400: {text}", provider=self.name)
        if UNBOUND.search(text) and "block_binding" not in (params.get("thinking") or {}):
            return _Unbound(f"HTTP 400: {text}", provider=self.name, status=400)
        over = OVER_LIMIT.search(text)
        if over:
            used, limit = int(over.group(1)), int(over.group(3))
            # Numbers from the server: never more than was asked for.
            room = min(limit - used, int(params["max_tokens"]) - 1)
            budget = int((params.get("thinking") or {}).get("budget_tokens") or 0)
            if room >= budget + 1024:
                return _OverLimit(room, f"HTTP 400: {text}", self.name)
            return ContextTooLong(f"the conversation leaves {self.cfg.model} no room to answer: "
                                  f"HTTP 400: {text}", provider=self.name)
        return e

    def _turn(self, streamed: _Streamed) -> Turn:
        blocks, stop_raw = streamed.blocks, streamed.stop
        usage = priced(streamed.usage, self.prices)  # billed, whether the turn is kept or not
        if stop_raw == "refusal":
            raise ProviderRefused(_refusal(self.cfg.model, streamed), provider=self.name,
                                  usage=usage)
        if stop_raw == "model_context_window_exceeded":
            raise ContextTooLong(f"the conversation filled {self.cfg.model}'s context window "
                                 "before the answer was complete", provider=self.name,
                                 usage=usage)
        stop = STOP_REASONS.get(stop_raw or "end_turn", StopReason.END_TURN)
        text_parts: list[str] = []
        calls: list[ToolCall] = []
        kept: list[dict[str, Any]] = []
        for i, b in enumerate(blocks):
            block = _wire(b)
            if b["type"] == "text":
                text_parts.append(b.get("text", ""))
            elif b["type"] == "tool_use":
                raw = b["_json"]
                args, invalid = parse_arguments(raw) if raw else (b.get("input") or {}, None)
                if stop == StopReason.MAX_TOKENS and i == len(blocks) - 1 and not invalid:
                    # Cut at the output limit: even JSON that parses may be missing fields.
                    invalid = ("the call was cut off at the output token limit; nothing was "
                               "run. Issue it again, with smaller arguments if they were large.")
                calls.append(ToolCall(id=b["id"], name=b["name"],
                                      arguments={} if invalid else args, invalid=invalid))
                block["input"] = {} if invalid else args
            kept.append(block)
        if stop_raw not in STOP_REASONS and stop_raw is not None:
            log.warning("provider %s: unknown stop reason %r, treated as end of turn",
                        self.name, stop_raw)
        if calls and stop == StopReason.END_TURN:
            stop = StopReason.TOOL_USE
        return Turn(text="".join(text_parts), tool_calls=calls, stop=stop, usage=usage,
                    provider=self.name, model=self.cfg.model,
                    provider_state=self._state(kept))

    def _state(self, blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The turn's ordered blocks, when they hold more than its text and calls say."""
        if all(b["type"] in ("text", "tool_use") for b in blocks):
            return None
        if len(json.dumps(blocks, ensure_ascii=False)) > MAX_STATE_CHARS:
            log.warning("provider %s: a turn of more than %d characters of content blocks is "
                        "not kept for replay", self.name, MAX_STATE_CHARS)
            return None
        return {STATE_KEY: {"content": blocks}}


def _refusal(model: str, streamed: _Streamed) -> str:
    details = streamed.stop_details or {}
    why = ", ".join(str(details[k]) for k in ("category", "explanation") if details.get(k))
    said = "".join(b.get("text", "") for b in streamed.blocks if b["type"] == "text").strip()
    return (f"{model} declined the request (stop reason refusal{': ' + why if why else ''})"
            + (f"; it said: {said[:300]}" if said else ""))


def _usage(u: Any, prev: Usage) -> Usage:
    """Anthropic reports input excluding cache reads and writes; Usage counts them in."""
    if u is None:
        return prev
    plain = getattr(u, "input_tokens", None)
    read = getattr(u, "cache_read_input_tokens", None)
    wrote = getattr(u, "cache_creation_input_tokens", None)
    out = getattr(u, "output_tokens", None)
    cached = prev.cached_tokens if read is None else read
    written = prev.cache_write_tokens if wrote is None else wrote
    if plain is None:
        total_in = prev.input_tokens
    else:
        total_in = plain + cached + written
    return Usage(input_tokens=total_in, output_tokens=prev.output_tokens if out is None else out,
                 cached_tokens=cached, cache_write_tokens=written)


def dumps(params: dict[str, Any]) -> str:
    """Stable JSON of a request body, for golden files."""
    return json.dumps(params, indent=2, sort_keys=True, ensure_ascii=False)
