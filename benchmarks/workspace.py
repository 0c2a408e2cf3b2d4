"""Generated workspaces and zero-latency scripts for the benchmarks.

Every benchmark run is a plan run (classify → plan → accept → implement → review →
apply) whose implementer edits its own files one `edit_file` per turn. Runs are told
apart by a tag in their task (`[s3p1]`), which is also the script entry's `match`.
Edits toggle `flag_NN = 0` ↔ `= 1` (parity 0 sets, parity 1 clears), so a slot can run
round after round on the same files with only two script entries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TYPING_FILE = "typing_here.py"  # the file the measured "person" types in; no run touches it
PAD_LINES = 200  # lines of every generated file: edits and requests on a realistic size


def module_text(i: int) -> str:
    head = "".join(f"flag_{j:02d} = 0\n" for j in range(4))
    body = "".join(f"def f{i}_{k}(x):\n    return x + {k}\n\n" for k in range(PAD_LINES // 3))
    return f'"""Generated module {i}."""\n\n{head}\n{body}'


def make_workspace(root: Path, n_files: int) -> list[str]:
    """`n_files` modules under src/ plus the typing file; returns the modules' paths."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    rels = [f"src/m{i:03d}.py" for i in range(n_files)]
    for i, rel in enumerate(rels):
        (root / rel).write_text(module_text(i), encoding="utf-8")
    (root / TYPING_FILE).write_text(module_text(-1), encoding="utf-8")
    return rels


def _turn(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def plan_entry(tag: str, files: list[str], parity: int = 0, flag: int = 0) -> dict[str, Any]:
    """A plan run editing `flag_{flag}` in each of `files`, one edit per implementer turn."""
    old, new = (f"flag_{flag:02d} = 0\n", f"flag_{flag:02d} = 1\n")
    if parity:
        old, new = new, old
    return {
        "match": f"[{tag}]",
        "classifier": [_turn("classify", {"route": "plan", "reason": "benchmark"})],
        "planner": [_turn("submit_plan", {"summary": f"Toggle flags ({tag})",
                                          "steps": ["Toggle one flag per file"], "files": files})],
        "implementer": [_turn("edit_file", {"path": f, "old": old, "new": new}) for f in files]
        + [_turn("finish", {"summary": "toggled"})],
        "reviewer": [_turn("submit_review", {"verdict": "approve", "findings": []})],
    }


def write_config(root: Path, entries: list[dict[str, Any]]) -> Path:
    """The scripted provider's script and a config naming it; returns the config path
    (given to the server as BATON_CONFIG)."""
    cfg = root.parent / (root.name + "-config")
    cfg.mkdir(exist_ok=True)
    (cfg / "script.json").write_text(json.dumps({"runs": entries}), encoding="utf-8")
    config = cfg / "config.toml"
    config.write_text('[providers.offline]\nkind = "scripted"\nscript = "script.json"\n',
                      encoding="utf-8")
    return config


def task(tag: str) -> str:
    return f"Toggle the flags [{tag}]"
