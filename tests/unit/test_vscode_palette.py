"""The VS Code extension's package.json against its source: the palette offers a command only in
the state it fits (a `when` clause on a context key the extension sets), and the Baton view's
menus name commands, views and tree items that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "clients" / "vscode"
# Commands that fit whatever the runs' states are; every other one depends on some run's state.
ALWAYS = {"baton.ui.runTask", "baton.ui.showRuns", "baton.ui.trustWorkspace", "baton.ui.showLog"}


@pytest.fixture(scope="module")
def contributes() -> dict:
    return json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))["contributes"]


def source(name: str) -> str:
    return (EXTENSION / "src" / name).read_text(encoding="utf-8")


def all_menu_entries(contributes: dict) -> list[dict]:
    return [entry for entries in contributes["menus"].values() for entry in entries]


def test_every_state_dependent_command_has_a_when_in_the_palette(contributes: dict) -> None:
    palette = {entry["command"]: entry.get("when", "") for entry in contributes["menus"]["commandPalette"]}
    commands = {c["command"] for c in contributes["commands"]}
    missing = sorted(c for c in commands - ALWAYS if not palette.get(c, "").strip())
    assert not missing, f"palette commands without a `when` clause for the state they fit: {missing}"
    assert not ALWAYS & palette.keys(), "a command that always fits needs no palette clause"


def test_every_context_key_in_a_clause_is_set_by_the_extension(contributes: dict) -> None:
    keys_source = source("contextKeys.ts")
    used = {key for entry in all_menu_entries(contributes)
            for key in re.findall(r"(?<!view == )\bbaton\.[A-Za-z]+\b", entry.get("when", ""))}
    assert used, "no clause reads a Baton context key"
    unset = sorted(key for key in used if f'"{key}"' not in keys_source)
    assert not unset, f"`when` clauses read context keys src/contextKeys.ts never sets: {unset}"
    set_keys = set(re.findall(r'"(baton\.[A-Za-z]+)":', keys_source))
    assert set_keys <= used, f"context keys no clause reads: {sorted(set_keys - used)}"


def test_menus_name_existing_commands_views_and_items(contributes: dict) -> None:
    commands = {c["command"] for c in contributes["commands"]}
    views = {v["id"] for container in contributes["views"].values() for v in container}
    containers = {c["id"] for c in contributes["viewsContainers"]["activitybar"]}
    assert set(contributes["views"]) <= containers
    tree_source = source("tree.ts")
    for entry in all_menu_entries(contributes):
        assert entry["command"] in commands, entry
        when = entry.get("when", "")
        for view in re.findall(r"\bview == ([\w.]+)", when):
            assert view in views, entry
        for item in re.findall(r"\bviewItem == ([\w-]+)", when):
            kind = item.removeprefix("waiting-")
            assert f'"{kind}"' in tree_source, f"no tree item has the context value {item}: {entry}"


def test_inline_actions_have_icons(contributes: dict) -> None:
    """An inline action without an icon shows its whole title in every row."""
    icons = {c["command"] for c in contributes["commands"] if c.get("icon")}
    inline = {e["command"] for e in contributes["menus"]["view/item/context"] if e.get("group", "").startswith("inline")}
    inline |= {e["command"] for e in contributes["menus"]["view/title"]}
    assert inline <= icons, sorted(inline - icons)
