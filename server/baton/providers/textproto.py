"""The text tool protocol, for servers or models without native tool calling.

Tools are described in the system prompt; the model calls one by writing a fenced
```json block holding {"tool": NAME, "arguments": {...}}. History is rendered back the
same way (calls as fenced blocks in the assistant's text, results as user messages), so
the model sees the protocol it is asked to follow.

`calls_in_content` is the other direction: a model given native tools that writes its call
as text instead (a chat template without tool support, a model trained on another format)
would otherwise end its turn with the call as its "answer".
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import Message, ToolCall, ToolSpec
from .call_ids import new_id
from .toolargs import parse_arguments

_BLOCK = re.compile(r"```(?:json|tool|tool_call)?[ \t]*\n(.*?)```", re.DOTALL)
_UNCLOSED = re.compile(r"```(?:json|tool|tool_call)?[ \t]*\n(.*)\Z", re.DOTALL)
# Hermes / Qwen templates' own format, which such models write when the server does not parse it.
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_CALL_KEYS = {"name", "tool", "arguments", "parameters", "type", "id"}  # all a call object holds


def describe_tools(tools: list[ToolSpec]) -> str:
    lines = [
        "# Tools",
        "You can call tools. To call one, write a fenced JSON block, exactly like this:",
        "```json",
        '{"tool": "TOOL_NAME", "arguments": {"param": "value"}}',
        "```",
        "Write one block per call, then stop and wait: the results come back in the next "
        "message. Use only the tools below, with arguments matching their JSON schema.",
        "",
    ]
    for t in tools:
        lines.append(f"## {t.name}\n{t.description}\nArguments schema: "
                     f"{json.dumps(t.parameters, separators=(',', ':'))}\n")
    return "\n".join(lines)


def render_call(call: ToolCall) -> str:
    body = json.dumps({"tool": call.name, "arguments": call.arguments}, ensure_ascii=False)
    return f"```json\n{body}\n```"


def history_as_text(messages: list[Message]) -> list[dict[str, str]]:
    """Neutral messages as plain chat messages (no tool roles). Neighbours of the same role
    are merged: several local chat templates reject roles that do not alternate."""
    out: list[dict[str, str]] = []
    for m in messages:
        if m.role == "user":
            role, content = "user", m.text
        elif m.role == "assistant":
            parts = [m.text] if m.text else []
            parts += [render_call(c) for c in m.tool_calls]
            role, content = "assistant", "\n\n".join(parts) or "(no reply)"
        else:
            role, content = "user", "\n\n".join(
                f"Result of tool `{r.name}` (call {r.call_id}){' - ERROR' if r.is_error else ''}:"
                f"\n{r.content}" for r in m.tool_results)
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n\n" + content
        else:
            out.append({"role": role, "content": content})
    return out


def parse_calls(text: str, tools: list[ToolSpec]) -> tuple[str, list[ToolCall]]:
    """(text without the call blocks, calls). A block that names a known tool is a call;
    one that is broken or cut off becomes a call with `invalid` set, never a guess."""
    known = {t.name for t in tools}
    calls: list[ToolCall] = []
    kept: list[str] = []
    pos = 0
    for m in _BLOCK.finditer(text):
        call = _call_from_block(m.group(1), known)
        if call is None:
            continue
        kept.append(text[pos:m.start()])
        pos = m.end()
        calls.append(call)
    rest = text[pos:]
    cut = _UNCLOSED.search(rest)  # a block opened and never closed: the output ran out
    if cut and '"tool"' in cut.group(1):
        name = re.search(r'"tool"\s*:\s*"([^"]+)"', cut.group(1))
        calls.append(ToolCall(id=new_id(), name=name.group(1) if name else "unknown",
                              invalid="the tool call was cut off before its block was closed; "
                                      "nothing was run. Write the call again."))
        rest = rest[:cut.start()]
    kept.append(rest)
    return "".join(kept).strip(), calls


def _call_from_block(body: str, known: set[str]) -> ToolCall | None:
    args, invalid = parse_arguments(body)
    if invalid:
        if '"tool"' not in body:
            return None  # some other JSON the model showed; not a call
        name = re.search(r'"tool"\s*:\s*"([^"]+)"', body)
        return ToolCall(id=new_id(), name=name.group(1) if name else "unknown", invalid=invalid)
    name = args.get("tool", args.get("name"))
    if not isinstance(name, str) or name not in known:
        if isinstance(name, str) and "arguments" in args:
            return ToolCall(id=new_id(), name=name,
                            invalid=f"there is no tool named {name!r}; the tools are: "
                                    f"{', '.join(sorted(known))}")
        return None
    arguments = args.get("arguments", {})
    if isinstance(arguments, str):  # some models double-encode
        arguments, invalid = parse_arguments(arguments)
        if invalid:
            return ToolCall(id=new_id(), name=name, invalid=invalid)
    if not isinstance(arguments, dict):
        return ToolCall(id=new_id(), name=name, invalid="`arguments` must be a JSON object")
    return ToolCall(id=new_id(), name=name, arguments=arguments)


def calls_in_content(text: str, tools: list[ToolSpec]) -> tuple[str, list[ToolCall]]:
    """(text without the calls, calls) for calls to known tools written as text while native
    tools were on: `<tool_call>{...}</tool_call>` blocks, this protocol's fenced blocks, or
    a reply that is nothing but a call object (or a list of them), fenced or not, as
    {"name"|"tool": NAME, "arguments"|"parameters": {...}}. Anything else, including JSON
    that names no known tool, stays text; a fenced call to a known tool that cannot be
    read is a call with `invalid` set, for the model to write again."""
    known = {t.name for t in tools}
    tagged = [_as_call(_json(m.group(1)), known) for m in _TAGGED.finditer(text)]
    if tagged and all(tagged):
        return _TAGGED.sub("", text).strip(), [c for c in tagged if c]
    whole = _json(text)
    objects = whole if isinstance(whole, list) else [whole]
    calls = [_as_call(o, known) for o in objects]
    if objects and all(calls):
        return "", [c for c in calls if c]
    rest, fenced = parse_calls(text, tools)
    if fenced and all(c.name in known for c in fenced):
        return rest, fenced  # a broken one is the model's to write again, not its answer
    return text, []


def _json(text: str) -> Any:
    value, invalid = parse_arguments(text)
    if invalid is None and value:
        return value
    try:  # parse_arguments takes objects only; a reply may be a list of calls
        return json.loads(text)
    except ValueError:
        return None


def _as_call(obj: Any, known: set[str]) -> ToolCall | None:
    if isinstance(obj, dict) and isinstance(obj.get("function"), dict):
        obj = obj["function"]
    if not isinstance(obj, dict):
        return None
    name = obj.get("name", obj.get("tool"))
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        arguments, invalid = parse_arguments(arguments)
        if invalid:
            return None
    if name not in known or not isinstance(arguments, dict) or set(obj) - _CALL_KEYS:
        return None
    return ToolCall(id=new_id(), name=name, arguments=arguments)

