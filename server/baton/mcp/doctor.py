"""What `baton doctor` says about `[mcp.servers]`: each server, how it is reached, who
sees its tools, the isolation it runs under; with `--probe`, whether it starts and the
tools it offers (started once, in a sandbox over a throwaway shadow, then stopped).
Everything a server said is shown through `display.visible`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..config import ROLES, Config
from ..display import visible
from ..errors import ToolRefused
from ..sandbox.isolation import active
from ..sandbox.paths import PathPolicy
from ..sandbox.shadow import Shadow
from .servers import RunServers, check_url


def describe(config: Config, workspace: Path) -> tuple[dict[str, Any], list[str]]:
    """Each server as configured (nothing started), and the problems seen without starting."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    layer = active().layer
    for name, cfg in config.mcp.servers.items():
        entry: dict[str, Any] = {"roles": [r for r in ROLES if cfg.sees(r)], "allow": cfg.allow,
                                 "network": cfg.network, "env": sorted(cfg.env)}
        if cfg.url:
            entry["url"] = cfg.url
            entry["isolation"] = "none: an HTTP server is a process of your own, outside Baton's sandbox"
            try:
                check_url(cfg.url, cfg.network)
            except ToolRefused as e:
                problems.append(f"MCP server {name}: {e}")
        else:
            entry["command"] = cfg.command
            # A relative path runs from the workspace (the server's working directory).
            found = shutil.which(cfg.command[0]) or ("/" in cfg.command[0]
                                                     and (workspace / cfg.command[0]).is_file())
            entry["found"] = bool(found)
            if layer == "none" and not config.permissions.allow_unsandboxed_commands:
                entry["isolation"] = "refused: no isolation layer for it to run under"
                problems.append(f"MCP server {name}: no isolation layer, so it cannot run")
            else:
                entry["isolation"] = f"{layer}, on the run's shadow" + (
                    ", with network" if cfg.network else ", no network")
            if not found:
                problems.append(f"MCP server {name}: {visible(cfg.command[0])} is not on PATH "
                                "(or is not a file relative to the workspace)")
        out[name] = entry
    return out, problems


async def probe(config: Config, workspace: Path) -> dict[str, Any]:
    """Start each server once and list its tools."""
    with tempfile.TemporaryDirectory(prefix="baton-doctor-") as tmp:
        shadow = Shadow(PathPolicy(workspace), Path(tmp) / "shadow", lambda p: None)
        servers = RunServers(config.mcp.servers, shadow,
                             provider_keys=[p.key_env() for p in config.providers.values()],
                             allow_unsandboxed=config.permissions.allow_unsandboxed_commands)
        out: dict[str, Any] = {}
        try:
            for name in config.mcp.servers:
                tools = await servers.start(name)
                problem = servers.problems.get(name)
                out[name] = {"starts": problem is None, "problem": problem,
                             "tools": [{"name": t.name, "allowed": t.allowed, "hints": t.hints(),
                                        "description": t.description[:200]} for t in tools],
                             "left_out": servers.left_out(name)}
        finally:
            await servers.stop()
    return out


def lines(described: dict[str, Any], probed: dict[str, Any] | None) -> list[str]:
    """The MCP part of doctor's text report."""
    if not described:
        return ["MCP servers: none configured ([mcp.servers] in the configuration)"]
    out = ["MCP servers:"]
    for name, s in described.items():
        how = (f"url {s['url']}" if "url" in s
               else f"command {' '.join(s['command'])}" + ("" if s["found"] else " (NOT found)"))
        out.append(visible(f"  {name}: {how}; roles {', '.join(s['roles'])}; "
                           f"allowed without asking: {', '.join(s['allow']) or 'none'}"))
        out.append(visible(f"    isolation: {s['isolation']}"))
        p = (probed or {}).get(name)
        if p is None:
            continue
        if not p["starts"]:
            out.append(visible(f"    ✗ does not start: {p['problem']}"))
            continue
        out.append(f"    ✓ starts; {len(p['tools'])} tools:")
        for t in p["tools"]:
            out.append(visible(f"      {t['name']}{' (allowed)' if t['allowed'] else ''}: "
                               f"{t['hints']}"))
        for why in p["left_out"]:
            out.append(visible(f"      left out: {why}"))
    return out
