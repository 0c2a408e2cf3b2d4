"""A fake LLM HTTP server on 127.0.0.1 for tests: Anthropic Messages (`/v1/messages`),
OpenAI Responses (`/v1/responses`) and Chat Completions (`/v1/chat/completions`), in JSON
and SSE, with fault injection.

    with FakeLLMServer() as server:
        server.push(Reply(text="hi"), Reply(calls=[Call("read_file", {"path": "a"})]))
        cfg = ProviderConfig(kind="anthropic", model="m", base_url=server.url, ...)
        # openai kinds: base_url=server.url + "/v1"

Each request takes the next reply queued for its model (`push(..., model=...)`), else the
next one of the shared FIFO (whatever the endpoint); with none left the server answers 500
so a test fails loudly. `server.requests` records every request
(path, JSON body; headers minus auth). `reject_tools = True` makes every request with
`tools` fail with 400, as servers without tool support do.

Requests are checked as the real APIs check them (`validate`, on by default): a history
they would refuse gets their 400 (tool call ids, tool call / result pairing, fields of
another vendor, thinking on an open tool exchange); `mistral = True` makes the Chat
Completions endpoint as strict as Mistral's: 9-character call ids, no field it does not know.
Anthropic models with preserved thinking (PREFIX_CHECKED) refuse a thinking block whose
prefix (system, tools, what came before it) changed since it was sent, unless the request
asks `thinking.block_binding.prefix_mismatch_behavior: "drop_block"` (with its beta header):
then the block is left out, listed in `input_transformations` and in `thinking_dropped`.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    name: str
    arguments: dict[str, Any] | None = None
    raw: str | None = None  # raw argument text, sent as-is (malformed/truncated arguments)
    id: str = ""

    def args_text(self) -> str:
        return self.raw if self.raw is not None else json.dumps(self.arguments or {})


@dataclass
class Thinking:
    """An Anthropic thinking block; `redacted` makes it a redacted_thinking block (opaque
    data, no text). The signature defaults to one derived from the text."""
    text: str = ""
    signature: str = ""
    redacted: str = ""

    def block(self) -> dict[str, Any]:
        if self.redacted:
            return {"type": "redacted_thinking", "data": self.redacted}
        sig = self.signature or "sig-" + hashlib.sha256(self.text.encode()).hexdigest()[:16]
        return {"type": "thinking", "thinking": self.text, "signature": sig}


@dataclass
class Reply:
    text: str = ""
    calls: list[Call] = field(default_factory=list)
    stop: str = ""  # wire stop reason; default from calls (end_turn/tool_use, stop/tool_calls)
    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning: dict[str, Any] | None = None  # Responses reasoning item to emit first
    thinking: str = ""  # Anthropic: a thinking block (with a signature) before the text
    # Anthropic: the turn's content in order, instead of thinking/text/calls (interleaved
    # thinking: [Thinking(..), "text", Call(..), Thinking(..), Call(..)])
    blocks: list[Thinking | Call | str] | None = None
    stop_details: dict[str, Any] | None = None  # Anthropic: with stop="refusal"
    failed: dict[str, Any] | None = None  # Responses: response.failed with this error object
    # faults
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = ""  # error body type for status >= 400
    error_message: str = "injected fault"
    mid_stream_error: str = ""  # e.g. "overloaded_error": sent after some events, HTTP 200
    cut_mid_call: bool = False  # SSE stops mid tool-call arguments (connection dropped)
    event_delay_s: float = 0.0  # pause between SSE events (server side), for cancel tests
    chat: ChatStyle | None = None  # Chat Completions: how the server words this reply


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Small SSE writes otherwise wait on delayed ACKs (~40 ms a turn on loopback).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: keeps test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()
                   if k.lower() not in ("authorization", "x-api-key")}
        if self.path.startswith("/api/"):  # Ollama's native API, kept out of `requests`
            return self._json(*_ollama_api(self.path, body, fake))
        fake.requests.append(Recorded(self.path, body, headers))
        if self.path.endswith("/messages/count_tokens"):  # Anthropic's counting endpoint
            if (wrong := _anthropic_binding(fake, body, headers)[0]) is not None:
                return self._json(400, {"type": "error", "error": {
                    "type": "invalid_request_error", "message": wrong}})
            if fake.token_count is None:
                return self._json(500, {"type": "error", "error": {"type": "api_error",
                                                                   "message": "injected fault"}})
            return self._json(200, {"input_tokens": fake.token_count})
        if self.path.endswith("/responses/input_tokens"):  # OpenAI's counting endpoint
            if fake.token_count is None:
                return self._json(500, {"error": {"type": "server_error", "message": "injected fault"}})
            return self._json(200, {"object": "response.input_tokens",
                                    "input_tokens": fake.token_count})
        kind = _kind(self.path)
        if kind is None:
            return self._json(404, {"error": {"type": "not_found", "message": self.path}})
        if kind == "chat" and (refusal := _chat_refusal(body, fake)) is not None:
            return self._json(*refusal)
        dropped: list[str] = []
        if kind == "anthropic":
            wrong, dropped = _anthropic_binding(fake, body, headers)
            if (wrong := _anthropic_replay_error(fake, body) or wrong) is not None:
                return self._json(400, {"type": "error", "error": {
                    "type": "invalid_request_error", "message": wrong}})
        if fake.reject_tools and body.get("tools"):
            return self._json(400, {"error": {"type": "invalid_request_error", "message":
                                              f"model {body.get('model')} does not support tools"}})
        invalid = VALIDATE[kind](body, fake) if fake.validate else None
        if invalid:
            return self._json(400, {"type": "error", "error": {
                "type": "invalid_request_error", "message": invalid}} if kind == "anthropic"
                else {"error": {"type": "invalid_request_error", "code": None,
                                "message": invalid}})
        reply = fake.next_reply(body.get("model"))
        if reply is None:
            return self._json(500, {"error": {"type": "api_error",
                                              "message": "fake server: no reply queued"}})
        if reply.status >= 400:
            err_type = reply.error_type or {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}.get(
                reply.status, "api_error")
            body_out = ({"type": "error", "error": {"type": err_type, "message": reply.error_message}}
                        if kind == "anthropic" else
                        {"error": {"type": err_type, "code": err_type, "message": reply.error_message}})
            return self._json(reply.status, body_out, reply.headers)
        model = body.get("model", "")
        extra: dict[str, Any] = {}
        if kind == "anthropic":
            fake.remember_thinking(_anthropic_content(reply), body)
            if BINDING_BETA in headers.get("anthropic-beta", ""):  # the beta reports drops
                fake.thinking_dropped += dropped
                extra["input_transformations"] = [
                    {"type": "thinking_dropped", "path": p, "reason": "prefix_binding_mismatch"}
                    for p in dropped]
        if not body.get("stream"):
            return self._json(200, RENDER_JSON[kind](reply, model) | extra)
        events = RENDER_SSE[kind](reply, model)
        if extra:  # Anthropic's, in message_start
            events[0][1]["message"].update(extra)
        self._sse(events, reply)

    def do_GET(self) -> None:
        fake = self.server.fake
        if self.path.endswith("/v1/models") and fake.chat.models:  # Chat Completions servers' list
            return self._json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake", **fields}
                for m, fields in fake.chat.models.items()]})
        self._json(*_ollama_api(self.path, {}, fake))

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, Any]], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        fake = self.server.fake
        try:
            for name, data in events:
                if name == "__cut__":
                    self.wfile.flush()
                    self.close_connection = True
                    return  # no terminating chunk: the client sees the body break off
                text = (f"event: {name}\n" if name else "") + \
                    f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"
                raw = text.encode()
                self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                self.wfile.flush()
                if reply.event_delay_s and fake.stopping.wait(reply.event_delay_s):
                    return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            fake.disconnected.set()  # the client went away mid-stream (cancelled)


def _kind(path: str) -> str | None:
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/responses"):
        return "responses"
    if path.endswith("/chat/completions"):
        return "chat"
    return None


def _split(text: str, n: int = 3) -> list[str]:
    if not text:
        return []
    step = max(1, -(-len(text) // n))
    return [text[i:i + step] for i in range(0, len(text), step)]


# ---- Anthropic Messages -------------------------------------------------------------

def _anthropic_stop(r: Reply) -> str:
    calls = r.calls or any(isinstance(b, Call) for b in r.blocks or [])
    return r.stop or ("tool_use" if calls else "end_turn")


def _anthropic_usage(r: Reply) -> dict[str, int]:
    return {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
            "cache_read_input_tokens": r.cached_tokens,
            "cache_creation_input_tokens": r.cache_write_tokens}


def _anthropic_content(r: Reply) -> list[dict[str, Any]]:
    """The reply's content blocks in order (tool_use input as the raw argument text)."""
    if r.blocks is None:
        parts: list[Thinking | Call | str] = [Thinking(r.thinking, "sig-abc")] if r.thinking else []
        parts += ([r.text] if r.text else []) + list(r.calls)
    else:
        parts = r.blocks
    out: list[dict[str, Any]] = []
    for i, p in enumerate(parts):
        if isinstance(p, Thinking):
            out.append(p.block())
        elif isinstance(p, Call):
            out.append({"type": "tool_use", "id": p.id or f"toolu_{i}", "name": p.name,
                        "_raw": p.args_text(), "input": p.arguments or {}})
        else:
            out.append({"type": "text", "text": p})
    return out


def _replay_key(block: dict[str, Any]) -> tuple[Any, ...]:
    kind = block.get("type")
    if kind == "thinking":
        return kind, block.get("thinking"), block.get("signature")
    if kind == "redacted_thinking":
        return kind, block.get("data")
    if kind == "tool_use":
        return kind, block.get("id")
    return kind, block.get("text")


def _anthropic_replay_error(fake: FakeLLMServer, body: dict[str, Any]) -> str | None:
    """What the API says of an assistant turn whose thinking came back changed: each turn
    holding thinking must be, block for block and in order, one or more responses as they
    were sent (signatures checked, text not merged, nothing moved)."""
    for n, message in enumerate(body.get("messages") or []):
        content = message.get("content")
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        keys = [_replay_key(b) for b in content if isinstance(b, dict)]
        if not any(k[0] in ("thinking", "redacted_thinking") for k in keys):
            continue
        at = 0
        while at < len(keys):
            match = next((len(seq) for seq in fake.issued_thinking
                          if keys[at:at + len(seq)] == seq), 0)
            if not match:
                return (f"messages.{n}.content.{at}: `thinking` or `redacted_thinking` blocks in "
                        "the latest assistant message cannot be modified. These blocks must "
                        "remain as they were in the original response.")
            at += match
    return None


# Models that check a replayed thinking block's prefix (Anthropic's "prefix checks on
# thinking blocks" page; the fake enforces it as every account created since 2026-08-31 sees).
PREFIX_CHECKED = ("claude-fable-5-1", "claude-fable-5-2", "claude-mythos-5-1",
                  "claude-mythos-5-2", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5")
BINDING_BETA = "thinking-binding-controls-2026-08-01"
_THINKING = ("thinking", "redacted_thinking")


def _uncached(value: Any) -> Any:
    """A request part as the prefix check compares it: moving a cache breakpoint is no edit."""
    if isinstance(value, dict):
        return {k: _uncached(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_uncached(v) for v in value]
    return value


def _prefix_digest(body: dict[str, Any], before: list[Any], blocks_before: list[Any]) -> str:
    """What a thinking block is bound to: system, tools, the messages before its own, and
    the blocks before it in its message."""
    prefix = [_uncached([body.get("system"), body.get("tools"), before]),
              [_replay_key(b) for b in blocks_before if isinstance(b, dict)]]
    return hashlib.sha256(json.dumps(prefix, sort_keys=True, default=str).encode()).hexdigest()


def _anthropic_binding(fake: FakeLLMServer, body: dict[str, Any],
                       headers: dict[str, str]) -> tuple[str | None, list[str]]:
    """Preserved thinking: (the API's 400, or None; the paths of the blocks drop_block
    leaves out). A block fails when its prefix differs from the one it was written after;
    every later block then differs too."""
    binding = (body.get("thinking") or {}).get("block_binding")
    if binding is not None and BINDING_BETA not in headers.get("anthropic-beta", ""):
        return (f"thinking.block_binding: this field requires the `{BINDING_BETA}` value in "
                "the `anthropic-beta` header."), []
    if not str(body.get("model", "")).startswith(PREFIX_CHECKED):
        return None, []
    drop = (binding or {}).get("prefix_mismatch_behavior") == "drop_block"
    messages = body.get("messages") or []
    dropped: list[str] = []
    for n, m in enumerate(messages):
        content = m.get("content")
        if m.get("role") != "assistant" or not isinstance(content, list):
            continue
        for j, b in enumerate(content):
            key = _replay_key(b) if isinstance(b, dict) else ("",)
            if key[0] not in _THINKING or _prefix_digest(body, messages[:n], content[:j]) in \
                    fake.thinking_prefixes.get(key, set()):
                continue
            if not drop:
                return (f"messages.{n}.content.{j}: Invalid `signature` in `thinking` block. The "
                        "block is bound to a different conversation. Remove the block, or set "
                        "`thinking.block_binding.prefix_mismatch_behavior` to \"drop_block\". "
                        f"That setting requires the `{BINDING_BETA}` value in the "
                        "`anthropic-beta` header."), []
            dropped.append(f"messages.{n}.content.{j}")
    return None, dropped


def _anthropic_json(r: Reply, model: str) -> dict[str, Any]:
    content = [{k: v for k, v in b.items() if k != "_raw"} for b in _anthropic_content(r)]
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": _anthropic_stop(r), "stop_sequence": None,
            "stop_details": r.stop_details, "usage": _anthropic_usage(r)}


def _anthropic_sse(r: Reply, model: str) -> list[tuple[str | None, Any]]:
    start = _anthropic_json(r, model) | {"content": [], "stop_reason": None, "stop_details": None}
    start["usage"] = _anthropic_usage(r) | {"output_tokens": 1}
    ev: list[tuple[str | None, Any]] = [("message_start", {"type": "message_start", "message": start}),
                                        ("ping", {"type": "ping"})]

    def delta(n: int, d: dict[str, Any]) -> tuple[str, Any]:
        return "content_block_delta", {"type": "content_block_delta", "index": n, "delta": d}

    for n, b in enumerate(_anthropic_content(r)):
        kind = b["type"]
        if kind == "tool_use" and r.mid_stream_error:
            ev.append(("error", {"type": "error", "error": {"type": r.mid_stream_error,
                                                            "message": "Overloaded"}}))
            return ev
        opening = {"thinking": {"type": "thinking", "thinking": "", "signature": ""},
                   "text": {"type": "text", "text": ""},
                   "tool_use": {"type": "tool_use", "id": b.get("id"), "name": b.get("name"),
                                "input": {}}}.get(kind, b)
        ev.append(("content_block_start", {"type": "content_block_start", "index": n,
                                           "content_block": opening}))
        if kind == "thinking":
            ev += [delta(n, {"type": "thinking_delta", "thinking": piece})
                   for piece in _split(b["thinking"])]
            ev.append(delta(n, {"type": "signature_delta", "signature": b["signature"]}))
        elif kind == "text":
            ev += [delta(n, {"type": "text_delta", "text": piece}) for piece in _split(b["text"])]
        elif kind == "tool_use":
            pieces = _split(b["_raw"])
            for k, piece in enumerate(pieces):
                ev.append(delta(n, {"type": "input_json_delta", "partial_json": piece}))
                if r.cut_mid_call and k == len(pieces) // 2:
                    return ev + [("__cut__", None)]
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": n}))
    if r.mid_stream_error:
        ev.append(("error", {"type": "error", "error": {"type": r.mid_stream_error,
                                                        "message": "Overloaded"}}))
        return ev
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": _anthropic_stop(r), "stop_sequence": None,
                                           "stop_details": r.stop_details},
                                 "usage": {"output_tokens": r.output_tokens}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


# ---- OpenAI Responses ---------------------------------------------------------------

def _responses_items(r: Reply) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [r.reasoning] if r.reasoning else []
    if r.text:
        items.append({"type": "message", "id": "msg_fake", "role": "assistant", "status": "completed",
                      "content": [{"type": "output_text", "text": r.text, "annotations": []}]})
    items += [{"type": "function_call", "id": f"fc_{i}", "call_id": c.id or f"call_{i}",
               "name": c.name, "arguments": c.args_text(), "status": "completed"}
              for i, c in enumerate(r.calls)]
    return items


def _responses_json(r: Reply, model: str) -> dict[str, Any]:
    incomplete = r.stop in ("max_output_tokens", "content_filter")
    return {"id": "resp_fake", "object": "response", "created_at": 0, "model": model,
            "status": "failed" if r.failed else "incomplete" if incomplete else "completed",
            "incomplete_details": {"reason": r.stop} if incomplete else None, "error": r.failed,
            "output": _responses_items(r), "parallel_tool_calls": True, "tool_choice": "auto",
            "tools": [],
            "usage": {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                      "total_tokens": r.input_tokens + r.output_tokens,
                      "input_tokens_details": {"cached_tokens": r.cached_tokens},
                      "output_tokens_details": {"reasoning_tokens": 0}}}


def _responses_sse(r: Reply, model: str) -> list[tuple[str | None, Any]]:
    full = _responses_json(r, model)
    seq = iter(range(10_000))

    def e(kind: str, **data: Any) -> tuple[str, Any]:
        return kind, {"type": kind, "sequence_number": next(seq), **data}

    ev = [e("response.created", response=full | {"status": "in_progress", "output": [],
                                                  "error": None})]
    if r.failed:
        return ev + [e("response.failed", response=full | {"output": []})]
    for n, item in enumerate(full["output"]):
        ev.append(e("response.output_item.added", output_index=n,
                    item=item | ({"content": []} if item["type"] == "message" else {})
                    | ({"arguments": ""} if item["type"] == "function_call" else {})))
        if item["type"] == "message":
            ev += [e("response.output_text.delta", item_id=item["id"], output_index=n,
                     content_index=0, delta=piece) for piece in _split(r.text)]
            if r.mid_stream_error:
                return ev + [e("error", code=r.mid_stream_error, message="injected fault", param=None)]
        elif item["type"] == "function_call":
            pieces = _split(item["arguments"])
            for k, piece in enumerate(pieces):
                ev.append(e("response.function_call_arguments.delta", item_id=item["id"],
                            output_index=n, delta=piece))
                if r.cut_mid_call and k == len(pieces) // 2:
                    return ev + [("__cut__", None)]
        ev.append(e("response.output_item.done", output_index=n, item=item))
    if r.mid_stream_error:
        return ev + [e("error", code=r.mid_stream_error, message="injected fault", param=None)]
    done = "response.incomplete" if full["status"] == "incomplete" else "response.completed"
    ev.append(e(done, response=full))
    return ev


# ---- Chat Completions ---------------------------------------------------------------

def _chat_finish(r: Reply) -> str:
    return r.stop or ("tool_calls" if r.calls else "stop")


def _chat_usage(r: Reply) -> dict[str, Any]:
    return {"prompt_tokens": r.input_tokens, "completion_tokens": r.output_tokens,
            "total_tokens": r.input_tokens + r.output_tokens,
            "prompt_tokens_details": {"cached_tokens": r.cached_tokens}}


def _chat_json(r: Reply, model: str) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": r.text or None}
    if r.calls:
        msg["tool_calls"] = [{"id": c.id or f"call_{i}", "type": "function",
                              "function": {"name": c.name, "arguments": c.args_text()}}
                             for i, c in enumerate(r.calls)]
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": msg, "finish_reason": _chat_finish(r)}],
            "usage": _chat_usage(r)}


def _chat_sse(r: Reply, model: str) -> list[tuple[str | None, Any]]:
    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> tuple[None, Any]:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return None, {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                      "model": model, "choices": choices, **extra}

    style = r.chat or ChatStyle()
    ev = [chunk({"role": "assistant", "content": ""})]
    ev += [chunk({style.reasoning_field: piece}) for piece in _split(style.reasoning, style.pieces)]
    ev += [chunk({"content": piece}) for piece in _split(r.text, style.pieces)]
    if r.mid_stream_error:
        return ev + [(None, {"error": {"type": r.mid_stream_error, "code": r.mid_stream_error,
                                       "message": r.error_message}})]
    for i, c in enumerate(r.calls):
        where = {} if style.index == "none" else {"index": 0 if style.index == "zero" else i}
        head = where | ({} if style.ids == "none" else
                        {"id": "call_same" if style.ids == "same" else c.id or f"call_{i}"})
        head |= {"type": "function", "function": {"name": c.name, "arguments": ""}}
        if style.whole_calls or style.args_as_object:
            head["function"]["arguments"] = c.arguments if style.args_as_object else c.args_text()
            ev.append(chunk({"tool_calls": [head]}))
            continue
        ev.append(chunk({"tool_calls": [head]}))
        pieces = _split(c.args_text())
        for k, piece in enumerate(pieces):
            ev.append(chunk({"tool_calls": [where | {"function": {"arguments": piece}}]}))
            if r.cut_mid_call and k == len(pieces) // 2:
                return ev + [("__cut__", None)]
    ev.append(chunk({}, _chat_finish(r) if style.finish else None))
    ev.append(chunk(None, usage=_chat_usage(r)))
    ev.append((None, "[DONE]"))
    return ev


@dataclass
class ChatStyle:
    """How a Chat Completions server words one reply: each switch is a real server's habit."""
    reasoning: str = ""  # streamed before the answer in `reasoning_field` (DeepSeek, vLLM)
    reasoning_field: str = "reasoning_content"  # or "reasoning" (newer vLLM, OpenRouter)
    pieces: int = 3  # chunks the text is split into (more: tags split across chunks)
    args_as_object: bool = False  # function.arguments as a JSON object (Ollama)
    index: str = "each"  # "each" | "none": no index | "zero": every call at index 0
    ids: str = "each"  # "each" | "none": no ids | "same": one id for every call
    whole_calls: bool = False  # each call in one chunk, name and arguments (Ollama)
    finish: bool = True  # False: no finish_reason at all, the stream just ends


@dataclass
class ChatServer:
    """Switches of the whole Chat Completions server (`fake.chat`), as real ones behave."""
    # With `reject_tools`: (status, message) of the refusal ({model} is filled in);
    # llama.cpp before streamed tools: (500, "Cannot use tools with stream").
    tools_error: tuple[int, str] = (400, "registry.ollama.ai/library/{model} does not support tools")
    # "max_completion_tokens": a request with max_tokens gets OpenAI's 400, and "max_tokens"
    # the reverse (a server that does not know the newer name).
    token_param: str = ""
    # DeepSeek's thinking mode: an assistant tool-call message without reasoning_content gets 400.
    reasoning_back: bool = False
    # vLLM: a prompt (4 characters a token) plus the answer tokens over this gets its 400.
    context_window: int = 0
    # Ollama's native API: model → {"trained": n, "num_ctx": Modelfile n or None, "window":
    # the window it loads with}. /api/ps lists a model once it has been asked for (loaded).
    # Empty: /api/* answers 404, as every other server does.
    ollama: dict[str, dict[str, Any]] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)
    # GET /v1/models: model → its extra fields (vLLM: {"max_model_len": n}); empty: 404.
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_requests: list[str] = field(default_factory=list)


def _chat_error(status: int, message: str, kind: str = "invalid_request_error",
                code: str | None = None) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _chat_refusal(body: dict[str, Any], fake: FakeLLMServer) -> tuple[int, dict[str, Any]] | None:
    """The error a real server gives this request, per the switches of `fake.chat`."""
    chat, model = fake.chat, str(body.get("model", ""))
    chat.loaded.add(model)
    if fake.reject_tools and body.get("tools"):
        status, message = chat.tools_error
        return _chat_error(status, message.format(model=model),
                           "server_error" if status >= 500 else "invalid_request_error")
    if chat.token_param and (other := {"max_tokens": "max_completion_tokens",
                                       "max_completion_tokens": "max_tokens"}[chat.token_param]) in body:
        if other == "max_tokens":
            return _chat_error(400, "Unsupported parameter: 'max_tokens' is not supported with this "
                               "model. Use 'max_completion_tokens' instead.", code="unsupported_parameter")
        return _chat_error(400, f"Unrecognized request argument supplied: {other}")
    for i, m in enumerate(body.get("messages") or []):
        if chat.reasoning_back and m.get("tool_calls") and not m.get("reasoning_content"):
            return _chat_error(400, f"Missing `reasoning_content` field in the assistant message at "
                               f"message index {i}. For more information, please refer to "
                               "https://api-docs.deepseek.com/guides/thinking_mode#tool-calls")
    if chat.context_window:
        prompt = (len(json.dumps(body.get("messages", []))) + len(json.dumps(body.get("tools", [])))) // 4
        answer = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        if prompt + answer > chat.context_window:
            return 400, {"object": "error", "type": "BadRequestError", "param": None, "code": 400,
                         "message": f"This model's maximum context length is {chat.context_window} "
                                    f"tokens. However, you requested {prompt + answer} tokens ({prompt} "
                                    f"in the messages, {answer} in the completion). Please reduce the "
                                    "length of the messages or completion."}
    return None


def _ollama_api(path: str, body: dict[str, Any], fake: FakeLLMServer) -> tuple[int, dict[str, Any]]:
    chat = fake.chat
    chat.api_requests.append(path)
    if not chat.ollama:
        return 404, {"error": {"type": "not_found", "message": path}}
    if path == "/api/show":
        found = chat.ollama.get(str(body.get("model", "")).removesuffix(":latest"))
        if found is None:
            return 404, {"error": f"model '{body.get('model')}' not found"}
        return 200, {"parameters": f"num_ctx                        {found['num_ctx']}"
                     if found.get("num_ctx") else "stop                           \"<|im_end|>\"",
                     "model_info": {"general.architecture": "qwen2",
                                    "qwen2.context_length": found["trained"]}}
    if path == "/api/ps":
        return 200, {"models": [{"name": f"{m}:latest", "model": f"{m}:latest",
                                 "context_length": chat.ollama[m]["window"]}
                                for m in sorted(chat.loaded) if m in chat.ollama]}
    return 404, {"error": {"type": "not_found", "message": path}}


# ---- what the real APIs refuse ------------------------------------------------------

_ANTHROPIC_BLOCK_KEYS = {
    "text": {"type", "text", "cache_control", "citations"},
    "tool_use": {"type", "id", "name", "input", "cache_control"},
    "tool_result": {"type", "tool_use_id", "content", "is_error", "cache_control"},
    "thinking": {"type", "thinking", "signature"},
    "redacted_thinking": {"type", "data"},
}
_ANTHROPIC_ID = re.compile(r"[a-zA-Z0-9_-]+")


def _check_anthropic(body: dict[str, Any], fake: FakeLLMServer) -> str | None:
    messages = body.get("messages") or []
    seen: set[str] = set()
    for i, m in enumerate(messages):
        extra = set(m) - {"role", "content"}
        if extra:
            return f"messages.{i}.{sorted(extra)[0]}: Extra inputs are not permitted"
        blocks = m["content"] if isinstance(m.get("content"), list) else []
        for j, b in enumerate(blocks):
            allowed = _ANTHROPIC_BLOCK_KEYS.get(b.get("type"))
            if allowed is None:
                return f"messages.{i}.content.{j}: unknown content block type {b.get('type')!r}"
            if set(b) - allowed:
                return (f"messages.{i}.content.{j}.{sorted(set(b) - allowed)[0]}: Extra inputs "
                        "are not permitted")
            if b["type"] == "thinking" and not b.get("signature"):
                return f"messages.{i}.content.{j}.signature: Field required"
            if b["type"] == "tool_use":
                if not _ANTHROPIC_ID.fullmatch(b.get("id") or ""):
                    return (f"messages.{i}.content.{j}.tool_use.id: String should match pattern "
                            "'^[a-zA-Z0-9_-]+$'")
                if b["id"] in seen:
                    return f"messages.{i}.content.{j}: `tool_use` ids must be unique"
                seen.add(b["id"])
        uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        answered = [] if i + 1 >= len(messages) else [
            b.get("tool_use_id") for b in messages[i + 1].get("content") or []
            if isinstance(b, dict) and b.get("type") == "tool_result"]
        missing = [u for u in uses if u not in answered]
        if m.get("role") == "assistant" and missing:
            return (f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have "
                    "a corresponding `tool_result` block in the next message.")
        if m.get("role") == "user":
            before = messages[i - 1].get("content") if i else []
            calls = {b.get("id") for b in before or [] if isinstance(b, dict)
                     and b.get("type") == "tool_use"}
            stray = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"
                     and b.get("tool_use_id") not in calls]
            if stray:
                return (f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` "
                        f"blocks: {stray[0]}. Each `tool_result` block must have a "
                        "corresponding `tool_use` block in the previous message.")
    # Manual thinking only: in adaptive mode thinking is the model's choice, and a tool
    # turn without it is accepted (Anthropic's adaptive thinking page).
    thinking = (body.get("thinking") or {}).get("type") == "enabled"
    if thinking and len(messages) >= 2 and any(
            isinstance(b, dict) and b.get("type") == "tool_result"
            for b in messages[-1].get("content") or []):
        first = (messages[-2].get("content") or [{}])[0]
        if first.get("type") not in ("thinking", "redacted_thinking"):
            return (f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
                    f"`redacted_thinking`, but found `{first.get('type')}`. When `thinking` is "
                    "enabled, a final `assistant` message must start with a thinking block.")
    return None


_RESPONSES_ITEM_KEYS = {
    "message": {"type", "role", "content", "id", "status"},
    "function_call": {"type", "call_id", "name", "arguments", "id", "status"},
    "function_call_output": {"type", "call_id", "output", "id", "status"},
    "reasoning": {"type", "id", "summary", "encrypted_content", "content", "status"},
}


def _check_responses(body: dict[str, Any], fake: FakeLLMServer) -> str | None:
    items = body.get("input")
    if not isinstance(items, list):
        return None
    calls: list[str] = []
    outputs: set[str] = set()
    for i, item in enumerate(items):
        kind = item.get("type", "message")
        allowed = _RESPONSES_ITEM_KEYS.get(kind)
        if allowed is None:
            return f"Invalid value: '{kind}'. Supported values are: {sorted(_RESPONSES_ITEM_KEYS)}."
        if set(item) - allowed - {"type"}:
            return f"Unknown parameter: 'input[{i}].{sorted(set(item) - allowed)[0]}'."
        if kind == "function_call":
            calls.append(item.get("call_id", ""))
        elif kind == "function_call_output":
            if item.get("call_id") not in calls:
                return ("No tool call found for function call output with call_id "
                        f"{item.get('call_id')}.")
            outputs.add(item["call_id"])
    missing = [c for c in calls if c not in outputs]
    if missing:
        return f"No tool output found for function call {missing[0]}."
    return None


_NINE = re.compile(r"[a-zA-Z0-9]{9}")


_MISTRAL_MESSAGE_KEYS = {"role", "content", "tool_calls", "tool_call_id", "name", "prefix"}


def _check_chat(body: dict[str, Any], fake: FakeLLMServer) -> str | None:
    pending: list[str] = []
    for i, m in enumerate(body.get("messages") or []):
        role = m.get("role")
        ids = [c.get("id", "") for c in m.get("tool_calls") or []]
        if role == "tool":
            ids = [m.get("tool_call_id", "")]
        for call_id in ids:
            if fake.mistral and not _NINE.fullmatch(call_id):
                return (f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length "
                        "of 9.")
        if fake.mistral and set(m) - _MISTRAL_MESSAGE_KEYS:
            return (f"body.messages.{i}.{role}.{sorted(set(m) - _MISTRAL_MESSAGE_KEYS)[0]}: "
                    "Extra inputs are not permitted")
        if role == "tool":
            if m.get("tool_call_id") not in pending:
                return ("Invalid parameter: messages with role 'tool' must be a response to a "
                        "preceeding message with 'tool_calls'.")
            pending.remove(m["tool_call_id"])
            continue
        if pending:
            return ("An assistant message with 'tool_calls' must be followed by tool messages "
                    "responding to each 'tool_call_id'. The following tool_call_ids did not "
                    f"have response messages: {', '.join(pending)}")
        pending = list(ids)
    return None


VALIDATE = {"anthropic": _check_anthropic, "responses": _check_responses, "chat": _check_chat}


RENDER_JSON = {"anthropic": _anthropic_json, "responses": _responses_json, "chat": _chat_json}
RENDER_SSE = {"anthropic": _anthropic_sse, "responses": _responses_sse, "chat": _chat_sse}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLLMServer


class FakeLLMServer:
    def __init__(self) -> None:
        self.queue: list[Reply] = []
        self.by_model: dict[str, list[Reply]] = {}
        self.requests: list[Recorded] = []
        self.reject_tools = False
        # Anthropic: each response that held thinking, as replay keys (what may come back)
        self.issued_thinking: list[list[tuple[Any, ...]]] = []
        # …each thinking block's prefixes (_prefix_digest), and the blocks drop_block left out
        self.thinking_prefixes: dict[tuple[Any, ...], set[str]] = {}
        self.thinking_dropped: list[str] = []
        self.chat = ChatServer()
        self.token_count: int | None = 1234  # what count_tokens answers; None: it fails
        self.validate = True
        self.mistral = False
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.disconnected = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def push(self, *replies: Reply, model: str | None = None) -> None:
        """Queue replies for any request, or only for requests naming `model` (so roles
        bound to different providers each get their own script, whatever the order)."""
        with self.lock:
            (self.by_model.setdefault(model, []) if model else self.queue).extend(replies)

    def next_reply(self, model: str | None) -> Reply | None:
        with self.lock:
            mine = self.by_model.get(model or "")
            if mine:
                return mine.pop(0)
            return self.queue.pop(0) if self.queue else None

    def remember_thinking(self, content: list[dict[str, Any]], body: dict[str, Any]) -> None:
        keys = [_replay_key(b) for b in content]
        if not any(k[0] in _THINKING for k in keys):
            return
        messages = body.get("messages") or []
        before, partial = messages, []
        if messages and messages[-1].get("role") == "assistant":  # a paused turn, continued
            before, partial = messages[:-1], messages[-1].get("content")
        partial = partial if isinstance(partial, list) else []
        with self.lock:
            self.issued_thinking.append(keys)
            for j, key in enumerate(keys):
                if key[0] in _THINKING:
                    self.thinking_prefixes.setdefault(key, set()).add(
                        _prefix_digest(body, before, partial + content[:j]))

    def start(self) -> FakeLLMServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="fake-llm",
                                         daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
