import os
import tempfile

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--live", action="store_true", default=False,
                     help="run tests that call real provider APIs (needs their API keys)")


def pytest_configure(config: pytest.Config) -> None:
    """Baton's state (journals, shadows: baton/state_dir.py) goes to a directory of this
    session, never the person's (or root's) ~/.local/state; every process a test starts
    (baton serve, the editors) inherits it. Workspaces differ per test, and so do their
    state directories."""
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="baton-test-state-")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="live API test: pass --live (and set the key) to run it")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)
