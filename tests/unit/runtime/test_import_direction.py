"""runtime/ imports downward only: each module may import the ones listed before it in
LAYERS and never one after it, not even for type checking. engine.py, last, is the one
place that wires the others; a new module must take its place in the list."""

from __future__ import annotations

import ast
from pathlib import Path

import baton.runtime

LAYERS = [
    "host", "runs", "actions", "journal", "workspace_lock", "disk_edits", "planfile",
    "context", "summary", "file_locks", "settings", "recorder", "describe", "delivery", "streaming",
    "verification", "briefing", "session", "watcher", "workflow", "engine",
]
RUNTIME = Path(baton.runtime.__file__).parent


def runtime_imports(path: Path) -> set[str]:
    """The runtime modules `path` imports, wherever the import statement is."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import x
                out |= {node.module} if node.module else {a.name for a in node.names}
            elif node.level == 0 and (node.module or "").startswith("baton.runtime."):
                out.add(node.module.split(".")[2])  # type: ignore[union-attr]
            elif node.level == 2 and node.module and node.module.startswith("runtime"):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[2] for a in node.names if a.name.startswith("baton.runtime.")}
    return {m.split(".")[0] for m in out}


def test_every_runtime_module_has_a_layer():
    modules = {p.stem for p in RUNTIME.glob("*.py")} - {"__init__"}
    assert modules == set(LAYERS)


def test_runtime_modules_import_only_the_layers_below_them():
    wrong = []
    for i, name in enumerate(LAYERS):
        for imported in runtime_imports(RUNTIME / f"{name}.py"):
            if imported not in LAYERS[:i]:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_nothing_below_the_runtime_imports_it():
    """Agents, tools, the sandbox, edits and providers know nothing of runs."""
    package = RUNTIME.parent
    wrong = []
    for sub in ("agents", "tools", "sandbox", "edits", "providers", "verify"):
        for path in (package / sub).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        ("baton.runtime", "runtime") if node.level in (0, 2) else "\0"):
                    wrong.append(f"{path.relative_to(package)} imports {node.module}")
    assert wrong == []
