"""Emacs with Debian's Eglot (elpa-eglot 1.9, Emacs 28) and the documented snippet
(docs/snippets/eglot.el) drives the core flow: tests/e2e/emacs/eglot.el."""

from __future__ import annotations

from pathlib import Path

import pytest

from .emacs_batch import emacs_with, run_scenario

pytestmark = pytest.mark.editor


def test_eglot_core_flow(tmp_path: Path) -> None:
    run_scenario(emacs_with("eglot", "elpa-eglot"), "eglot", tmp_path)
