"""Emacs with Debian's lsp-mode (elpa-lsp-mode 8.0) and the documented snippet
(docs/snippets/lsp-mode.el) drives the core flow: tests/e2e/emacs/lsp_mode.el. lsp-mode
drops what arrives in one read after the answer to its synchronous request, and counts
columns in code points: both are Baton's to handle (docs/protocol.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .emacs_batch import emacs_with, run_scenario

pytestmark = pytest.mark.editor


def test_lsp_mode_core_flow(tmp_path: Path) -> None:
    run_scenario(emacs_with("lsp-mode", "elpa-lsp-mode"), "lsp_mode", tmp_path)
