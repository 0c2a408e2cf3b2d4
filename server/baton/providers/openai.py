"""OpenAI Responses API adapter (official SDK, streamed).

What differs here: tool calls are `function_call` output items answered by
`function_call_output` items with the same `call_id`; arguments arrive as JSON strings;
reasoning models take `reasoning.effort` and `max_output_tokens` but no `temperature`,
and their reasoning items must be sent back on later turns. Requests are stateless
(`store: false`), so reasoning comes back encrypted (`reasoning.encrypted_content`) and
is replayed from `provider_state`. Which models reason, their window and output limit
come from models.py.

Answers that are not outages: a `response.failed` for a policy reason, an `incomplete`
response for `content_filter` and a `refusal` part raise ProviderRefused; a 400 or failed
response `context_length_exceeded` raises ContextTooLong; a 429 `insufficient_quota` is
not retried (waiting does not add credit) and says so.

Config extras: `reasoning` (bool; default from the model table), `effort`
(none|minimal|low|medium|high|xhigh), `temperature` (non-reasoning models only), `prices`,
`retry_base_s`, `retry_max_s`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..config import ProviderConfig
from ..errors import ContextTooLong, ProviderError, ProviderRefused
from .base import Capabilities, Message, OnDelta, StopReason, ToolCall, Turn, TurnRequest, Usage
from .models import InForce, in_force
from .pairing import repair_history
from .pricing import priced, prices_for
from .retry import TRANSIENT_KINDS, RetryPolicy, Sleep, guard_delta, retried
from .transport import client_options
from .toolargs import parse_arguments

log = logging.getLogger(__name__)

STATE_KEY = "openai"
# What `responses.input_tokens.count` takes of a request's parameters.
COUNTED_PARAMS = frozenset({"model", "input", "instructions", "tools", "reasoning", "tool_choice",
                            "parallel_tool_calls", "text", "truncation"})
# Error codes of a response that failed for a policy reason (ResponseError.code).
POLICY_CODES = {"invalid_prompt", "bio_policy", "misalignment_policy_violation",
                "image_content_policy_violation"}
CONTEXT_CODES = {"context_length_exceeded"}


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


def build_params(request: TurnRequest, cfg: ProviderConfig, settings: InForce) -> dict[str, Any]:
    """The Responses API request body for one turn (golden-tested)."""
    params: dict[str, Any] = {"model": cfg.model, "input": translate_input(request.messages),
                              "max_output_tokens": request.max_output_tokens
                              or settings.max_output_tokens, "store": False}
    if request.system:
        params["instructions"] = request.system
    if request.tools:
        params["tools"] = [{"type": "function", "name": t.name, "description": t.description,
                            "parameters": t.parameters, "strict": False} for t in request.tools]
    if settings.reasoning:
        params["include"] = ["reasoning.encrypted_content"]
        if settings.effort:
            params["reasoning"] = {"effort": settings.effort}
    if settings.temperature is not None:
        params["temperature"] = settings.temperature
    return params


class OpenAIProvider:
    def __init__(self, name: str, cfg: ProviderConfig, *, http_client: Any = None) -> None:
        self.name = name
        self.cfg = cfg
        self.settings = in_force(name, cfg)
        for note in self.settings.notes:
            log.warning("provider %s: %s", name, note)
        self.capabilities = Capabilities(
            # Reasoning tokens count against the output limit: the model's own limit.
            max_output_tokens=self.settings.max_output_tokens,
            context_window=self.settings.context_window,
            reasoning_replay=self.settings.reasoning)
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
                max_retries=0,
                **client_options(self.cfg, openai.DefaultAsyncHttpxClient, self._http_client))
        return self._client

    async def count_tokens(self, request: TurnRequest) -> int | None:
        """`responses.input_tokens.count` on the request as it would be sent; None when it
        fails (or there is no key), and the caller estimates."""
        import httpx2
        import openai
        params = build_params(request, self.cfg, self.settings)
        counted = {k: v for k, v in params.items() if k in COUNTED_PARAMS}
        try:
            return int((await self._sdk().responses.input_tokens.count(**counted)).input_tokens)
        except (openai.APIError, httpx2.HTTPError, ProviderError) as e:
            log.info("provider %s: counting tokens failed (%s); estimating", self.name,
                     type(e).__name__)
            return None

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        import httpx2
        import openai
        params = build_params(request, self.cfg, self.settings)
        delta = guard_delta(on_delta, self.name)
        return await retried(self, lambda: self._stream(params, delta),
                             (openai.APIConnectionError, httpx2.TransportError))

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta | None) -> Turn:
        import openai
        final: dict[str, Any] | None = None
        try:
            stream = await self._sdk().responses.create(**params, stream=True)
        except (openai.RateLimitError, openai.BadRequestError) as e:
            raise self._status_error(e) from e
        async with stream:
            async for ev in stream:
                kind = ev.type
                if kind == "response.output_text.delta":
                    if on_delta and ev.delta:
                        on_delta(ev.delta)
                elif kind in ("response.completed", "response.incomplete"):
                    final = ev.response.to_dict()
                elif kind == "response.failed":
                    failed = ev.response.to_dict()
                    raise self._error((failed.get("error") or {}).get("code"),
                                      (failed.get("error") or {}).get("message"),
                                      failed.get("error"), self._usage(failed))
                elif kind == "error":
                    raise self._error(getattr(ev, "code", None), getattr(ev, "message", None))
        if final is None:
            raise ProviderError("the stream ended before the response was complete",
                                provider=self.name, retryable=True)
        return self._turn(final)

    def _error(self, code: Any, message: Any, err: dict[str, Any] | None = None,
               usage: Usage | None = None) -> ProviderError:
        """`usage`: what a failed response reports it was billed (the run counts it)."""
        code = str(code or "error")
        text = f"{code}: {message or 'no message'}"
        if code in POLICY_CODES or code.endswith(("_policy", "policy_violation")):
            why = ((err or {}).get("misalignment") or {}).get("detailed_explanation")
            return ProviderRefused(f"{self.cfg.model} declined the request (response failed, "
                                   f"{text}{'; ' + why if why else ''})", provider=self.name,
                                   usage=usage)
        if code in CONTEXT_CODES:
            return ContextTooLong(f"the conversation does not fit {self.cfg.model}'s context "
                                  f"window ({text})", provider=self.name, usage=usage)
        return ProviderError(f"error mid-stream {text}", provider=self.name,
                             retryable=code in TRANSIENT_KINDS, usage=usage)

    def _status_error(self, e: Any) -> Exception:
        """The HTTP errors that are not what their status says: an exhausted quota is a 429
        that waiting does not fix; a 400 can be a conversation that outgrew the window."""
        code = e.code or e.type or ""
        message = getattr(e, "message", "") or str(e)
        if code == "insufficient_quota":
            return ProviderError(
                f"HTTP 429 insufficient_quota: the OpenAI account of this key has no quota left "
                f"(credit or budget used up), so retrying does not help; add credit or raise the "
                f"project's budget in the OpenAI billing settings, or give the role another "
                f"provider ({message})", provider=self.name, status=429)
        if code in CONTEXT_CODES:
            return ContextTooLong(f"the conversation does not fit {self.cfg.model}'s context "
                                  f"window: HTTP 400 {code}: {message}", provider=self.name)
        return e

    def _usage(self, resp: dict[str, Any]) -> Usage:
        u = resp.get("usage") or {}
        return priced(Usage(input_tokens=u.get("input_tokens") or 0,
                            output_tokens=u.get("output_tokens") or 0,
                            cached_tokens=(u.get("input_tokens_details") or {}).get(
                                "cached_tokens") or 0), self.prices)

    def _turn(self, resp: dict[str, Any]) -> Turn:
        output: list[dict[str, Any]] = resp.get("output") or []
        reason = (resp.get("incomplete_details") or {}).get("reason")
        stop = StopReason.END_TURN
        usage = self._usage(resp)  # billed, whether the turn is kept or not
        if resp.get("status") == "incomplete":
            if reason == "content_filter":
                raise ProviderRefused(f"{self.cfg.model} declined the request (response "
                                      "incomplete: content_filter)", provider=self.name,
                                      usage=usage)
            stop = StopReason.MAX_TOKENS
        text: list[str] = []
        calls: list[ToolCall] = []
        for i, item in enumerate(output):
            if item.get("type") == "message":
                for part in item.get("content") or []:
                    if part.get("type") == "output_text":
                        text.append(part.get("text", ""))
                    elif part.get("type") == "refusal":
                        raise ProviderRefused(f"{self.cfg.model} declined the request: "
                                              f"{str(part.get('refusal', ''))[:300]}",
                                              provider=self.name, usage=usage)
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
        keep = [it for it in output if it.get("type") in ("reasoning", "message", "function_call")]
        has_reasoning = any(it.get("type") == "reasoning" for it in keep)
        return Turn(text="".join(text), tool_calls=calls, stop=stop, usage=usage,
                    provider=self.name, model=resp.get("model") or self.cfg.model,
                    provider_state={STATE_KEY: {"items": keep}} if has_reasoning else None)
