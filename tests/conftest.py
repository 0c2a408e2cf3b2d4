import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--live", action="store_true", default=False,
                     help="run tests that call real provider APIs (needs their API keys)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="live API test: pass --live (and set the key) to run it")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)
