"""OpenAI-compatible Chat Completions adapter: Ollama, llama.cpp, vLLM, LM Studio, DeepSeek,
Mistral and other hosted servers.

What differs here: tool calls are `tool_calls` on the assistant message, answered by one
`role: tool` message per call. The servers differ in ways each handled in one place:
- reading the stream (reasoning fields and `<think>`, call fragments, finish): chat_stream.py;
- no tool support: the text protocol (textproto.py), when configured (`native_tools =
  false`) or for good once the server says it has none (TOOLS_REJECTED: specific, so an
  unrelated error never switches); a call written as text while native tools are on is
  recognised (textproto.calls_in_content), not taken as the answer;
- `max_tokens` or `max_completion_tokens`: the one the server names in its 400 is used
  from then on;
- reasoning sent in a field goes back in that field; a server that requires it on every
  assistant turn (DeepSeek's thinking mode answers 400 "Missing `reasoning_content`"; known
  for api.deepseek.com, learned from that 400 elsewhere) gets a note where it was not kept
  (a compacted turn, another provider's);
- tool call ids in the form the server accepts (call_ids.py; Mistral's 9 characters);
- the context window: Ollama's is learned from its native API (ollama.py), another
  server's from what /v1/models lists for the model (vLLM, Mistral, OpenRouter); since
  Ollama cuts an over-long prompt silently, a turn that cannot fit raises ContextTooLong
  before it is sent; other servers' documented context errors raise ContextTooLong, and
  the window they state is learned (answer room trimmed once when only `max_tokens` was
  too large).

Config extras: `native_tools` (default true), `stream_usage` (default true: asks for
usage in the stream; turn off for servers that reject `stream_options`), `temperature`,
`max_tokens_param` (`max_tokens` | `max_completion_tokens`), `call_ids` (`word` | `nine`;
default `nine` for api.mistral.ai), `reasoning` (the model's reasoning comes in a field
and must go back; default true for api.deepseek.com, else learned from the first reply
that has it), `ollama_probe` (default true), `prices`,
`retry_base_s`, `retry_max_s`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from ..config import ProviderConfig
from ..errors import ConfigError, ContextTooLong, ProviderError
from .base import CallIds, Capabilities, Message, OnDelta, StopReason, Turn, TurnRequest
from .call_ids import normalise_call_ids
from .chat_stream import REASONING_FIELDS, ChatReply
from .ollama import SANE_WINDOW, OllamaModel, probe
from .pairing import repair_history
from .pricing import priced, prices_for
from .retry import RetryPolicy, Sleep, error_detail, guard_delta, retried, scrub
from .textproto import calls_in_content, describe_tools, history_as_text, parse_calls
from .transport import client_options

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 8192  # a guess for a server that says nothing: never used to trim a turn
STATE_KEY = "openai_compat"

# What servers say when they cannot take `tools`, each as they word it, so that a bad tool
# message (a wrong tool_call_id, a bad schema) never switches protocols for good.
TOOLS_REJECTED = re.compile("|".join([
    r"does not support tools",                          # Ollama
    r"tool choice requires --enable-auto-tool-choice",  # vLLM without a tool parser
    r"tools param requires --jinja",                    # llama.cpp without --jinja
    r"cannot use tools with stream",                    # llama.cpp before streamed tools (HTTP 500)
    r"unrecognized request argument supplied: tools",   # servers that list their arguments
    r"\btools\b[^.\n]{0,30}extra (inputs|fields) (are )?not permitted",  # strict validators
    r"does not support (function calling|tool use|tool calling)",  # hosted reasoners
    r"(function|tool) calling is not (supported|enabled)",
]), re.IGNORECASE)
# Documented context-length errors: OpenAI, DeepSeek, vLLM ("This model's maximum context
# length is N tokens"), llama.cpp (exceed_context_size_error; "Context size has been
# exceeded", HTTP 500), llama-cpp-python, Mistral, LM Studio, Ollama.
CONTEXT_TOO_LONG = re.compile("|".join([
    r"context_length_exceeded", r"exceed_context_size", r"maximum context length is \d+",
    r"exceeds? (the )?(available |maximum )?context (size|length|window)",
    r"context size has been exceeded", r"too large for model with \d+ maximum context length",
    r"loaded with context length of only", r"prompt is too long",
]), re.IGNORECASE)
_WINDOW = re.compile(r"maximum context length is (\d+)|context size \((\d+) tokens\)"
                     r"|(\d+) maximum context length|context length of only (\d+)", re.IGNORECASE)
_PROMPT = re.compile(r"(\d+) in the messages|request has (\d+) input tokens"
                     r"|request \((\d+) tokens\)|prompt contains (\d+) tokens", re.IGNORECASE)
# OpenAI: "Unsupported parameter: 'max_tokens' is not supported with this model. Use
# 'max_completion_tokens' instead."; other servers reject the newer name as unknown.
_TOKEN_PARAM = re.compile(r"['\"`]?(max_completion_tokens|max_tokens)['\"`]?[^.\n]{0,40}"
                          r"(not supported|unsupported|unrecognized|not permitted|unknown)"
                          r"|(unsupported|unrecognized|unknown) (request )?(parameter|argument)"
                          r"[^.\n]{0,20}['\"`]?(max_completion_tokens|max_tokens)", re.IGNORECASE)
TOKEN_PARAMS = ("max_tokens", "max_completion_tokens")
# DeepSeek: "Missing `reasoning_content` field in the assistant message at message index 2",
# "The `reasoning_content` in the thinking mode must be passed back to the API." (Kimi alike)
REASONING_MISSING = re.compile(r"missing `?reasoning_content|reasoning_content`? in the "
                               r"thinking mode must be passed back", re.IGNORECASE)
MIN_ANSWER = 1024  # tokens left for an answer below which a turn is said not to fit
PROBES = 4  # questions to Ollama's native API at most (ollama.py)
LISTED_WINDOW = ("max_model_len", "max_context_length", "context_length")


class Adjust(ProviderError):
    """The server said how it wants to be asked (`kind`: text_tools, token_param,
    max_tokens); the turn is sent again, adjusted, once per kind."""

    def __init__(self, message: str, *, kind: str = "", value: Any = None, **base: Any) -> None:
        super().__init__(message, **base)  # retry.scrub rebuilds it from ProviderError's fields
        self.kind, self.value = kind, value


def translate_messages(messages: list[Message], call_ids: CallIds = CallIds.WORD,
                       replay: str | None = None) -> list[dict[str, Any]]:
    """Neutral history → Chat Completions messages. Reasoning a server sent in a field goes
    back in that field. With `replay` (a server that requires it back, such as DeepSeek's
    thinking mode, in that field), an assistant turn without its reasoning (compacted, or
    written by another provider) gets a note in its place, never nothing."""
    out: list[dict[str, Any]] = []
    for m in normalise_call_ids(repair_history(messages), call_ids):
        if m.role == "user":
            out.append({"role": "user", "content": m.text})
        elif m.role == "tool":
            out += [{"role": "tool", "tool_call_id": r.call_id,
                     "content": ("ERROR: " if r.is_error else "") + (r.content or "(empty)")}
                    for r in m.tool_results]
        elif m.tool_calls or m.text:  # an empty assistant message is rejected by several servers
            msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            if m.tool_calls:
                msg["tool_calls"] = [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.name,
                                  "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                    for c in m.tool_calls]
            state = (m.provider_state or {}).get(STATE_KEY) or {}
            field = state.get("field") if state.get("field") in REASONING_FIELDS else None
            if field:
                msg[field] = str(state.get("reasoning", ""))
            elif replay:  # the model's own <think> text if there was one, else a note
                msg[replay] = str(state.get("reasoning") or _reasoning_not_kept(m))
            if field or replay:
                msg["content"] = m.text  # DeepSeek refuses a null content beside reasoning
            out.append(msg)
    return out


def _reasoning_not_kept(m: Message) -> str:
    """Stands for reasoning that is gone. DeepSeek refuses an empty one, and the same words
    on every turn make models repeat them instead of answering, so it names the turn."""
    if not m.tool_calls:
        return f"(The reasoning behind this reply was not kept. It began: {m.text[:60]!r})"
    calls = "; ".join(f"{c.name} {json.dumps(c.arguments, ensure_ascii=False)[:60]}"
                      for c in m.tool_calls)
    return f"(The reasoning behind this step was not kept. It called: {calls})"


def build_params(request: TurnRequest, cfg: ProviderConfig, max_tokens: int,
                 native_tools: bool, *, token_param: str = "max_tokens",
                 call_ids: CallIds = CallIds.WORD, replay: str | None = None) -> dict[str, Any]:
    """The Chat Completions request body for one turn (golden-tested)."""
    extra = cfg.model_extra or {}
    system = request.system
    if native_tools or not request.tools:
        messages = translate_messages(request.messages, call_ids, replay)
    else:
        system = f"{system}\n\n{describe_tools(request.tools)}".strip()
        messages = history_as_text(repair_history(request.messages))
    params: dict[str, Any] = {"model": cfg.model, token_param: max_tokens,
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


def estimate_tokens(params: dict[str, Any]) -> int:
    # ~4 characters a token for English and code; errs a little high for JSON schemas.
    return len(json.dumps(params.get("messages", []))) // 4 + len(
        json.dumps(params.get("tools", []))) // 4


def _first_int(pattern: re.Pattern[str], text: str) -> int | None:
    m = pattern.search(text)
    return int(next(g for g in m.groups() if g)) if m else None


class OpenAICompatProvider:
    def __init__(self, name: str, cfg: ProviderConfig, *, http_client: Any = None) -> None:
        extra = cfg.model_extra or {}
        self.name = name
        self.cfg = cfg
        self.native_tools = bool(extra.get("native_tools", True))
        param = str(extra.get("max_tokens_param", "max_tokens"))
        self.token_param = param if param in TOKEN_PARAMS else "max_tokens"
        host = urlsplit(cfg.base_url or "").hostname
        ids = extra.get("call_ids", CallIds.NINE if host == "api.mistral.ai" else CallIds.WORD)
        if ids not in set(CallIds):
            raise ConfigError(f"provider {name!r}: call_ids = {ids!r}; use one of "
                              f"{', '.join(repr(str(c)) for c in CallIds)}")
        self.capabilities = Capabilities(
            max_output_tokens=cfg.max_output_tokens or 4096,
            context_window=cfg.context_window or DEFAULT_CONTEXT, call_ids=CallIds(ids),
            # Known before the first reply (else learned from it): the failover conversion
            # and the probe's budget need it from the start.
            reasoning_replay=bool(extra.get("reasoning", host == "api.deepseek.com")))
        # The field every assistant turn must carry reasoning back in (DeepSeek's thinking
        # mode); else None, until a server says it is missing.
        self.replay: str | None = "reasoning_content" if self.capabilities.reasoning_replay else None
        # Whether the window is known (configured or learned) and may trim a turn.
        self.window_known = cfg.context_window is not None
        self.ollama: OllamaModel | None = None  # set once the server is known to be Ollama
        # Questions left for Ollama's native API: /api/show once (unless unreachable), then
        # /api/ps after a few turns until it says the loaded window.
        self._probes = PROBES if extra.get("ollama_probe", True) else 0
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
                base_url=self.base_url, max_retries=0,
                **client_options(self.cfg, openai.DefaultAsyncHttpxClient, self._http_client))
        return self._client

    async def count_tokens(self, request: TurnRequest) -> int | None:
        return None  # no counting endpoint across these servers: the caller estimates

    @property
    def base_url(self) -> str:
        return self.cfg.base_url or "http://127.0.0.1:11434/v1"

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        await self._learn_window()
        cap: int | None = None
        adjusted: set[str] = set()
        while True:
            try:
                turn = await self._complete(request, on_delta, cap)
            except Adjust as e:
                if e.kind in adjusted or not e.kind:  # the same complaint after adjusting
                    failed = ContextTooLong if e.kind == "max_tokens" else ProviderError
                    raise failed(str(e), provider=self.name, status=e.status) from None
                adjusted.add(e.kind)
                log.warning("provider %s: %s", self.name, e)
                if e.kind == "text_tools":
                    self.native_tools = False
                elif e.kind == "token_param":
                    self.token_param = e.value
                elif e.kind == "replay":
                    self.replay = "reasoning_content"
                    self.capabilities.reasoning_replay = True
                else:
                    cap = e.value
                continue
            if self.ollama is not None:
                await self._learn_window()  # the model is loaded now: its window is known
            return turn

    async def _learn_window(self) -> None:
        """Asks Ollama's native API what window the model gets (ollama.py): first whether
        the server is Ollama at all (any other is asked nothing more), then, after turns,
        the window of the loaded model, until it is known."""
        if self._probes <= 0 or (self.ollama is not None and self.ollama.loaded is not None):
            return
        self._probes -= 1
        try:
            found = await probe(self.base_url, self.cfg.model, loaded_only=self.ollama is not None)
        except ConnectionError:
            return  # not up yet (or not answering): asked again next turn, a few times
        if found is None:
            self._probes = 0
            await self._listed_window()
            return
        if self.ollama is None:
            self.ollama = found
        elif found.loaded is None:
            return
        self.ollama.loaded = found.loaded
        window = self.ollama.window(self.cfg.context_window)
        if window != self.capabilities.context_window:
            log.info("provider %s: Ollama gives %s a %d-token context window (trained for %s; "
                     "raise it with OLLAMA_CONTEXT_LENGTH or a Modelfile num_ctx)", self.name,
                     self.cfg.model, window, self.ollama.trained or "unknown")
        # Changed in place: the failover chain and context management hold this object.
        self.capabilities.context_window = window
        self.window_known = True

    async def _listed_window(self) -> None:
        """The window a server lists for the model in /v1/models, asked once when it is not
        Ollama: vLLM's `max_model_len` (what it enforces), Mistral's `max_context_length`,
        OpenRouter's `context_length`. A configured window smaller than that is kept."""
        import openai
        try:
            page = await self._sdk().with_options(timeout=10).models.list()
        except (openai.APIError, ValueError):
            return  # no listing, or not one to read: the window stays as configured
        for listed in page.data:
            fields = (getattr(listed, f, None) for f in LISTED_WINDOW)
            window = next((v for v in fields if isinstance(v, int) and v in SANE_WINDOW), None)
            if listed.id == self.cfg.model and window:
                window = min(window, self.cfg.context_window or window)
                log.info("provider %s: the server lists a %d-token context window for %s",
                         self.name, window, self.cfg.model)
                self.capabilities.context_window = window
                self.window_known = True
                return

    async def _complete(self, request: TurnRequest, on_delta: OnDelta | None,
                        cap: int | None) -> Turn:
        import httpx2
        import openai
        wanted = min(request.max_output_tokens or self.capabilities.max_output_tokens,
                     cap or 1 << 30)
        native = self.native_tools
        params = build_params(request, self.cfg, wanted, native, token_param=self.token_param,
                              call_ids=self.capabilities.call_ids, replay=self.replay)
        params[self.token_param] = self._answer_room(request, estimate_tokens(params), wanted)
        delta = guard_delta(on_delta, self.name)
        turn = await retried(self, lambda: self._stream(params, delta),
                             (openai.APIConnectionError, httpx2.TransportError))
        if request.tools and not turn.tool_calls:
            # Not native: the protocol asked for. Native: a call written as text anyway.
            text, calls = (calls_in_content if native else parse_calls)(turn.text, request.tools)
            if calls:
                stop = StopReason.MAX_TOKENS if turn.stop == StopReason.MAX_TOKENS \
                    else StopReason.TOOL_USE
                turn = turn.model_copy(update={"text": text, "tool_calls": calls, "stop": stop})
        return turn

    def _answer_room(self, request: TurnRequest, estimate: int, wanted: int) -> int:
        """`max_tokens` for a prompt of about `estimate` tokens: what is wanted, trimmed to
        the room the known window leaves. A turn with no room left is refused before it is
        sent to a server that would cut the prompt silently (Ollama), warned of otherwise."""
        if not self.window_known:
            return wanted
        window = self.capabilities.context_window
        room = window - estimate
        if room >= min(wanted, MIN_ANSWER):
            return min(wanted, room)
        if self.ollama is not None:
            trained = self.ollama.trained
            raise ContextTooLong(
                f"the conversation (about {estimate} tokens) leaves no room for an answer in "
                f"the {window}-token context window Ollama gives {self.cfg.model} (it would "
                "silently drop the start, system prompt and tools first); for a larger one: "
                "OLLAMA_CONTEXT_LENGTH=32768 ollama serve, or PARAMETER num_ctx in a Modelfile"
                f"{f' (the model takes up to {trained})' if trained else ''}", provider=self.name)
        if request.run_id not in self._warned:
            self._warned.add(request.run_id)  # once per run, not on every turn
            log.warning("provider %s: the prompt is about %d tokens (+%d for the answer), over "
                        "the %d-token context window configured for it. Raise context_window "
                        "(and the server's own) if the model allows it.", self.name, estimate,
                        wanted, window)
        return min(wanted, MIN_ANSWER)

    def _diagnose(self, e: Any, params: dict[str, Any]) -> ProviderError | None:
        """An error response the adapter acts on (see the module's docstring), else None."""
        kind, message = error_detail(getattr(e, "body", None))
        text = f"{kind} {message or getattr(e, 'message', '')}"
        status = getattr(e, "status_code", 0)
        key = self.cfg.api_key()
        # The key is taken out here, not left to retry.scrub: an Adjust rebuilt there would
        # lose its kind (some servers echo the key they were sent).
        where = str(scrub(ProviderError(f"{f'HTTP {status}' if status else 'error mid-stream'}: "
                                        f"{message or kind}"),
                          key.get_secret_value() if key else None))
        if "tools" in params and TOOLS_REJECTED.search(text):
            return Adjust(f"the server has no tool calling ({where}); using the text tool "
                          "protocol from now on (native_tools = false skips this attempt)",
                          kind="text_tools", provider=self.name, status=status or None)
        if CONTEXT_TOO_LONG.search(text):
            body = e.body if isinstance(getattr(e, "body", None), dict) else {}
            err = found if isinstance(found := body.get("error"), dict) else body
            window = _first_int(_WINDOW, text) or err.get("n_ctx")
            prompt = _first_int(_PROMPT, text) or err.get("n_prompt_tokens")
            if isinstance(window, int) and window > 0:
                self.capabilities.context_window = window
                self.window_known = True
                sent = params.get(self.token_param, 0)
                if isinstance(prompt, int) and window - prompt >= MIN_ANSWER and sent > window - prompt:
                    return Adjust(f"{where}; asking for at most {window - prompt} answer "
                                  "tokens", kind="max_tokens", value=window - prompt,
                                  provider=self.name, status=status or None)
            return ContextTooLong(f"the conversation does not fit the model's context window "
                                  f"({where})", provider=self.name, status=status or None)
        if REASONING_MISSING.search(text) and self.replay is None:
            return Adjust(f"{where}; every assistant turn carries its reasoning from now on "
                          "(a note where it was not kept)", kind="replay", provider=self.name,
                          status=status or None)
        if status == 400 and (m := _TOKEN_PARAM.search(text)):
            named = next(p for p in reversed(TOKEN_PARAMS) if p in m.group(0))
            if named == self.token_param:
                other = next(p for p in TOKEN_PARAMS if p != named)
                return Adjust(f"{where}; sending {other} from now on", kind="token_param",
                              value=other, provider=self.name, status=status)
        return None

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta | None) -> Turn:
        import openai
        try:
            stream = await self._sdk().chat.completions.create(**params, stream=True)
        except openai.APIStatusError as e:
            if (known := self._diagnose(e, params)) is not None:
                raise known from None  # its text says it all; the original holds headers
            raise
        reply = ChatReply(on_delta)
        async with stream:
            try:
                async for chunk in stream:
                    reply.chunk(chunk)
            except openai.APIError as e:  # an error event after HTTP 200 (llama.cpp)
                if isinstance(e, openai.APIConnectionError):
                    raise
                if (known := self._diagnose(e, params)) is not None:
                    raise known from None
                raise
        if reply.finish is None and not reply.received:
            raise ProviderError("the stream ended before the completion was finished",
                                provider=self.name, retryable=True)
        text, calls, stop, state = reply.result()
        if state and state.get("field"):
            self.capabilities.reasoning_replay = True
        return Turn(text=text, tool_calls=calls, stop=stop, usage=priced(reply.usage, self.prices),
                    provider=self.name, model=self.cfg.model,
                    provider_state={STATE_KEY: state} if state else None)
