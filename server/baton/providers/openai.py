"""OpenAI Responses API adapter (official SDK, streamed).

What differs here: tool calls are `function_call` output items answered by
`function_call_output` items with the same `call_id`; arguments arrive as JSON strings;
reasoning models take `reasoning.effort` and `max_output_tokens` but no `temperature`,
and their reasoning items must be sent back on later turns. Requests are stateless
(`store: false`), so reasoning comes back encrypted (`reasoning.encrypted_content`) and
is replayed from `provider_state`.

Config extras: `reasoning` (bool; default from the model family), `reasoning_effort`
(minimal|low|medium|high), `temperature` (non-reasoning models only), `prices`,
`retry_base_s`, `retry_max_s`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..config import ProviderConfig
from ..errors import ProviderError
from .base import Capabilities, Message, OnDelta, StopReason, ToolCall, Turn, TurnRequest, Usage
from .pairing import repair_history
from .pricing import priced, prices_for
from .retry import TRANSIENT_KINDS, RetryPolicy, Sleep, guard_delta, with_retries
from .toolargs import parse_arguments

log = logging.getLogger(__name__)

STATE_KEY = "openai"
# Model families that reason (one table here, not checks scattered through the code).
REASONING_PREFIXES = ("gpt-5", "gpt-6", "o1", "o3", "o4")


def is_reasoning_model(cfg: ProviderConfig) -> bool:
    extra = cfg.model_extra or {}
    if "reasoning" in extra:
        return bool(extra["reasoning"])
    # The "-chat" variants (gpt-5-chat-latest, gpt-5.3-chat-latest) do not reason.
    return cfg.model.startswith(REASONING_PREFIXES) and "-chat" not in cfg.model


def _replayed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Stateless requests cannot reference stored item ids: send the items without them.
    return [{k: v for k, v in item.items() if k not in ("id", "status")} for item in items]


def translate_input(messages: list[Message]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for m in repair_history(messages):
        if m.role == "user":
            items.append({"type": "message", "role": "user", "content": m.text or "(empty)"})
        elif m.role == "tool":
            items += [{"type": "function_call_output", "call_id": r.call_id,
                       "output": ("ERROR: " if r.is_error else "") + (r.content or "(empty)")}
                      for r in m.tool_results]
        else:
            state = (m.provider_state or {}).get(STATE_KEY) or {}
            if state.get("items"):
                items += _replayed(state["items"])
                continue
            if m.text:
                items.append({"type": "message", "role": "assistant", "content": m.text})
            items += [{"type": "function_call", "call_id": c.id, "name": c.name,
                       "arguments": json.dumps(c.arguments, ensure_ascii=False)}
                      for c in m.tool_calls]
    return items


def build_params(request: TurnRequest, cfg: ProviderConfig, max_tokens: int) -> dict[str, Any]:
    """The Responses API request body for one turn (golden-tested)."""
    extra = cfg.model_extra or {}
    params: dict[str, Any] = {"model": cfg.model, "input": translate_input(request.messages),
                              "max_output_tokens": max_tokens, "store": False}
    if request.system:
        params["instructions"] = request.system
    if request.tools:
        params["tools"] = [{"type": "function", "name": t.name, "description": t.description,
                            "parameters": t.parameters, "strict": False} for t in request.tools]
    if is_reasoning_model(cfg):
        params["include"] = ["reasoning.encrypted_content"]
        if extra.get("reasoning_effort"):
            params["reasoning"] = {"effort": str(extra["reasoning_effort"])}
    elif "temperature" in extra:
        params["temperature"] = float(extra["temperature"])
    return params


class OpenAIProvider:
    def __init__(self, name: str, cfg: ProviderConfig, *, http_client: Any = None) -> None:
        reasoning = is_reasoning_model(cfg)
        self.name = name
        self.cfg = cfg
        self.capabilities = Capabilities(
            # Reasoning tokens count against the output limit: leave them room.
            max_output_tokens=cfg.max_output_tokens or (32_000 if reasoning else 8192),
            context_window=cfg.context_window or (400_000 if reasoning else 128_000),
            reasoning_replay=reasoning)
        self.policy = RetryPolicy.from_config(cfg)
        self.prices = prices_for(name, cfg)
        self.sleep: Sleep | None = None
        self._http_client = http_client
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            import openai
            key = self.cfg.api_key()
            if key is None:
                raise ProviderError(f"no API key: set ${self.cfg.key_env()} (or api_key_env in "
                                    f"[providers.{self.name}])", provider=self.name)
            self._client = openai.AsyncOpenAI(
                api_key=key.get_secret_value(), base_url=self.cfg.base_url,
                timeout=self.cfg.timeout_s, max_retries=0, http_client=self._http_client)
        return self._client

    async def count_tokens(self, request: TurnRequest) -> int | None:
        return None  # the usage of each turn calibrates the caller's estimate

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        import httpx2
        import openai
        max_tokens = request.max_output_tokens or self.capabilities.max_output_tokens
        params = build_params(request, self.cfg, max_tokens)
        kwargs: dict[str, Any] = {"policy": self.policy, "provider": self.name,
                                  "transient": (openai.APIConnectionError, httpx2.TransportError)}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        if (key := self.cfg.api_key()) is not None:
            kwargs["secret"] = key.get_secret_value()
        delta = guard_delta(on_delta, self.name)
        return await with_retries(lambda: self._stream(params, delta), **kwargs)

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta | None) -> Turn:
        final: dict[str, Any] | None = None
        stream = await self._sdk().responses.create(**params, stream=True)
        async with stream:
            async for ev in stream:
                kind = ev.type
                if kind == "response.output_text.delta":
                    if on_delta and ev.delta:
                        on_delta(ev.delta)
                elif kind in ("response.completed", "response.incomplete"):
                    final = ev.response.to_dict()
                elif kind == "response.failed":
                    err = (ev.response.to_dict().get("error") or {})
                    raise self._error(err.get("code"), err.get("message"))
                elif kind == "error":
                    raise self._error(getattr(ev, "code", None), getattr(ev, "message", None))
        if final is None:
            raise ProviderError("the stream ended before the response was complete",
                                provider=self.name, retryable=True)
        return self._turn(final)

    def _error(self, code: Any, message: Any) -> ProviderError:
        code = str(code or "error")
        return ProviderError(f"error mid-stream {code}: {message or 'no message'}",
                             provider=self.name, retryable=code in TRANSIENT_KINDS)

    def _turn(self, resp: dict[str, Any]) -> Turn:
        output: list[dict[str, Any]] = resp.get("output") or []
        reason = (resp.get("incomplete_details") or {}).get("reason")
        stop = StopReason.END_TURN
        if resp.get("status") == "incomplete":
            stop = {"max_output_tokens": StopReason.MAX_TOKENS,
                    "content_filter": StopReason.REFUSAL}.get(reason or "", StopReason.MAX_TOKENS)
        text: list[str] = []
        calls: list[ToolCall] = []
        for i, item in enumerate(output):
            if item.get("type") == "message":
                for part in item.get("content") or []:
                    if part.get("type") == "output_text":
                        text.append(part.get("text", ""))
                    elif part.get("type") == "refusal":
                        text.append(part.get("refusal", ""))
                        stop = StopReason.REFUSAL
            elif item.get("type") == "function_call":
                args, invalid = parse_arguments(item.get("arguments"))
                cut = item.get("status") == "incomplete" or (
                    stop == StopReason.MAX_TOKENS and i == len(output) - 1)
                if cut and not invalid:
                    invalid = ("the call was cut off at the output token limit; nothing was "
                               "run. Issue it again, with smaller arguments if they were large.")
                calls.append(ToolCall(id=item.get("call_id") or item.get("id", ""),
                                      name=item.get("name", ""),
                                      arguments={} if invalid else args, invalid=invalid))
        if calls and stop == StopReason.END_TURN:
            stop = StopReason.TOOL_USE
        u = resp.get("usage") or {}
        usage = Usage(input_tokens=u.get("input_tokens") or 0,
                      output_tokens=u.get("output_tokens") or 0,
                      cached_tokens=(u.get("input_tokens_details") or {}).get("cached_tokens") or 0)
        usage = priced(usage, self.prices)
        keep = [it for it in output if it.get("type") in ("reasoning", "message", "function_call")]
        has_reasoning = any(it.get("type") == "reasoning" for it in keep)
        return Turn(text="".join(text), tool_calls=calls, stop=stop, usage=usage,
                    provider=self.name, model=resp.get("model") or self.cfg.model,
                    provider_state={STATE_KEY: {"items": keep}} if has_reasoning else None)
