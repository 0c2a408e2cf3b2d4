"""`baton doctor` as a person runs it (a subprocess): where the configuration came from,
providers and roles, whether each key is present (never its value), the command sandbox
layer; `--probe` against the fake LLM server, through the real SDKs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.llm_server import Call, FakeLLMServer, Reply

KEY = "sk-test-doctor-7a1c9e55"
LAYERS = {"bwrap", "overlay", "landlock", "copy", "none"}


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment minus anything that would configure Baton or a provider behind the
    test's back (a developer's real keys, their user config)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BATON_", "ANTHROPIC_", "OPENAI_"))}
    env["XDG_CONFIG_HOME"] = str(tmp / "xdg")
    env.update(extra)
    return env


def doctor(workspace: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "baton", "doctor", "--workspace", str(workspace),
                           *args], env=env, capture_output=True, text=True, timeout=120)


def trust(workspace: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "baton", "trust", "--workspace", str(workspace)],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def layered(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A user config (providers) under a trusted workspace config (one more provider, the roles)."""
    user = tmp_path / "xdg" / "baton" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[providers.claude]\nkind = "anthropic"\nmodel = "claude-sonnet-4-6"\n'
                    'api_key_env = "BATON_DOCTOR_CLAUDE_KEY"\n\n'
                    '[providers.gpt]\nkind = "openai"\nmodel = "gpt-5-mini"\n'
                    'api_key_env = "BATON_DOCTOR_GPT_KEY"\n')
    ws = tmp_path / "ws"
    (ws / ".baton").mkdir(parents=True)
    ws_cfg = ws / ".baton" / "config.toml"
    ws_cfg.write_text('[providers.local]\nkind = "openai-compatible"\n'
                      'base_url = "http://127.0.0.1:9/v1"\nmodel = "qwen2.5-coder"\n\n'
                      '[roles]\nclassifier = "local"\nplanner = "claude"\n'
                      'implementer = ["gpt", "claude"]\nreviewer = "claude"\n')
    proc = trust(ws, clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert str(ws_cfg.resolve()) in proc.stdout
    return ws, user, ws_cfg


def test_doctor_names_an_untrusted_workspace_file_and_how_to_trust_it(tmp_path, layered):
    """Changed after it was trusted (a git pull), the workspace file's providers and roles
    no longer apply; doctor says which tables are ignored and the command that trusts it."""
    ws, user, ws_cfg = layered
    ws_cfg.write_text(ws_cfg.read_text() + '\n[permissions]\nnetwork = true\n')
    env = clean_env(tmp_path, BATON_DOCTOR_CLAUDE_KEY=KEY)
    data = json.loads(doctor(ws, env, "--json").stdout)
    assert set(data["providers"]) == {"claude", "gpt"}  # the workspace's "local" is not there
    assert data["config"]["permissions"]["network"] is False
    wf = data["config"]["workspace_file"]
    assert wf["path"] == str(ws_cfg.resolve()) and wf["trusted"] is False
    assert wf["ignored"] == ["permissions", "providers", "roles"]
    notice = next(p for p in data["problems"] if "not trusted" in p)
    assert f"baton trust --workspace {ws.resolve()}" in notice
    out = doctor(ws, env).stdout
    assert f"workspace file {ws_cfg.resolve()}: NOT trusted (ignored: permissions, providers, roles)" in out
    assert trust(ws, env).returncode == 0
    data = json.loads(doctor(ws, env, "--json").stdout)
    assert data["config"]["workspace_file"]["trusted"] is True and "local" in data["providers"]
    assert not any("not trusted" in p for p in data["problems"])


def test_doctor_json_reports_sources_providers_roles_keys_and_sandbox(tmp_path, layered):
    ws, user, ws_cfg = layered
    proc = doctor(ws, clean_env(tmp_path, BATON_DOCTOR_CLAUDE_KEY=KEY), "--json")
    assert KEY not in proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["config"]["sources"] == [str(user), str(ws_cfg)]
    assert data["workspace"] == str(ws.resolve())
    providers = data["providers"]
    assert set(providers) == {"claude", "gpt", "local"}
    claude = providers["claude"]
    assert {k: v for k, v in claude.items() if k not in ("in_force", "price")} == {
        "kind": "anthropic", "model": "claude-sonnet-4-6",
        "key": {"env": "BATON_DOCTOR_CLAUDE_KEY", "present": True}}
    assert claude["price"] == "$3 in / $15 out per million tokens"
    assert providers["local"]["price"] == "free"  # a server on this machine
    # The values in force, from the model table (providers/models.py), and where from.
    assert claude["in_force"]["max_output_tokens"] == 64_000
    assert claude["in_force"]["thinking"] == {"type": "adaptive"}
    assert claude["in_force"]["sources"]["context_window"] == "table claude-sonnet-4-6"
    assert providers["gpt"]["key"] == {"env": "BATON_DOCTOR_GPT_KEY", "present": False}
    assert providers["local"]["kind"] == "openai-compatible"
    assert providers["local"]["base_url"] == "http://127.0.0.1:9/v1"
    assert data["roles"] == {"classifier": ["local"], "planner": ["claude"],
                             "implementer": ["gpt", "claude"], "reviewer": ["claude"]}
    assert data["sandbox"]["layer"] in LAYERS
    # The missing key is a problem with its fix; a keyless local server is not.
    problems = "\n".join(data["problems"])
    assert "$BATON_DOCTOR_GPT_KEY is not set" in problems and "api_key_env" in problems
    assert "local" not in problems and "claude" not in problems
    assert proc.returncode == 1


def test_doctor_text_says_the_same(tmp_path, layered):
    ws, user, ws_cfg = layered
    env = clean_env(tmp_path, BATON_DOCTOR_CLAUDE_KEY=KEY)
    proc = doctor(ws, env)
    out = proc.stdout
    assert KEY not in out + proc.stderr
    assert f"Configuration: {user}; {ws_cfg}" in out
    assert "claude: anthropic claude-sonnet-4-6, $BATON_DOCTOR_CLAUDE_KEY set" in out
    assert "gpt: openai gpt-5-mini, $BATON_DOCTOR_GPT_KEY NOT set" in out
    assert ("    context 400,000 (table gpt-5), output 128,000 (table gpt-5), thinking reasoning "
            "(table gpt-5)") in out
    assert "implementer: gpt → claude" in out
    layer = json.loads(doctor(ws, env, "--json").stdout)["sandbox"]["layer"]
    assert f"Command isolation: {layer}" in out
    assert "✗ provider gpt: $BATON_DOCTOR_GPT_KEY is not set" in out
    assert proc.returncode == 1
    # Logs (stderr) never leak into what a script would parse.
    assert out.startswith("Baton ")


def test_doctor_says_a_cost_budget_cannot_be_kept_without_prices(tmp_path, layered):
    """A model with no known price is "cost unknown", never $0: with `[limits] run_cost_usd`
    set, doctor names it and how to price it (and runs refuse to start, registry.py)."""
    ws, user, ws_cfg = layered
    user.write_text(user.read_text() + '\n[providers.hosted]\nkind = "openai-compatible"\n'
                    'base_url = "https://llm.example.com/v1"\nmodel = "kimi-k2"\n'
                    '\n[limits]\nrun_cost_usd = 2.5\n')
    ws_cfg.write_text(ws_cfg.read_text().replace('reviewer = "claude"', 'reviewer = "hosted"'))
    env = clean_env(tmp_path, BATON_DOCTOR_CLAUDE_KEY=KEY)
    assert trust(ws, env).returncode == 0
    data = json.loads(doctor(ws, env, "--json").stdout)
    assert data["providers"]["hosted"]["price"].startswith("cost unknown")
    problem = next(p for p in data["problems"] if "run_cost_usd" in p)
    assert "hosted (model 'kimi-k2')" in problem and "prices" in problem
    assert "price: cost unknown" in doctor(ws, env).stdout


def test_doctor_without_configuration_says_offline(tmp_path):
    ws = tmp_path / "empty"
    ws.mkdir()
    data = json.loads(doctor(ws, clean_env(tmp_path), "--json").stdout)
    assert any("offline scripted provider" in s for s in data["config"]["sources"])
    assert list(data["providers"]) == ["offline"]
    assert data["providers"]["offline"]["kind"] == "scripted"
    assert Path(data["providers"]["offline"]["script"]).is_file()
    assert data["roles"] == {role: ["offline"] for role in
                             ("classifier", "planner", "implementer", "reviewer")}


# ---- --probe ------------------------------------------------------------------------

@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def probe_config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "probe.toml"
    common = 'api_key_env = "BATON_DOCTOR_KEY"\nmax_retries = 1\nretry_base_s = 0.001\n'
    cfg.write_text(
        f'[providers.good]\nkind = "anthropic"\nmodel = "probe-good"\nbase_url = "{url}"\n{common}\n'
        f'[providers.good_chat]\nkind = "openai-compatible"\nmodel = "probe-chat"\n'
        f'base_url = "{url}/v1"\n{common}\n'
        f'[providers.broken]\nkind = "openai"\nmodel = "probe-broken"\nbase_url = "{url}/v1"\n{common}\n'
        f'[providers.keyless]\nkind = "openai"\nmodel = "probe-keyless"\nbase_url = "{url}/v1"\n'
        f'api_key_env = "BATON_DOCTOR_UNSET_KEY"\n\n'
        '[roles]\nclassifier = "good_chat"\nplanner = "good"\nimplementer = ["broken", "good"]\n'
        'reviewer = "good"\n')
    return cfg


def push_probe_replies(fake: FakeLLMServer) -> None:
    for model in ("probe-good", "probe-chat"):
        fake.push(Reply(calls=[Call("echo", {"text": "ping"}, id=f"call_{model}")],
                        input_tokens=40, output_tokens=8),
                  Reply(text="pong", input_tokens=60, output_tokens=2), model=model)
    fake.push(Reply(status=401, error_message="invalid api key"), model="probe-broken")


def test_doctor_probe_reports_what_works(tmp_path, fake):
    ws = tmp_path / "ws"
    ws.mkdir()
    env = clean_env(tmp_path, BATON_CONFIG=str(probe_config(tmp_path, fake.url)),
                    BATON_DOCTOR_KEY=KEY)
    push_probe_replies(fake)
    proc = doctor(ws, env, "--probe", "--json")
    assert KEY not in proc.stdout + proc.stderr
    probe: dict[str, Any] = json.loads(proc.stdout)["probe"]
    assert set(probe) == {"good", "good_chat", "broken", "keyless"}
    assert probe["good"].startswith("ok: tool call and result round trip"), probe["good"]
    assert "probe-good" in probe["good"] and "100 in / 10 out" in probe["good"]
    assert probe["good_chat"].startswith("ok: "), probe["good_chat"]
    assert probe["broken"].startswith("failed: ") and "401" in probe["broken"] \
        and "invalid api key" in probe["broken"], probe["broken"]
    assert probe["keyless"].startswith("failed: ") and "BATON_DOCTOR_UNSET_KEY" in probe["keyless"]

    # The round trip really went through each wire format: call, then its result.
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in fake.requests:
        by_model.setdefault(r.body["model"], []).append(r.body)
    assert [len(by_model[m]) for m in ("probe-good", "probe-chat", "probe-broken")] == [2, 2, 1]
    assert "probe-keyless" not in by_model  # no key: nothing was sent
    anthropic_result = by_model["probe-good"][1]["messages"][-1]["content"][0]
    assert anthropic_result["type"] == "tool_result" and anthropic_result["tool_use_id"] == "call_probe-good"
    chat_result = by_model["probe-chat"][1]["messages"][-1]
    assert chat_result["role"] == "tool" and chat_result["tool_call_id"] == "call_probe-chat"

    # The text report says the same, one line a provider.
    push_probe_replies(fake)
    out = doctor(ws, env, "--probe").stdout
    assert "Probe good: ok: tool call and result round trip" in out
    assert "Probe broken: failed: " in out and "invalid api key" in out
    assert KEY not in out


def test_doctor_lists_mcp_servers_and_probe_starts_them(tmp_path: Path) -> None:
    """Each [mcp.servers] entry: how it is reached, its roles, the isolation it runs under;
    --probe starts it in the sandbox and lists its tools (which are allowed without asking),
    and says which does not start and why."""
    demo_server = Path(__file__).parents[1] / "unit" / "mcp" / "demo_server.py"
    cfg = tmp_path / "c.toml"
    cfg.write_text('[providers.o]\nkind = "scripted"\n'
                   f'[mcp.servers.demo]\ncommand = ["{sys.executable}", "{demo_server}"]\n'
                   'allow = ["echo"]\nroles = ["planner"]\n'
                   '[mcp.servers.far]\nurl = "http://example.com/mcp"\n')
    ws = tmp_path / "ws"
    ws.mkdir()
    env = clean_env(tmp_path, BATON_CONFIG=str(cfg))
    plain = json.loads(doctor(ws, env, "--json").stdout)
    assert plain["mcp"]["demo"]["roles"] == ["planner"] and plain["mcp"]["demo"]["found"]
    assert plain["mcp"]["demo"]["isolation"].split(",")[0] in LAYERS
    assert "outside Baton's sandbox" in plain["mcp"]["far"]["isolation"]
    assert any("far" in p and "network = true" in p for p in plain["problems"])
    assert "mcp_probe" not in plain
    probed = json.loads(doctor(ws, env, "--json", "--probe").stdout)["mcp_probe"]
    tools = {t["name"]: t for t in probed["demo"]["tools"]}
    assert probed["demo"]["starts"] and tools["mcp__demo__echo"]["allowed"]
    assert tools["mcp__demo__echo"]["hints"] == "the server says it is read-only"
    assert not probed["far"]["starts"]
    text = doctor(ws, env, "--probe").stdout
    assert "MCP servers:" in text and "mcp__demo__echo (allowed)" in text
