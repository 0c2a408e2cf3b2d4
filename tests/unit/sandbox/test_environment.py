"""The allow-listed child environment."""

from __future__ import annotations

from baton.sandbox.environment import child_env, looks_secret

DAEMON = {"PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8", "LC_ALL": "C", "TERM": "xterm",
          "TZ": "UTC", "USER": "me", "SHELL": "/bin/sh", "TMPDIR": "/t",
          "OPENAI_API_KEY": "x", "GROQ_KEY": "x", "LLM_BEARER": "x", "MY_PROVIDER": "x",
          "NPM_TOKEN": "x", "CARGO_HOME": "/c", "PYTHONPATH": "/p", "LD_PRELOAD": "/evil.so"}


def test_only_the_fixed_set_passes_by_default() -> None:
    assert child_env(base=DAEMON) == {k: DAEMON[k] for k in (
        "PATH", "HOME", "LANG", "LC_ALL", "TERM", "TZ", "USER", "SHELL", "TMPDIR")}


def test_listed_names_pass_even_secret_looking_ones() -> None:
    env = child_env(allow=["CARGO_HOME", "NPM_TOKEN", "ABSENT"], base=DAEMON)
    assert env["CARGO_HOME"] == "/c" and env["NPM_TOKEN"] == "x" and "ABSENT" not in env


def test_a_provider_key_variable_never_passes_even_when_listed() -> None:
    env = child_env(allow=["MY_PROVIDER", "LLM_BEARER"], provider_keys=["MY_PROVIDER", None],
                    base=DAEMON)
    assert "MY_PROVIDER" not in env and env["LLM_BEARER"] == "x"
    assert "PATH" not in child_env(provider_keys=["PATH"], base=DAEMON)


def test_secret_looking_locale_names_are_dropped() -> None:
    assert child_env(base={"LC_AUTH_TOKEN": "x", "LC_TIME": "C"}) == {"LC_TIME": "C"}


def test_secret_looking_names() -> None:
    for name in ("GROQ_KEY", "api_token", "DB_PASSWORD", "X_PASSWD", "CLIENT_SECRET",
                 "GOOGLE_APPLICATION_CREDENTIALS", "BASIC_AUTH"):
        assert looks_secret(name), name
    for name in ("PATH", "LANG", "EDITOR", "LLM_BEARER"):
        assert not looks_secret(name), name
