"""The editor's process stays light: answering the editor (start-up, document sync, code
actions on a person's files, forwarding commands) loads no pydantic, no engine, no SDK.
Those load in the engine process. A heavy import here would be paid on the first code
action, while the person waits."""

from __future__ import annotations

import json
import subprocess
import sys

EDITOR_SIDE = ["baton.__main__", "baton.lsp.server", "baton.lsp.engine_link", "baton.lsp.bridge",
               "baton.lsp.channel", "baton.lsp.actions", "baton.lsp.documents",
               "baton.lsp.command_names"]
HEAVY = ["pydantic", "baton.runtime.engine", "baton.config", "anthropic", "openai", "httpx"]


def test_the_editor_process_modules_import_nothing_heavy():
    code = (f"import importlib, json, sys\nfor m in {EDITOR_SIDE!r}: importlib.import_module(m)\n"
            f"print(json.dumps([h for h in {HEAVY!r} if h in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
