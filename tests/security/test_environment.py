"""Attacks on secrets from inside a command (issue 13, item 2 and the credential stores of
item 1): the daemon's environment holds the person's API keys under any name, and their
home holds credential files. Each test is one attempt on every isolation layer and asserts
that no secret value shows in the command's output.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from baton.config import ProviderConfig
from baton.sandbox.commands import CommandResult, run_command
from baton.sandbox.shadow import Shadow


def fake(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


async def run(shadow: Shadow, command: str, layer: str, **kw) -> CommandResult:
    return await run_command(command, shadow=shadow, workspace=shadow.policy.root, layer=layer,
                             allow_unsandboxed=False, timeout_s=30, network=False, **kw)


def dump_env() -> str:
    """Every way a command reads its environment, and that of its parents."""
    return ("env; cat /proc/self/environ; echo; cat /proc/$PPID/environ; echo; "
            "for p in /proc/[0-9]*; do cat $p/environ; echo; done 2>/dev/null; echo end")


@pytest.mark.parametrize("name", ["GROQ_KEY", "LLM_BEARER", "MISTRAL_API_TOKEN",
                                  "HF_HUB_SECRET", "DB_PASSWORD"])
async def test_keys_under_unusual_names_do_not_reach_commands(
        shadow: Shadow, layer: str, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A key in the daemon's environment under a name no deny-list knows (GROQ_KEY,
    LLM_BEARER, ...) is not passed to commands, nor readable in any process's environ."""
    value = fake("sk-secret")
    monkeypatch.setenv(name, value)
    r = await run(shadow, dump_env(), layer)
    assert r.stdout.rstrip().endswith("end"), r.stderr
    assert value not in r.stdout + r.stderr and f"{name}=" not in r.stdout


async def test_the_variable_a_provider_names_is_never_passed(
        shadow: Shadow, layer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider configured with `api_key_env = "MY_LLM"` (a name that looks like nothing):
    the variable is withheld, even when the person lists it in `[permissions] env`."""
    provider = ProviderConfig(kind="openai-compatible", model="m", api_key_env="MY_LLM",
                              base_url="http://127.0.0.1:9/v1")
    value = fake("llm")
    monkeypatch.setenv("MY_LLM", value)
    r = await run(shadow, dump_env(), layer, env_allow=["MY_LLM"],
                  provider_keys=[provider.key_env()])
    assert r.stdout.rstrip().endswith("end"), r.stderr
    assert value not in r.stdout + r.stderr


async def test_agent_and_bus_sockets_are_not_advertised(
        shadow: Shadow, layer: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SSH_AUTH_SOCK, GPG_AGENT_INFO, DBUS_SESSION_BUS_ADDRESS and XAUTHORITY would tell a
    command where the person's agents are."""
    addresses = {"SSH_AUTH_SOCK": str(tmp_path / fake("ssh")),
                 "GPG_AGENT_INFO": str(tmp_path / fake("gpg")),
                 "DBUS_SESSION_BUS_ADDRESS": "unix:path=" + str(tmp_path / fake("bus")),
                 "XAUTHORITY": str(tmp_path / fake("xauth"))}
    for k, v in addresses.items():
        monkeypatch.setenv(k, v)
    r = await run(shadow, "env", layer)
    for v in addresses.values():
        assert v not in r.stdout


async def test_the_daemons_startup_variables_do_not_run_code(
        shadow: Shadow, layer: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """BASH_ENV, ENV, LD_PRELOAD, PYTHONSTARTUP in the daemon's environment (set by whoever
    started it) are not handed to commands, where they would run code at every start."""
    script = tmp_path / "startup.sh"
    script.write_text("echo STARTUP-RAN\n")
    for name in ("BASH_ENV", "ENV"):
        monkeypatch.setenv(name, str(script))
    monkeypatch.setenv("PYTHONSTARTUP", str(script))
    r = await run(shadow, "bash -c true 2>/dev/null; sh -i -c true </dev/null 2>/dev/null; "
                  "env | grep -E '^(BASH_ENV|ENV|PYTHONSTARTUP)=' ; echo end", layer)
    assert "STARTUP-RAN" not in r.stdout and r.stdout.strip() == "end", r.stdout


async def test_listed_variables_are_passed(shadow: Shadow, layer: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The allow-list is the only way in: a variable the person lists reaches the command
    (even a secret-looking one, chosen explicitly), an unlisted one does not."""
    monkeypatch.setenv("NPM_TOKEN", "listed-value")
    monkeypatch.setenv("CARGO_TARGET_DIR", "unlisted-value")
    r = await run(shadow, "env", layer, env_allow=["NPM_TOKEN"])
    assert "NPM_TOKEN=listed-value" in r.stdout and "unlisted-value" not in r.stdout


# ---------------------------------------------------------------- credential files

CREDENTIALS = {".ssh/id_ed25519": "SSH-PRIVATE-KEY", ".aws/credentials": "AWS-SECRET",
               ".netrc": "NETRC-PASSWORD", ".config/gh/hosts.yml": "GH-OAUTH-TOKEN",
               ".git-credentials": "GIT-CREDENTIAL", ".docker/config.json": "DOCKER-AUTH"}


@pytest.fixture
def home(layer: str, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A $HOME full of credentials, placed where the command could otherwise read them: for
    bwrap inside the workspace it sees (its private /tmp would hide one elsewhere under
    the test's temp dir), for Landlock beside it (the Landlock view is a copy of the
    workspace, and the real filesystem is readable). Returns path → secret value."""
    root = ws / "home" if layer == "bwrap" else tmp_path / "home"
    out = {}
    for rel, what in CREDENTIALS.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        out[str(p)] = fake(what)
        p.write_text(out[str(p)] + "\n")
    monkeypatch.setenv("HOME", str(root))
    return out


async def test_credential_files_in_home_are_unreadable(shadow: Shadow, layer: str,
                                                       home: dict[str, str]) -> None:
    """`cat ~/.ssh/id_ed25519 ~/.aws/credentials ~/.netrc ...`: the output goes back to the
    model, so a readable credential store is a leaked one."""
    r = await run(shadow, "cat " + " ".join(home) + "; echo end", layer)
    assert r.stdout.rstrip().endswith("end")
    for value in home.values():
        assert value not in r.stdout + r.stderr


async def test_credentials_are_not_reached_through_a_link(shadow: Shadow, layer: str,
                                                          home: dict[str, str]) -> None:
    """The command links to the credential files (and to the folders holding them) from
    its own view and reads the links."""
    cmds = [f"ln -s {p} l{i}; cat l{i}" for i, p in enumerate(home)]
    cmds += [f"ln -s {Path(p).parent} d{i}; cat d{i}/*" for i, p in enumerate(home)]
    r = await run(shadow, "; ".join(cmds) + "; echo end", layer)
    assert r.stdout.rstrip().endswith("end")
    for value in home.values():
        assert value not in r.stdout + r.stderr


async def test_unmounting_the_mask_does_not_uncover_credentials(
        shadow: Shadow, layer: str, home: dict[str, str]) -> None:
    """bwrap hides credential stores with empty mounts: the command unmounts them (as root
    it used to keep the capability to) and reads what was under them."""
    paths = " ".join(home)
    dirs = " ".join(sorted({str(Path(p).parent) for p in home}))
    r = await run(shadow, f"for m in {paths} {dirs}; do umount -l $m; done 2>/dev/null; "
                  f"cat {paths}; echo end", layer)
    assert r.stdout.rstrip().endswith("end")
    for value in home.values():
        assert value not in r.stdout + r.stderr


async def test_a_workspace_that_is_home_does_not_carry_its_credentials_into_the_view(
        ws: Path, shadow: Shadow, layer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The person opens $HOME itself as the workspace: the command reads the credential
    stores by their place in the workspace (`cat .ssh/id_ed25519`), which on Landlock is a
    copy of the workspace made for the command, not the masked original."""
    monkeypatch.setenv("HOME", str(ws))
    planted = {}
    for rel, what in CREDENTIALS.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        planted[rel] = fake(what)
        (ws / rel).write_text(planted[rel] + "\n")
    r = await run(shadow, "cat " + " ".join(planted) + "; grep -r . . 2>/dev/null; echo end",
                  layer)
    assert r.stdout.rstrip().endswith("end")
    for value in planted.values():
        assert value not in r.stdout + r.stderr
