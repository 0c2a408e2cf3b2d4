"""Configuration mistakes are said as `file:line: key: what is wrong` (config_errors.py),
whichever layer wrote them, with the key a near-miss was probably meant to be."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.config import ROLES, RolesConfig, load_config, trust_workspace
from baton.config_errors import EXAMINED, MOST
from baton.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PROVIDER = '[providers.mine]\nkind = "scripted"\n'


def error_of(tmp_path: Path, text: str, **kwargs) -> str:
    """What loading `text` as $BATON_CONFIG says; its path shown as `C`."""
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, env={"BATON_CONFIG": str(path)}, **kwargs)
    return str(info.value).replace(str(path), "C")


@pytest.mark.parametrize("text, said", [
    # an unknown table, and an unknown key in a known one: the near-miss named
    (PROVIDER + '\n[edit]\nmode = "review"\n', 'C:4: edit: unknown table; did you mean "edits"?'),
    (PROVIDER + '[permissions]\ncommands = ["pytest"]\nnetwrok = true\n',
     'C:5: permissions.netwrok: unknown key; did you mean "network"?'),
    # nothing close: the keys there are
    (PROVIDER + '[roles]\narchitect = "mine"\n',
     "C:4: roles.architect: unknown key (known: classifier, planner, implementer, reviewer)"),
    # a value out of a fixed set: the near-miss among them
    ('[providers.claude]\nmodel = "m"\nkind = "antropic"\n',
     "C:3: providers.claude.kind: Input should be 'anthropic', 'openai', 'openai-compatible' or "
     "'scripted'; did you mean \"anthropic\"?"),
    # a required key that is not there: the line of its table
    ('[providers.claude]\nmodel = "m"\n', "C:1: providers.claude.kind: missing; it is required"),
    # dotted keys and inline tables
    ('providers.a = { kind = "scripted", script = 3 }\n',
     "C:1: providers.a.script: Input should be a valid string"),
    ('limits.max_turns.planner = "many"\n' + PROVIDER,
     "C:1: limits.max_turns.planner: Input should be a valid integer, unable to parse string as an integer"),
    # an item of a list; a value no branch of a union takes is one mistake
    (PROVIDER + '[permissions]\ncommands = [\n  "pytest",\n  3,\n]\n',
     "C:6: permissions.commands[1]: Input should be a valid string"),
    (PROVIDER + '[roles]\nplanner = 3\n', "C:4: roles.planner: Input should be a valid string or a valid list"),
    (PROVIDER + '[roles]\nplanner = ["mine", 3]\n', "C:4: roles.planner[1]: Input should be a valid string"),
    # what a table's model cannot see alone
    (PROVIDER + '[roles]\nplanner = "mien"\n',
     "C:4: roles.planner: names provider 'mien', which is not in [providers]; did you mean \"mine\"?"),
    (PROVIDER + 'modle = "x"\n', "C:3: providers.mine.modle: unknown key; did you mean \"model\"?"),
    # TOML that does not parse: tomllib's line and column
    (PROVIDER + '[edits]\nmode = review\n', "C:4:8: not valid TOML: Invalid value"),
    # a key that needs quotes is shown quoted
    (PROVIDER + '[edits]\n"mo de" = 1\n', 'C:4: edits."mo de": unknown key; did you mean "mode"?'),
])
def test_a_mistake_is_said_with_its_file_line_and_key(tmp_path, text, said):
    assert error_of(tmp_path, text) == said


def test_adapter_knobs_in_a_provider_table_are_not_mistakes(tmp_path):
    path = write(tmp_path / "c.toml", PROVIDER + 'temperature = 0.2\nthinking_budget = 2048\ncache = false\n')
    assert load_config(tmp_path, env={"BATON_CONFIG": str(path)}).providers["mine"].model_extra


def test_a_key_written_into_the_file_is_refused_and_never_repeated(tmp_path):
    said = error_of(tmp_path, '[providers.claude]\nkind = "anthropic"\napi_key = "sk-ant-SECRET-VALUE"\n')
    assert said.startswith("C:3: providers.claude.api_key: Baton reads keys only from the environment")
    assert "SECRET" not in said


def test_values_are_not_repeated_in_the_message(tmp_path):
    """A value may be a secret pasted in the wrong place: the key and the rule are said."""
    said = error_of(tmp_path, PROVIDER + '[limits]\nrun_tokens = "sk-ant-SECRET-VALUE"\n')
    assert said.startswith("C:4: limits.run_tokens:") and "SECRET" not in said


def test_mistakes_come_in_line_order_and_many_are_counted(tmp_path):
    """Also past the ones examined: a hostile file's thousands are counted, not each
    explained."""
    keys = "".join(f"typo{i} = 1\n" for i in range(EXAMINED + 50))
    said = error_of(tmp_path, PROVIDER + "[permissions]\ncommands = [1, 2]\n[edits]\n" + keys)
    assert said.startswith("C:4: permissions.commands[0]: Input should be a valid string; "
                           "C:4: permissions.commands[1]: Input should be a valid string; "
                           "C:6: edits.typo0: unknown key")
    assert said.split("; ")[-1] == f"C:8: edits.typo2: unknown key (known: mode) (and {EXAMINED + 52 - MOST} more)"


# -- layers ------------------------------------------------------------------------------------

@pytest.fixture
def layered(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    return tmp_path / "ws", env


def test_the_layer_that_wrote_the_key_is_named(tmp_path, layered):
    """A key both files write is the (trusted) workspace file's, which is in force; one only
    the user file writes is the user file's."""
    ws, env = layered
    user = write(tmp_path / "xdg" / "baton" / "config.toml", PROVIDER + '[roles]\nplanner = "mine"\n')
    write(ws / ".baton" / "config.toml", '# the repository\'s\n\n[roles]\nplanner = "theirs"\n')
    trust_workspace(ws, env=env)
    theirs = ws.resolve() / ".baton" / "config.toml"
    with pytest.raises(ConfigError) as info:
        load_config(ws, env=env)
    assert str(info.value) == f"{theirs}:4: roles.planner: names provider 'theirs', which is not in [providers]"
    user.write_text(PROVIDER + '[limits]\nreview_rounds = "two"\n')
    with pytest.raises(ConfigError) as info:
        load_config(ws, env=env)
    assert str(info.value) == (f"{user}:4: limits.review_rounds: Input should be a valid integer, "
                               "unable to parse string as an integer")


def test_initialization_options_are_named_as_such(tmp_path, layered):
    ws, env = layered
    write(tmp_path / "xdg" / "baton" / "config.toml", PROVIDER)
    with pytest.raises(ConfigError) as info:
        load_config(ws, {"edits": {"mod": "review"}}, env=env)
    assert str(info.value) == 'initializationOptions.config: edits.mod: unknown key; did you mean "mode"?'


def test_untrusted_files_ignored_tables_are_not_checked_but_their_mistakes_in_what_applies_are(
        tmp_path, layered):
    """Trust ignores [providers] of an untrusted file whatever it says; a table Baton does
    not know, or a mistake in [edits] or [limits] (which apply untrusted), is an error:
    running without what it meant to set would run looser than it says."""
    ws, env = layered
    write(tmp_path / "xdg" / "baton" / "config.toml", PROVIDER)
    path = write(ws / ".baton" / "config.toml", '[providers.x]\nkind = "nonsense"\nmodle = 1\n')
    assert load_config(ws, env=env).workspace_file.ignored == ["providers"]  # type: ignore[union-attr]
    mine = ws.resolve() / ".baton" / "config.toml"
    for text, said in [('[edit]\nmode = "review"\n', f'{mine}:1: edit: unknown table; did you mean "edits"?'),
                       ('[limits]\nrun_seconds = -1\n',
                        f"{mine}:2: limits.run_seconds: Input should be greater than or equal to 0")]:
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_config(ws, env=env)
        assert str(info.value) == said


def test_the_roles_table_knows_each_role():
    assert tuple(RolesConfig.model_fields) == ROLES
