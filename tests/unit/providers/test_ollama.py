"""Ollama's window, from its native API (the adapter's use of it: test_openai_compat.py)."""

from __future__ import annotations

import socket

import pytest

from baton.providers.ollama import OllamaModel, native_root, probe


def test_native_root():
    assert native_root("http://127.0.0.1:11434/v1") == "http://127.0.0.1:11434"
    assert native_root("https://gpu.example/ollama/v1/") == "https://gpu.example/ollama"


@pytest.mark.parametrize("model,configured,window", [
    (OllamaModel(trained=32768, modelfile=8192, loaded=16384), None, 16384),  # loaded wins
    (OllamaModel(trained=32768, modelfile=8192), 65536, 8192),  # the Modelfile over config
    (OllamaModel(trained=32768), 65536, 32768),  # never past what it was trained for
    (OllamaModel(), None, 4096),  # Ollama's default, not 8192
])
def test_window_in_force(model, configured, window):
    assert model.window(configured) == window


async def test_an_unreachable_server_is_not_taken_for_another_kind():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError):
        await probe(f"http://127.0.0.1:{port}/v1", "m", timeout_s=2)


async def test_hostile_or_broken_answers_are_ignored(fake):
    fake.chat.ollama = {"m": {"trained": 10**12, "num_ctx": None, "window": -5}}
    fake.chat.loaded.add("m")
    found = await probe(fake.url + "/v1", "m")
    assert found == OllamaModel()  # nothing believable: Ollama's default applies
