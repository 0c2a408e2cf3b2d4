"""`baton doctor`: configuration, providers and roles, keys present (never their values),
the isolation layer for commands, and what is missing with how to fix it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .config import ROLES, Config, ProviderConfig, VerifyConfig, load_config
from .display import visible
from .errors import ConfigError
from .state_dir import Locations


def report(workspace: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"version": __version__, "workspace": str(workspace.resolve()),
                           "python": sys.version.split()[0], "problems": []}
    where = Locations.of(workspace)
    out["state"] = {"directory": str(where.state), "documents": str(where.runs_dir)}
    if note := where.old_state_note():
        out["problems"].append(note)
    try:
        config = load_config(workspace.resolve())
    except ConfigError as e:
        out["config"] = {"error": str(e)}
        out["problems"].append(f"configuration: {e}")
        return out
    out["config"] = {"sources": config.origin, "edits": config.edits.mode,
                     "permissions": config.permissions.model_dump()}
    ws_file = config.workspace_file
    if ws_file is not None:
        out["config"]["workspace_file"] = ws_file.model_dump(mode="json")
        notice = ws_file.notice()
        if notice:
            out["problems"].append(notice)
    providers = {}
    for name, p in config.providers.items():
        entry: dict[str, Any] = {"kind": p.kind, "model": p.model or None}
        if p.kind == "scripted":
            path = config.script_path(p)
            entry["script"] = str(path)
            if not path.is_file():
                out["problems"].append(f"provider {name}: script {path} not found")
        else:
            env = p.key_env()
            present = p.api_key() is not None
            entry["key"] = {"env": env, "present": present}
            if p.base_url:
                entry["base_url"] = p.base_url
            if not present and p.kind != "openai-compatible":
                out["problems"].append(f"provider {name}: ${env} is not set (export it, or set "
                                       "api_key_env in [providers." + name + "])")
        if p.kind in ("anthropic", "openai"):
            from .providers.models import describe
            entry["in_force"] = describe(name, p)
            if "error" in entry["in_force"]:
                out["problems"].append(entry["in_force"]["error"])
        entry["price"] = _price(name, p, out["problems"])
        providers[name] = entry
    out["providers"] = providers
    if "unusable" not in (e["price"] for e in providers.values()):
        from .providers.pricing import budget_problem
        problem = budget_problem(config)
        if problem:
            out["problems"].append(problem)
    out["roles"] = {role: config.chain(role) for role in ROLES}
    out["verify"] = _verify(config.verify, workspace.resolve())
    out["mcp"] = _mcp(config, workspace.resolve(), out["problems"])
    from .sandbox.isolation import isolation_report
    out["sandbox"] = isolation_report()
    if out["sandbox"].get("layer") in (None, "none"):
        out["problems"].append("commands: no isolation layer; " + out["sandbox"].get("fix", ""))
    else:
        missing = [k for k, v in out["sandbox"].get("guarantees", {}).items()
                   if v.startswith("MISSING")]
        if missing:
            out["problems"].append(f"commands: {out['sandbox']['layer']} does not guarantee "
                                   + ", ".join(missing))
    return out


def _price(name: str, provider: ProviderConfig, problems: list[str]) -> str:
    """What a provider's tokens cost, "cost unknown" when no price is known (never $0)."""
    from .providers.pricing import describe, prices_for
    try:
        return describe(prices_for(name, provider))
    except ConfigError as e:
        problems.append(str(e))
        return "unusable"


def _verify(verify: VerifyConfig, workspace: Path) -> dict[str, Any]:
    """The `[verify]` in force, or, with none, the commands the workspace suggests
    (verify/propose.py): proposed to the person, never run."""
    if verify.commands:
        return verify.model_dump()
    from .verify.propose import propose
    return {"commands": [], "proposed": [p.model_dump() for p in propose(workspace)]}


def _print_verify(verify: dict[str, Any]) -> None:
    if verify["commands"]:
        print(visible(f"Verification: {'; '.join(verify['commands'])} "
                      f"(rounds {verify['rounds']}, {verify['timeout_s']:g} s per command)"))
        return
    proposed = verify["proposed"]
    if not proposed:
        print("Verification: not configured ([verify] commands run the project's tests and "
              "linters on each change)")
        return
    print("Verification: not configured. This workspace suggests (Baton runs none of them "
          "until you add them to .baton/config.toml):")
    print("  [verify]")
    print("  commands = [" + ", ".join(json.dumps(p["command"]) for p in proposed) + "]")
    for p in proposed:
        missing = "" if p["available"] else " — not installed here"
        print(f"    {p['command']}: {p['because']}{missing}")


def _mcp(config: Config, workspace: Path, problems: list[str]) -> dict[str, Any]:
    """`[mcp.servers]`: each server, who sees its tools, the isolation it runs under."""
    from .mcp.doctor import describe
    described, seen = describe(config, workspace)
    problems += seen
    return described


async def _probe(workspace: Path) -> dict[str, str]:
    from .providers.registry import Registry, probe
    config = load_config(workspace.resolve())
    registry = Registry(config)
    results: dict[str, str] = {}
    for name in config.providers:
        try:
            results[name] = await probe(registry.provider(name))
        except Exception as e:
            results[name] = f"failed: {e}"
    return results


async def doctor(workspace: Path, *, as_json: bool, probe: bool) -> int:
    data = await asyncio.to_thread(report, workspace)
    if probe and "providers" in data:
        data["probe"] = await _probe(workspace)
        if data.get("mcp"):
            from .mcp.doctor import probe as probe_mcp
            data["mcp_probe"] = await probe_mcp(load_config(workspace.resolve()), workspace.resolve())
            data["problems"] += [f"MCP server {n}: does not start: {p['problem']}"
                                 for n, p in data["mcp_probe"].items() if not p["starts"]
                                 and not any(q.startswith(f"MCP server {n}:") for q in data["problems"])]
    if as_json:
        print(json.dumps(data, indent=2))
        return 0 if not data["problems"] else 1
    print(f"Baton {data['version']} (Python {data['python']}) — workspace {data['workspace']}")
    print(visible(f"State: {data['state']['directory']} (journal, shadows); the runs' "
                  f"documents: {data['state']['documents']}"))
    cfg = data["config"]
    if "error" in cfg:
        print(f"✗ configuration: {cfg['error']}")
    else:
        print("Configuration: " + "; ".join(cfg["sources"]))
        print(f"  edits mode: {cfg['edits']}")
        ws_file = cfg.get("workspace_file")
        if ws_file:
            trust = "trusted" if ws_file["trusted"] else "NOT trusted"
            ignored = ", ".join(ws_file["ignored"])
            print(visible(f"  workspace file {ws_file['path']}: {trust}"
                          + (f" (ignored: {ignored})" if ignored else "")))
        print("Providers:")
        for name, p in data["providers"].items():
            key = p.get("key")
            keyinfo = f", ${key['env']} {'set' if key['present'] else 'NOT set'}" if key else ""
            extra = f", script {p['script']}" if "script" in p else ""
            print(f"  {name}: {p['kind']} {p['model'] or ''}{keyinfo}{extra}")
            print(visible(f"    price: {p['price']}"))
            in_force = p.get("in_force") or {}
            if "summary" in in_force:  # which table entry, config value or fallback is used
                print(visible(f"    {in_force['summary']}"))
            for note in in_force.get("notes", []):
                print(visible(f"    note: {note}"))
        print("Roles:")
        for role, chain in data["roles"].items():
            print(f"  {role}: {' → '.join(chain)}")
        sb = data["sandbox"]
        print(f"Command isolation: {sb.get('layer', 'none')}"
              + (f" ({sb['why']})" if sb.get("why") else ""))
        for name, verdict in sb.get("guarantees", {}).items():
            given = verdict.startswith("yes: ")
            print(f"  {'✓' if given else '✗'} {name}: {verdict.removeprefix('yes: ')}")
        for k, v in sb.items():
            # An empty `unavailable`, `fix` or `forced` says nothing a person needs to read.
            if k not in ("layer", "why", "guarantees") and v not in ({}, "", None):
                print(f"  {k}: {v}")
        _print_verify(data["verify"])
        from .mcp.doctor import lines
        print("\n".join(lines(data["mcp"], data.get("mcp_probe"))))
    for name, verdict in data.get("probe", {}).items():
        print(f"Probe {name}: {verdict}")
    if data["problems"]:
        print("Problems:")
        for p in data["problems"]:
            print(f"  ✗ {p}")
    else:
        print("No problems found.")
    return 0 if not data["problems"] else 1
