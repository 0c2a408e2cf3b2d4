"""Fixtures for the provider adapters: a fake LLM server per test and configs aimed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from baton.config import ProviderConfig
from tests.fakes.llm_server import FakeLLMServer

FAKE_KEY = "sk-test-not-a-real-key-5f2a"


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def env_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BATON_TEST_KEY", FAKE_KEY)
    return FAKE_KEY


def make_cfg(kind: str, base_url: str, **extra: Any) -> ProviderConfig:
    """A config aimed at the fake server, with millisecond backoff."""
    values: dict[str, Any] = {"kind": kind, "model": extra.pop("model", "test-model"),
                              "api_key_env": "BATON_TEST_KEY", "max_retries": 3,
                              "retry_base_s": 0.001, "retry_max_s": 0.01, "timeout_s": 10}
    values["base_url"] = base_url if kind == "anthropic" else base_url + "/v1"
    values.update(extra)
    return ProviderConfig.model_validate(values)


class Recorder:
    """A stand-in for asyncio.sleep that records each backoff delay instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
