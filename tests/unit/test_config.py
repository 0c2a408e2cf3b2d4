"""Configuration: layering, auto-detection, clear errors, keys only from the environment."""

from __future__ import annotations

import pytest

from baton.config import load_config
from baton.errors import ConfigError


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_no_config_no_key_is_offline(tmp_path):
    c = load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert c.offline and "offline" in c.origin[-1]
    assert c.chain("planner") == ["offline"]


def test_autodetect_prefers_anthropic_then_openai(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "OPENAI_API_KEY": "k1"}
    assert load_config(tmp_path, env=env).providers["gpt"].kind == "openai"
    env["ANTHROPIC_API_KEY"] = "k2"
    c = load_config(tmp_path, env=env)
    assert c.chain("classifier") == ["claude-fast"] and c.chain("planner") == ["claude"]


def test_workspace_over_user_and_overrides_on_top(tmp_path):
    xdg = tmp_path / "xdg"
    write(xdg / "baton" / "config.toml", '[providers.a]\nkind = "scripted"\n[edits]\nmode = "review"\n'
          '[permissions]\ncommands = ["pytest"]\n')
    write(tmp_path / "ws" / ".baton" / "config.toml", '[permissions]\nwrite = ["docs/**"]\n')
    c = load_config(tmp_path / "ws", {"edits": {"mode": "stream"}}, env={"XDG_CONFIG_HOME": str(xdg)})
    assert c.permissions.write == ["docs/**"] and c.permissions.commands == ["pytest"]
    assert c.edits.mode == "stream"
    assert len(c.origin) == 3


def test_baton_config_env_wins_and_scripts_resolve_relative_to_it(tmp_path):
    write(tmp_path / "cfg" / "c.toml", '[providers.o]\nkind = "scripted"\nscript = "s.json"\n')
    c = load_config(tmp_path, env={"BATON_CONFIG": str(tmp_path / "cfg" / "c.toml")})
    assert c.script_path(c.providers["o"]) == tmp_path / "cfg" / "s.json"


@pytest.mark.parametrize("text,match", [
    ("[providers.a\nkind=1", "not valid TOML"),
    ('[providers.a]\nkind = "gemini"\n', "kind"),
    ('[providers.a]\nkind = "scripted"\n[roles]\nplanner = "nope"\n', "not in \\[providers\\]"),
    ('[providers.a]\nkind = "scripted"\n[roles]\narchitect = "a"\n', "unknown role"),
    ('[providers.a]\nkind = "scripted"\n[edits]\nmode = "sometimes"\n', "edits.mode"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, match):
    write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError, match=match):
        load_config(tmp_path, env={"BATON_CONFIG": str(tmp_path / "c.toml")})


def test_key_is_read_from_the_named_variable_only(tmp_path):
    write(tmp_path / "c.toml", '[providers.a]\nkind = "anthropic"\napi_key_env = "MY_KEY"\n')
    c = load_config(tmp_path, env={"BATON_CONFIG": str(tmp_path / "c.toml")})
    p = c.providers["a"]
    assert p.api_key({"ANTHROPIC_API_KEY": "wrong"}) is None
    key = p.api_key({"MY_KEY": "sk-secret"})
    assert key is not None and key.get_secret_value() == "sk-secret" and "sk-secret" not in repr(key)
