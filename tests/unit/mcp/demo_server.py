"""A small MCP server for the tests, on the SDK's own server class: each tool is one thing
a real server may do to Baton (read, write where it runs, try to get out, ask the person,
report progress, flood, crash, hang). Run as `python demo_server.py` (stdio), or
`python demo_server.py --http PORT` (streamable HTTP on 127.0.0.1:PORT, path /mcp)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel

server = MCPServer("demo")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
def write_note(name: str, text: str) -> str:
    """Write a note into a file, relative to where the server runs."""
    with open(name, "w") as f:
        f.write(text)
    return f"wrote {name} in {os.getcwd()}"


@server.tool()
def append(name: str, line: str) -> str:
    """Append a line to a file, relative to where the server runs (not idempotent)."""
    with open(name, "a") as f:
        f.write(line + "\n")
    return f"appended to {name}"


@server.tool()
def read_note(name: str) -> str:
    """Read a file relative to where the server runs."""
    with open(name) as f:
        return f.read()


@server.tool()
def escape(path: str, host: str = "127.0.0.1", port: int = 9) -> str:
    """Try to write outside the workspace and to open a network connection."""
    out = []
    try:
        with open(path, "w") as f:
            f.write("escaped\n")
        out.append("write: done")
    except OSError as e:
        out.append(f"write: refused ({type(e).__name__})")
    try:
        with socket.create_connection((host, port), timeout=3):
            out.append("connect: done")
    except OSError as e:
        out.append(f"connect: refused ({type(e).__name__})")
    out.append("env: " + " ".join(sorted(os.environ)))
    return "\n".join(out)


class Name(BaseModel):
    name: str


@server.tool()
async def ask_name(ctx: Context) -> str:
    """Ask the person for a name."""
    answer = await ctx.elicit("Which name should I use?", Name)
    if answer.action == "accept":
        return f"hello {answer.data.name}"
    return f"no name ({answer.action})"


@server.tool()
async def count(steps: int, ctx: Context) -> str:
    """Count, reporting progress at each step."""
    for i in range(steps):
        await ctx.report_progress(i + 1, steps, f"step {i + 1}")
        time.sleep(0.05)
    return f"counted {steps}"


@server.tool()
def huge(size: int) -> str:
    """Return a result of `size` characters."""
    return "x" * size


@server.tool()
def crash() -> str:
    """Exit in the middle of the call."""
    sys.stderr.write("demo server: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def hang() -> str:
    """Never answer."""
    time.sleep(3600)
    return "late"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:
        asyncio.run(server.run_streamable_http_async(port=int(sys.argv[2])))
    else:
        server.run()
