"""What an MCP server lists, as the tools a model is offered: `mcp__<server>__<tool>`.

Everything a server says about its tools is data from a stranger, and a hostile server
chooses it: names are cut to the characters and length every provider accepts
(`[A-Za-z0-9_-]`, 64 in all) and made unique (a name that had to change, or collides with
another, gets a short hash of the original); descriptions are bounded and shown with
control and bidi characters as escapes (`display.visible`), so what the model reads is
what the person can read; schemas go through the one adaptation every tool gets
(providers/schemas.py), bounded; a server offers at most MAX_TOOLS tools. A tool that
cannot be offered is left out with the reason, for the log and `baton doctor`.

`allow` (the person's globs) matches the name the server gave, and only a name whose
characters did not have to change: a tool named with anything else always asks.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel

from ..display import code, visible
from ..providers.base import ToolSpec
from ..providers.schemas import SchemaRejected, tool_parameters

PREFIX = "mcp__"
SEPARATOR = "__"
NAME_LIMIT = 64  # Anthropic's and OpenAI's limit for a tool name
SAFE = re.compile(r"[A-Za-z0-9_-]")
SERVER_NAME = re.compile(r"^[A-Za-z0-9-]+(_[A-Za-z0-9-]+)*$")  # no `__`: it separates the parts
SERVER_NAME_LIMIT = 24
DESCRIPTION_LIMIT = 2_000
MAX_TOOLS = 100
ARGUMENTS_SHOWN = 600  # characters of a call's arguments a permission prompt quotes


class McpTool(BaseModel):
    name: str  # as models see it: mcp__<server>__<tool>
    server: str
    tool: str  # as the server named it
    description: str  # bounded, hidden characters escaped
    parameters: dict[str, Any]
    read_only: bool | None = None  # the server's hints, shown to the person, never trusted
    destructive: bool | None = None
    allowed: bool = False  # in the server's `allow`: called without asking

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    def permission_prompt(self, run_id: str, arguments: dict[str, Any]) -> str:
        """What the person is asked before a call of a tool not in `allow`: the tool, its
        server, what the server says it does, and the arguments, all quoted as data."""
        args = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
        return (f"Baton run {run_id} wants to call {code(self.tool, limit=200)}, a tool of the "
                f"MCP server {code(self.server)} ({self.hints()}), with "
                f"{code(args, limit=ARGUMENTS_SHOWN)}. Allow for this run allows this tool "
                "for the rest of the run.")

    def hints(self) -> str:
        """The server's own claims about the tool, as the person is shown them."""
        said = []
        if self.read_only is not None:
            said.append("read-only" if self.read_only else "not read-only")
        if self.destructive is not None and not self.read_only:
            said.append("destructive" if self.destructive else "not destructive")
        return ("the server says it is " + ", ".join(said)) if said else "the server says nothing about its effects"


def check_server_name(name: str) -> str:
    """A configured server's name, or ValueError: it is part of every tool name."""
    if not SERVER_NAME.match(name) or len(name) > SERVER_NAME_LIMIT:
        raise ValueError(f"MCP server name {visible(name)!r}: use 1 to {SERVER_NAME_LIMIT} "
                         "letters, digits, `-` and single `_`")
    return name


def _clean(tool: str) -> str:
    return "".join(c if SAFE.match(c) else "_" for c in tool)


def exposed_name(server: str, tool: str, taken: set[str]) -> str:
    """`mcp__<server>__<tool>` within the limit and not in `taken`."""
    head = f"{PREFIX}{server}{SEPARATOR}"
    clean = _clean(tool)
    name = head + clean
    if clean == tool and len(name) <= NAME_LIMIT and name not in taken:
        return name
    digest = hashlib.sha256(tool.encode("utf-8", "surrogatepass")).hexdigest()
    for width in (8, 16, 64):
        suffix = "_" + digest[:width]
        name = head + clean[:max(NAME_LIMIT - len(head) - len(suffix), 0)] + suffix
        if name not in taken:
            return name[:NAME_LIMIT]
    raise ValueError(f"no unique name for {visible(tool)!r}")


def allowed(tool: str, patterns: list[str]) -> bool:
    if _clean(tool) != tool:
        return False
    return any(fnmatch.fnmatchcase(tool, p) for p in patterns)


def offered(server: str, listed: list[Any], allow: list[str],
            taken: set[str] | None = None) -> tuple[list[McpTool], list[str]]:
    """The tools of `server` (mcp.types.Tool as listed) models may be offered, and why each
    other one is not. `taken`: names already used (other servers' tools)."""
    taken = set(taken or ())
    tools: list[McpTool] = []
    left_out: list[str] = []
    for t in listed:
        shown = visible(str(t.name), limit=80)
        if len(tools) >= MAX_TOOLS:
            left_out.append(f"{len(listed) - MAX_TOOLS} tools over the limit of {MAX_TOOLS}")
            break
        if not isinstance(t.name, str) or not t.name or len(t.name) > 256:
            left_out.append(f"{shown}: its name is empty or longer than 256 characters")
            continue
        try:
            parameters = tool_parameters(t.input_schema)
        except SchemaRejected as e:
            left_out.append(f"{shown}: its input schema is refused: {e}")
            continue
        name = exposed_name(server, t.name, taken)
        taken.add(name)
        notes = t.annotations
        tools.append(McpTool(
            name=name, server=server, tool=t.name,
            description=visible(f"[MCP server {server}] {t.description or t.title or t.name}",
                                limit=DESCRIPTION_LIMIT, multiline=True),
            parameters=parameters,
            read_only=notes.read_only_hint if notes else None,
            destructive=notes.destructive_hint if notes else None,
            allowed=allowed(t.name, allow)))
    return tools, left_out
