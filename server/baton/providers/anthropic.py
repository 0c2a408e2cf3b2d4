"""Anthropic Messages API adapter (official SDK, streamed).

What differs here: the system prompt is a top-level field; every `tool_use` must be
answered by a `tool_result` in the very next user message (grouped, ids matching), so a
history interrupted mid-turn is repaired before it is sent; prompt caching needs explicit
`cache_control` breakpoints; an `overloaded_error` can arrive mid-stream after HTTP 200,
which the SDK neither retries nor maps to 529, so `retry.py` handles it.

Config extras: `cache` (default true), `thinking_budget` (tokens; enables extended
thinking, whose blocks are replayed through `provider_state`), `temperature`, `prices`,
`retry_base_s`, `retry_max_s`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..config import ProviderConfig
from ..errors import ProviderError
from .base import (Capabilities, Message, OnDelta, StopReason, ToolCall, ToolResult, Turn,
                   TurnRequest, Usage)
from .pairing import repair_history
from .pricing import priced, prices_for
from .retry import RetryPolicy, Sleep, guard_delta, with_retries
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


def _tool_result_block(r: ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": r.call_id,
                             "content": r.content or "(empty)"}
    if r.is_error:
        block["is_error"] = True
    return block


def _assistant_blocks(m: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    state = (m.provider_state or {}).get(STATE_KEY) or {}
    # Thinking blocks go back verbatim (their signatures are checked) and first.
    blocks += [b for b in state.get("thinking", []) if isinstance(b, dict)]
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


def build_params(request: TurnRequest, cfg: ProviderConfig, max_tokens: int) -> dict[str, Any]:
    """The Messages API request body for one turn (golden-tested)."""
    extra = cfg.model_extra or {}
    cache = bool(extra.get("cache", True))
    params: dict[str, Any] = {"model": cfg.model, "max_tokens": max_tokens}
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
    budget = extra.get("thinking_budget")
    if budget:
        params["thinking"] = {"type": "enabled", "budget_tokens": int(budget)}
        # The API wants room for an answer beyond the thinking budget.
        params["max_tokens"] = max(max_tokens, int(budget) + 4096)
    elif "temperature" in extra:  # extended thinking refuses a temperature
        params["temperature"] = float(extra["temperature"])
    return params


class AnthropicProvider:
    def __init__(self, name: str, cfg: ProviderConfig, *, http_client: Any = None) -> None:
        extra = cfg.model_extra or {}
        self.name = name
        self.cfg = cfg
        self.capabilities = Capabilities(
            max_output_tokens=cfg.max_output_tokens or 8192,
            context_window=cfg.context_window or 200_000,
            reasoning_replay=bool(extra.get("thinking_budget")))
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
                timeout=self.cfg.timeout_s, max_retries=0, http_client=self._http_client)
        return self._client

    async def count_tokens(self, request: TurnRequest) -> int | None:
        """`messages.count_tokens` on the request as it would be sent (free, rate-limited
        separately); None when it fails, and the caller estimates."""
        import anthropic
        import httpx2
        params = build_params(request, self.cfg, self.capabilities.max_output_tokens)
        counted = {k: v for k, v in params.items() if k in COUNTED_PARAMS}
        try:
            return int((await self._sdk().messages.count_tokens(**counted)).input_tokens)
        except (anthropic.APIError, httpx2.HTTPError) as e:
            log.info("provider %s: counting tokens failed (%s); estimating", self.name,
                     type(e).__name__)
            return None

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        import anthropic
        import httpx2
        max_tokens = request.max_output_tokens or self.capabilities.max_output_tokens
        params = build_params(request, self.cfg, max_tokens)
        transient = (anthropic.APIConnectionError, httpx2.TransportError)
        kwargs: dict[str, Any] = {"policy": self.policy, "provider": self.name,
                                  "transient": transient}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        if (key := self.cfg.api_key()) is not None:
            kwargs["secret"] = key.get_secret_value()
        delta = guard_delta(on_delta, self.name)
        try:
            return await with_retries(lambda: self._stream(params, delta), **kwargs)
        except ProviderError as e:
            if self.cfg.api_key() is None and not e.retryable:
                # The SDK looked for other credentials; say which variable Baton reads.
                raise ProviderError(f"{e} (no API key: ${self.cfg.key_env()} is not set)",
                                    provider=self.name) from e
            raise

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta | None) -> Turn:
        blocks: dict[int, dict[str, Any]] = {}
        usage = Usage()
        stop_raw: str | None = None
        finished = False
        stream = await self._sdk().messages.create(**params, stream=True)
        async with stream:  # closing the stream drops the connection on cancel
            async for ev in stream:
                kind = ev.type
                if kind == "message_start":
                    usage = _usage(ev.message.usage, usage)
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
                    stop_raw = ev.delta.stop_reason or stop_raw
                    usage = _usage(ev.usage, usage)
                elif kind == "message_stop":
                    finished = True
        if not finished:
            raise ProviderError("the stream ended before the message was complete",
                                provider=self.name, retryable=True)
        return self._turn([blocks[i] for i in sorted(blocks)], stop_raw, usage)

    def _turn(self, blocks: list[dict[str, Any]], stop_raw: str | None, usage: Usage) -> Turn:
        stop = STOP_REASONS.get(stop_raw or "end_turn", StopReason.END_TURN)
        text_parts: list[str] = []
        calls: list[ToolCall] = []
        thinking: list[dict[str, Any]] = []
        for i, b in enumerate(blocks):
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
            elif b["type"] in ("thinking", "redacted_thinking"):
                thinking.append({k: v for k, v in b.items() if not k.startswith("_")})
        if stop_raw not in STOP_REASONS and stop_raw is not None:
            log.warning("provider %s: unknown stop reason %r, treated as end of turn",
                        self.name, stop_raw)
        if calls and stop == StopReason.END_TURN:
            stop = StopReason.TOOL_USE
        usage = priced(usage, self.prices)
        return Turn(text="".join(text_parts), tool_calls=calls, stop=stop, usage=usage,
                    provider=self.name, model=self.cfg.model,
                    provider_state={STATE_KEY: {"thinking": thinking}} if thinking else None)


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
