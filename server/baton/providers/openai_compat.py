"""OpenAI-compatible Chat Completions adapter: Ollama, llama.cpp server, vLLM, LM Studio.

What differs here: tool calls are `tool_calls` on the assistant message, answered by one
`role: tool` message per call; many servers or models have no tool support at all, so
the text protocol (textproto.py) is used when configured (`native_tools = false`) or
switched to for good when the server rejects `tools`; local servers have small context
windows and some (Ollama) silently drop the front of an over-long prompt, system prompt
and tools first, so a prompt that likely exceeds `context_window` is logged as a warning.

Config extras: `native_tools` (default true), `stream_usage` (default true: asks for
usage in the stream; turn off for servers that reject `stream_options`), `temperature`,
`prices` (default 0: local), `retry_base_s`, `retry_max_s`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from ..config import ProviderConfig
from ..errors import ProviderError
from .base import Capabilities, Message, OnDelta, StopReason, ToolCall, Turn, TurnRequest, Usage
from .pairing import repair_history
from .pricing import priced, prices_for
from .retry import RetryPolicy, Sleep, guard_delta, with_retries
from .textproto import describe_tools, history_as_text, parse_calls
from .toolargs import parse_arguments

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 8192
FINISH = {"stop": StopReason.END_TURN, "tool_calls": StopReason.TOOL_USE,
          "function_call": StopReason.TOOL_USE, "length": StopReason.MAX_TOKENS,
          "content_filter": StopReason.REFUSAL}


# What servers say when they cannot take `tools` (Ollama: "... does not support tools";
# vLLM: "auto" tool choice requires --enable-auto-tool-choice; llama.cpp: "tools param
# requires --jinja flag"), as opposed to a bad tool message (a wrong tool_call_id).
TOOLS_REJECTED = re.compile(
    r"tool.*(support|requires|--jinja|enable-auto-tool-choice|unrecognized|unknown|not allowed|"
    r"not permitted|extra (inputs|fields))|(unrecognized|unknown|unsupported|extra).*\btools\b"
    r"|(not|n't) support\w* (the )?tool",
    re.IGNORECASE | re.DOTALL)


class ToolsRejected(ProviderError):
    """The server refused the `tools` parameter: this server or model has no tool calling."""


def translate_messages(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in repair_history(messages):
        if m.role == "user":
            out.append({"role": "user", "content": m.text})
        elif m.role == "tool":
            out += [{"role": "tool", "tool_call_id": r.call_id,
                     "content": ("ERROR: " if r.is_error else "") + (r.content or "(empty)")}
                    for r in m.tool_results]
        else:
            msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            if m.tool_calls:
                msg["tool_calls"] = [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.name,
                                  "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                    for c in m.tool_calls]
            elif not m.text:
                continue  # an empty assistant message is rejected by several servers
            out.append(msg)
    return out


def build_params(request: TurnRequest, cfg: ProviderConfig, max_tokens: int,
                 native_tools: bool) -> dict[str, Any]:
    """The Chat Completions request body for one turn (golden-tested)."""
    extra = cfg.model_extra or {}
    system = request.system
    if native_tools or not request.tools:
        messages = translate_messages(request.messages)
    else:
        system = f"{system}\n\n{describe_tools(request.tools)}".strip()
        messages = history_as_text(repair_history(request.messages))
    params: dict[str, Any] = {"model": cfg.model, "max_tokens": max_tokens,
                              "messages": ([{"role": "system", "content": system}] if system
                                           else []) + messages}
    if native_tools and request.tools:
        params["tools"] = [{"type": "function",
                            "function": {"name": t.name, "description": t.description,
                                         "parameters": t.parameters}} for t in request.tools]
    if extra.get("stream_usage", True):
        params["stream_options"] = {"include_usage": True}
    if "temperature" in extra:
        params["temperature"] = float(extra["temperature"])
    return params


def _slot_index(calls: dict[int, dict[str, str]], index: int | None, call_id: str | None) -> int:
    """Which call a streamed fragment belongs to. Servers differ: most send `index`; some
    omit it and send an id with each new call and none on its continuations."""
    if index is not None:
        return index
    if call_id:
        for i, slot in calls.items():
            if slot["id"] == call_id:
                return i
        return len(calls)
    return max(calls) if calls else 0


def estimate_tokens(params: dict[str, Any]) -> int:
    # ~4 characters a token for English and code; errs a little high for JSON schemas.
    return len(json.dumps(params.get("messages", []))) // 4 + len(
        json.dumps(params.get("tools", []))) // 4


class OpenAICompatProvider:
    def __init__(self, name: str, cfg: ProviderConfig, *, http_client: Any = None) -> None:
        extra = cfg.model_extra or {}
        self.name = name
        self.cfg = cfg
        self.native_tools = bool(extra.get("native_tools", True))
        self.capabilities = Capabilities(
            max_output_tokens=cfg.max_output_tokens or 4096,
            context_window=cfg.context_window or DEFAULT_CONTEXT)
        self.policy = RetryPolicy.from_config(cfg)
        self.prices = prices_for(name, cfg)
        self.sleep: Sleep | None = None
        self._http_client = http_client
        self._client: Any = None
        self._warned: set[str] = set()

    def _sdk(self) -> Any:
        if self._client is None:
            import openai
            key = self.cfg.api_key()
            # Local servers need no key, but the SDK insists on one.
            self._client = openai.AsyncOpenAI(
                api_key=key.get_secret_value() if key else "not-needed",
                base_url=self.cfg.base_url or "http://127.0.0.1:11434/v1",
                timeout=self.cfg.timeout_s, max_retries=0, http_client=self._http_client)
        return self._client

    async def count_tokens(self, request: TurnRequest) -> int | None:
        return None  # no counting endpoint across these servers: the caller estimates

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        try:
            return await self._complete(request, on_delta)
        except ToolsRejected as e:
            log.warning("provider %s: the server rejects tools (%s); using the text tool "
                        "protocol from now on (set native_tools = false to skip this attempt)",
                        self.name, e)
            self.native_tools = False
            return await self._complete(request, on_delta)

    async def _complete(self, request: TurnRequest, on_delta: OnDelta | None) -> Turn:
        import httpx2
        import openai
        max_tokens = request.max_output_tokens or self.capabilities.max_output_tokens
        native = self.native_tools
        params = build_params(request, self.cfg, max_tokens, native)
        estimate = estimate_tokens(params)
        window = self.capabilities.context_window
        if estimate + max_tokens > window and request.run_id not in self._warned:
            self._warned.add(request.run_id)  # once per run, not on every turn
            log.warning("provider %s: the prompt is about %d tokens (+%d for the answer), over "
                        "the %d-token context window configured for it; servers like Ollama "
                        "silently drop the start of the prompt (system and tools first). Raise "
                        "context_window (and the server's own, e.g. Ollama num_ctx) if the model "
                        "allows it.", self.name, estimate, max_tokens, window)
        kwargs: dict[str, Any] = {"policy": self.policy, "provider": self.name,
                                  "transient": (openai.APIConnectionError, httpx2.TransportError)}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        if (key := self.cfg.api_key()) is not None:
            kwargs["secret"] = key.get_secret_value()
        delta = guard_delta(on_delta, self.name)
        turn = await with_retries(lambda: self._stream(params, delta), **kwargs)
        if not native and request.tools:
            text, calls = parse_calls(turn.text, request.tools)
            if calls:
                stop = StopReason.MAX_TOKENS if turn.stop == StopReason.MAX_TOKENS \
                    else StopReason.TOOL_USE
                turn = turn.model_copy(update={"text": text, "tool_calls": calls, "stop": stop})
        return turn

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta | None) -> Turn:
        import openai
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish: str | None = None
        usage = Usage()
        try:
            stream = await self._sdk().chat.completions.create(**params, stream=True)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
            if "tools" in params and TOOLS_REJECTED.search(str(e)):
                raise ToolsRejected(str(e.message), provider=self.name) from e
            raise
        async with stream:
            async for chunk in stream:
                if chunk.usage:
                    u = chunk.usage
                    details = getattr(u, "prompt_tokens_details", None)
                    usage = Usage(input_tokens=u.prompt_tokens or 0,
                                  output_tokens=u.completion_tokens or 0,
                                  cached_tokens=(getattr(details, "cached_tokens", 0) or 0))
                for choice in chunk.choices or []:
                    d = choice.delta
                    if d is not None and d.content:
                        text.append(d.content)
                        if on_delta:
                            on_delta(d.content)
                    for tc in (d.tool_calls or []) if d is not None else []:
                        slot = calls.setdefault(_slot_index(calls, tc.index, tc.id),
                                                {"id": "", "name": "", "args": ""})
                        slot["id"] = tc.id or slot["id"]
                        if tc.function is not None:
                            # Some servers repeat the name on every chunk: keep the first.
                            slot["name"] = slot["name"] or tc.function.name or ""
                            slot["args"] += tc.function.arguments or ""
                    finish = choice.finish_reason or finish
        if finish is None:
            raise ProviderError("the stream ended before the completion was finished",
                                provider=self.name, retryable=True)
        stop = FINISH.get(finish, StopReason.END_TURN)
        out: list[ToolCall] = []
        ordered = [calls[i] for i in sorted(calls)]
        for n, c in enumerate(ordered):
            args, invalid = parse_arguments(c["args"])
            if stop == StopReason.MAX_TOKENS and n == len(ordered) - 1 and not invalid:
                invalid = ("the call was cut off at the output token limit; nothing was run. "
                           "Issue it again, with smaller arguments if they were large.")
            out.append(ToolCall(id=c["id"] or f"call_{n}", name=c["name"],
                                arguments={} if invalid else args, invalid=invalid))
        if out and stop == StopReason.END_TURN:
            stop = StopReason.TOOL_USE  # Ollama says "stop" even when it called a tool
        usage = priced(usage, self.prices)
        return Turn(text="".join(text), tool_calls=out, stop=stop, usage=usage,
                    provider=self.name, model=self.cfg.model)
