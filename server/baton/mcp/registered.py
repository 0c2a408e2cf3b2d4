"""A run's MCP tools as entries of the one tool registry (tools/registry.py).

Each offered tool becomes a `Tool` for the role that sees it: its adapted schema, no
argument model (the server validates what it is sent), `writes` (a stdio server's file
writes are folded into the run's shadow and streamed like a command's), and, unless the
person's `allow` names it, `asks` with a prompt showing the server's hints and the
arguments. The handler calls the server with the run's grant as the fold's limit, the
run's question path for a server's questions and the run's progress for its progress; a
failure is an error result for the model.
"""

from __future__ import annotations

from typing import Any

from ..errors import ToolRefused
from ..tools.registry import Bound, Tool, ToolEnv
from .servers import RunServers
from .tools import McpTool


# A server's result, its head and its tail (an error tends to come last).
MCP_BOUND = Bound(chars=32_000, keep="ends", narrow="call the tool again with narrower arguments")


def registry_tools(servers: RunServers, offered: list[McpTool], role: str) -> list[Tool]:
    return [_tool(servers, t, role) for t in offered]


def _tool(servers: RunServers, tool: McpTool, role: str) -> Tool:
    async def handler(env: ToolEnv, arguments: dict[str, Any]) -> str:
        out = await servers.call(tool.name, arguments, may_write=env.grants.allows,
                                 progress=env.report, ask=env.ask_person)
        if out.is_error:
            raise ToolRefused(out.text)
        return out.text

    return Tool(name=tool.name, description=tool.description, roles=frozenset({role}),
                handler=handler, parameters=tool.parameters, writes=True,
                asks=not tool.allowed, prompt=tool.permission_prompt,
                annotations={"read_only": tool.read_only, "destructive": tool.destructive},
                bound=MCP_BOUND)
