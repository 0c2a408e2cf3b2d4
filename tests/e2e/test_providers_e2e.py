"""Full runs through the real daemon whose roles are bound to different providers, each
reached through its real SDK against the fake LLM server (tests/fakes/llm_server.py):
the classifier speaks Chat Completions (openai-compatible), the planner Anthropic
Messages, the implementer OpenAI Responses failing over to Anthropic, the reviewer
OpenAI Responses. Also: a role whose providers all fail, and API keys that must never
leak into anything Baton writes or says.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.llm_server import Call, FakeLLMServer, Reply

from .conftest import HELLO
from .editor import WAIT_S, Editor

EDITED = HELLO.replace("def hello():", "def hello(name):")

# Models name the fake server's queues: each provider gets its own script whatever the order.
CLASSIFIER_MODEL = "local-router"
PLANNER_MODEL = "claude-e2e-plan"
FLAKY_MODEL = "gpt-e2e-flaky"
REVIEW_MODEL = "gpt-e2e-review"

KEY_ENVS = {"local": "BATON_E2E_LOCAL_KEY", "claude": "BATON_E2E_ANTHROPIC_KEY",
            "gpt": "BATON_E2E_OPENAI_KEY", "gpt_review": "BATON_E2E_OPENAI_KEY"}
# USD per million tokens; set explicitly so expected costs are computed here, not looked up.
PRICES = {"local": {"input": 1.0, "output": 2.0},
          "claude": {"input": 3.0, "output": 15.0, "cached": 0.3, "cache_write": 3.75},
          "gpt": {"input": 1.25, "output": 10.0, "cached": 0.125},
          "gpt_review": {"input": 0.25, "output": 2.0, "cached": 0.025}}


def provider_config(url: str, *, models: dict[str, str] | None = None,
                    roles: dict[str, str | list[str]] | None = None, max_retries: int = 1) -> str:
    """A full config TOML aimed at the fake server: one provider of each kind, millisecond
    backoff, explicit prices and key variables."""
    models = {"local": CLASSIFIER_MODEL, "claude": PLANNER_MODEL, "gpt": FLAKY_MODEL,
              "gpt_review": REVIEW_MODEL, **(models or {})}
    kinds = {"local": "openai-compatible", "claude": "anthropic", "gpt": "openai",
             "gpt_review": "openai"}
    roles = roles or {"classifier": "local", "planner": "claude",
                      "implementer": ["gpt", "claude"], "reviewer": "gpt_review"}
    out = []
    for name, kind in kinds.items():
        prices = ", ".join(f"{k} = {v}" for k, v in PRICES[name].items())
        out.append(f'[providers.{name}]\nkind = "{kind}"\nmodel = "{models[name]}"\n'
                   f'base_url = "{url if kind == "anthropic" else url + "/v1"}"\n'
                   f'api_key_env = "{KEY_ENVS[name]}"\n'
                   f"max_retries = {max_retries}\nretry_base_s = 0.001\nretry_max_s = 0.01\n"
                   f"timeout_s = 20\nprices = {{ {prices} }}\n")
    out.append("[roles]\n" + "".join(f"{role} = {json.dumps(v)}\n" for role, v in roles.items()))
    return "\n".join(out)


class ProviderEditor(Editor):
    """The test editor, with the daemon's stderr captured (not forwarded) and log level,
    keys and config chosen by the test."""

    def __init__(self, root: Path, config: Path, env: dict[str, str]) -> None:
        super().__init__(root, config)
        self.env = env
        self.stderr = bytearray()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ, "BATON_CONFIG": str(self.config), **self.env}
        client = self.client
        await client.start_io(sys.executable, "-m", "baton", "serve", env=env)
        # Read stderr ourselves: the test inspects all of it.
        if client._stderr_forwarder is not None:
            client._stderr_forwarder.cancel()
            client._stderr_forwarder = None
        assert client._server is not None and client._server.stderr is not None
        self._reader = asyncio.create_task(self._read(client._server.stderr))
        from lsprotocol import types as t
        from pytest_lsp import client_capabilities
        result = await client.initialize_session(t.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=self.root.as_uri(),
            workspace_folders=[t.WorkspaceFolder(uri=self.root.as_uri(), name="ws")]))
        enc = result.capabilities.position_encoding or "utf-16"
        self.encoding = getattr(enc, "value", enc)
        await self.command("baton.runs", {})

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.stderr += chunk

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            if self._reader is not None:  # the daemon has exited: read to EOF
                try:
                    await asyncio.wait_for(self._reader, 10)
                except TimeoutError:
                    self._reader.cancel()


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
async def start_editor(tmp_path: Path) -> AsyncIterator[Any]:
    editors: list[ProviderEditor] = []

    async def start(config_text: str, env: dict[str, str]) -> ProviderEditor:
        ws = tmp_path / "ws"
        ws.mkdir()
        (ws / "hello.py").write_text(HELLO)
        cfg = tmp_path / "config.toml"
        cfg.write_text(config_text)
        editor = ProviderEditor(ws, cfg, env)
        editors.append(editor)
        await editor.start()
        return editor

    yield start
    for e in editors:
        try:
            await e.stop()
        except Exception:
            pass


def fake_keys(value: str = "sk-test-fake-0000") -> dict[str, str]:
    return {env: value for env in KEY_ENVS.values()} | {"BATON_LOG": "WARNING"}


def script_plan_run(fake: FakeLLMServer, *, flaky_failures: int = 2) -> None:
    """Each role's turns in its provider's wire format (the fake renders them)."""
    fake.push(Reply(calls=[Call("classify", {"route": "plan", "reason": "a signature change"},
                                id="call_cls")], input_tokens=100, output_tokens=10),
              model=CLASSIFIER_MODEL)
    # Planner (Anthropic), then the implementer once it has failed over to Anthropic.
    fake.push(Reply(text="Let me look.", calls=[Call("read_file", {"path": "hello.py"}, id="toolu_p1")],
                    input_tokens=200, output_tokens=20),
              Reply(calls=[Call("submit_plan", {"summary": "Greet by name",
                                                "steps": ["Add a name parameter"],
                                                "files": ["hello.py"]}, id="toolu_p2")],
                    input_tokens=300, output_tokens=30, cached_tokens=100),
              Reply(calls=[Call("edit_file", {"path": "hello.py", "old": "def hello():",
                                              "new": "def hello(name):"}, id="toolu_i1")],
                    input_tokens=400, output_tokens=40, cache_write_tokens=50),
              Reply(calls=[Call("finish", {"summary": "added a name parameter"}, id="toolu_i2")],
                    input_tokens=500, output_tokens=50, cached_tokens=400),
              model=PLANNER_MODEL)
    # The implementer's first provider (OpenAI Responses) is overloaded, then broken.
    faults = [Reply(status=529, error_message="Overloaded"), Reply(status=500, error_message="boom")]
    fake.push(*(faults * flaky_failures)[:flaky_failures], model=FLAKY_MODEL)
    fake.push(Reply(text="Looks right.",
                    calls=[Call("submit_review", {"verdict": "approve", "findings": []}, id="call_rev")],
                    input_tokens=600, output_tokens=60, cached_tokens=200),
              model=REVIEW_MODEL)


def cost(prices: dict[str, float], inp: int, out: int, cached: int = 0, written: int = 0) -> float:
    """The expected cost: input counts every prompt token, cached and written are parts of it."""
    plain = inp - cached - written
    return (plain * prices["input"] + cached * prices.get("cached", prices["input"])
            + written * prices.get("cache_write", prices["input"]) + out * prices["output"]) / 1e6


def transcript(root: Path, run_id: str) -> list[dict[str, Any]]:
    path = root / ".baton" / "runs" / run_id / "transcript.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def full_plan_run(ed: Editor) -> str:
    ed.open("hello.py")
    run_id = await ed.run("Make hello greet whoever calls it by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    return run_id


async def test_plan_run_across_providers_with_failover(fake, start_editor):
    script_plan_run(fake)
    ed = await start_editor(provider_config(fake.url), fake_keys())
    run_id = await full_plan_run(ed)

    assert ed.states(run_id) == ["classifying", "planning", "awaiting_approval", "implementing",
                                 "reviewing", "done"]
    assert ed.text("hello.py") == EDITED
    assert (ed.root / "hello.py").read_text() == HELLO  # the editor, not Baton, writes files

    # Each role went to its own endpoint, in its wire format.
    paths = [(r.path, r.body.get("model")) for r in fake.requests]
    assert paths == [
        ("/v1/chat/completions", CLASSIFIER_MODEL),
        ("/v1/messages", PLANNER_MODEL), ("/v1/messages", PLANNER_MODEL),
        ("/v1/responses", FLAKY_MODEL), ("/v1/responses", FLAKY_MODEL),  # 529, retried: 500
        ("/v1/messages", PLANNER_MODEL),  # failed over to Anthropic
        ("/v1/messages", PLANNER_MODEL),  # and stayed there for the implementer's next turn
        ("/v1/responses", REVIEW_MODEL)], paths
    bodies = [r.body for r in fake.requests]
    # Tool results went back in each format: Anthropic tool_result paired with its tool_use id.
    planner_second = bodies[2]["messages"]
    results = [b for m in planner_second if m["role"] == "user" and isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert [b["tool_use_id"] for b in results] == ["toolu_p1"]
    assert "def hello():" in json.dumps(results[0]["content"])
    assert {t["function"]["name"] for t in bodies[0]["tools"]} == {"classify"}  # Chat Completions
    assert {t["type"] for t in bodies[0]["tools"]} == {"function"}
    assert {t["name"] for t in bodies[-1]["tools"]} >= {"submit_review"}  # Responses tools
    assert "instructions" in bodies[-1]
    impl_second = bodies[6]["messages"]
    assert any(b.get("type") == "tool_result" and b["tool_use_id"] == "toolu_i1"
               for m in impl_second if isinstance(m["content"], list) for b in m["content"])

    # Usage and cost per role, in run.show and in the runChanged `usage` field.
    p = PRICES
    expected = {
        "classifier": (100, 10, 0, 0, cost(p["local"], 100, 10)),
        # Anthropic reports input without cache reads/writes; Baton counts them in.
        "planner": (200 + 400, 50, 100, 0, cost(p["claude"], 200, 20) + cost(p["claude"], 400, 30, 100)),
        "implementer": (450 + 900, 90, 400, 50,
                        cost(p["claude"], 450, 40, 0, 50) + cost(p["claude"], 900, 50, 400)),
        "reviewer": (600, 60, 200, 0, cost(p["gpt_review"], 600, 60, 200)),
    }
    shown = await ed.command("baton.run.show", {"runId": run_id})
    done = [n for n in ed.notices if n["runId"] == run_id and n["state"] == "done"][-1]
    for usage in (shown["usage"], done["usage"]):
        assert set(usage) == set(expected)
        for role, (inp, out, cached, written, usd) in expected.items():
            u = usage[role]
            assert (u["input_tokens"], u["output_tokens"], u["cached_tokens"],
                    u["cache_write_tokens"]) == (inp, out, cached, written), (role, u)
            assert u["cost_usd"] == pytest.approx(usd, rel=1e-6, abs=1e-9), (role, u)
            assert u["cost_usd"] > 0
    # Usage grows as the run goes: an earlier notice already carried the classifier's.
    approval = [n for n in ed.notices if n["runId"] == run_id and n["state"] == "awaiting_approval"][0]
    assert set(approval["usage"]) == {"classifier", "planner"}

    # The transcript records which provider answered each turn; the failover is visible.
    by_agent: dict[str, list[str]] = {}
    for ev in transcript(ed.root, run_id):
        if ev.get("kind") == "message" and ev["message"]["role"] == "assistant":
            by_agent.setdefault(ev["agent"], []).append(ev.get("provider", ""))
    assert by_agent == {"classifier": ["local"], "planner": ["claude", "claude"],
                        "implementer": ["claude", "claude"], "reviewer": ["gpt_review"]}
    events = "\n".join(shown["events"])
    assert "implementer [claude]: edit_file hello.py" in events
    assert "reviewer [gpt_review]: Looks right.\n" in events  # the provider, named once
    assert "reviewer: submit_review approve, 0 finding(s)" in events
    assert shown["providers"] == {"classifier": ["local"], "planner": ["claude"],
                                  "implementer": ["claude"], "reviewer": ["gpt_review"]}

    # The daemon's log says why: each attempt, the failure, the failover.
    await ed.stop()
    log = ed.stderr.decode()
    assert "provider gpt: HTTP 529 overloaded_error: Overloaded; retry 1/1" in log, log
    assert "implementer: provider gpt failed: HTTP 500 api_error: boom (after 2 attempts)" in log, log
    assert "implementer: failed over to claude" in log, log


async def test_every_provider_failing_fails_the_run_naming_each(fake, start_editor):
    fake.push(Reply(calls=[Call("classify", {"route": "plan", "reason": "x"})]), model=CLASSIFIER_MODEL)
    fake.push(Reply(status=529, error_message="Overloaded right now"),
              Reply(status=529, error_message="Overloaded right now"), model=FLAKY_MODEL)
    # A model the provider does not know fails over like an outage (a 400, the request's own
    # fault, would not: tests/unit/providers/test_registry.py).
    fake.push(Reply(status=404, error_type="not_found_error",
                    error_message="model: no such model somehow"), model=PLANNER_MODEL)
    config = provider_config(fake.url, roles={"classifier": "local", "planner": ["gpt", "claude"],
                                              "implementer": "claude", "reviewer": "claude"})
    ed = await start_editor(config, fake_keys())
    run_id = await ed.run("Make hello greet whoever calls it by name")
    notice = await _terminal(ed, run_id)
    assert notice["state"] == "failed"
    error = notice["error"]
    assert "gpt" in error and "529" in error and "Overloaded right now" in error, error
    assert "claude" in error and "404" in error and "no such model somehow" in error, error
    assert "every provider failed" in error, error
    shown = await ed.command("baton.run.show", {"runId": run_id})
    assert shown["state"] == "failed" and shown["error"] == error
    # Two attempts at the overloaded provider (max_retries = 1), one at the broken one:
    # a 404 is not retried.
    assert [(r.path, r.body["model"]) for r in fake.requests[1:]] == [
        ("/v1/responses", FLAKY_MODEL), ("/v1/responses", FLAKY_MODEL), ("/v1/messages", PLANNER_MODEL)]


async def _terminal(ed: Editor, run_id: str) -> dict[str, Any]:
    def seen() -> dict[str, Any] | None:
        return next((n for n in ed.notices if n["runId"] == run_id
                     and n["state"] in ("done", "failed", "rejected", "cancelled")), None)
    return await ed.wait_for(seen, f"run {run_id} to end")


SECRET = "sk-test-SECRET-123456789"


async def test_api_keys_never_leak(fake, start_editor):
    script_plan_run(fake)
    # Verbose logs: the key must stay out of them too. Every provider gets the same key.
    env = fake_keys(SECRET) | {"BATON_LOG": "DEBUG", "BATON_TRACE": "1"}
    ed = await start_editor(provider_config(fake.url), env)
    run_id = await full_plan_run(ed)
    # Some servers echo the key they were sent in their error message ("Incorrect API key
    # provided: ..."); that text travels into the run's error, logs and notices.
    fake.push(Reply(calls=[Call("classify", {"route": "plan", "reason": "x"})]), model=CLASSIFIER_MODEL)
    fake.push(Reply(status=401, error_message=f"Incorrect API key provided: {SECRET}"),
              model=PLANNER_MODEL)
    failed_id = await ed.run("Make hello greet whoever calls it by name, again")
    failed = await _terminal(ed, failed_id)
    assert failed["state"] == "failed"
    shown = [await ed.command("baton.run.show", {"runId": r}) for r in (run_id, failed_id)]
    runs = await ed.command("baton.runs", {})
    await ed.stop()

    assert "Incorrect API key provided" in failed["error"], failed["error"]

    secret = SECRET.encode()
    from baton.state_dir import Locations
    stored = [p for where in (ed.root / ".baton", Locations.of(ed.root).state)
              for p in where.rglob("*") if p.is_file()]
    assert any(p.name.startswith("journal.sqlite3") for p in stored)
    assert any(p.name == "transcript.jsonl" for p in stored)
    for p in stored:  # journal (with -wal/-shm), transcripts, plan.md, everything
        assert secret not in p.read_bytes(), f"the API key is in {p}"
    said = {
        "runChanged": json.dumps(ed.notices),
        "logMessage": json.dumps([m.message for m in ed.client.log_messages]),
        "showMessage": json.dumps([m.message for m in ed.client.messages]),
        "showMessageRequest": json.dumps([p.message for p in ed.prompts]),
        "progress": json.dumps(ed.progress),
        "run.show": json.dumps(shown), "runs": json.dumps(runs),
    }
    for where, text in said.items():
        assert SECRET not in text, f"the API key is in {where}"
    assert ed.stderr, "the daemon's stderr was not captured"
    assert secret not in bytes(ed.stderr), "the API key is in the daemon's stderr"
    assert b"DEBUG" in ed.stderr  # the logs were verbose, and still clean

    # `baton doctor` says the key is present, never what it is.
    for args in ([], ["--json"]):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "baton", "doctor", "--workspace", str(ed.root), *args,
            env={**os.environ, "BATON_CONFIG": str(ed.config), **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert secret not in out and secret not in err, f"the API key is in doctor {args} output"
        if args:
            keys = {n: p["key"] for n, p in json.loads(out)["providers"].items()}
            assert keys["claude"] == {"env": KEY_ENVS["claude"], "present": True}
        else:
            assert f"${KEY_ENVS['claude']} set".encode() in out


async def test_cancel_stops_a_stream_mid_way(fake, start_editor):
    """Cancelling a run drops the provider's HTTP stream at once, not when it ends."""
    fake.push(Reply(calls=[Call("classify", {"route": "plan", "reason": "x"})]), model=CLASSIFIER_MODEL)
    # About ten events half a second apart; the fake notes a client that hangs up before
    # the end (a stream read to its end never sets `disconnected`).
    fake.push(Reply(text="word " * 180, event_delay_s=0.5), model=PLANNER_MODEL)
    streaming = threading.Event()
    next_reply = fake.next_reply

    def watched(model: str | None) -> Reply | None:
        reply = next_reply(model)
        if model == PLANNER_MODEL:
            streaming.set()
        return reply
    fake.next_reply = watched  # type: ignore[method-assign]
    ed = await start_editor(provider_config(fake.url), fake_keys())
    run_id = await ed.run("Make hello greet whoever calls it by name")
    assert await asyncio.to_thread(streaming.wait, WAIT_S), "the planner's stream never started"
    await ed.command("baton.run.cancel", {"runId": run_id})
    notice = await _terminal(ed, run_id)
    assert notice["state"] == "cancelled"
    assert await asyncio.to_thread(fake.disconnected.wait, 10), "the stream was not dropped"
    assert ed.states(run_id)[-2:] == ["planning", "cancelled"]


async def test_plan_run_on_a_local_server_without_tool_support(fake, start_editor):
    """Every role on an openai-compatible server that rejects `tools`: Baton switches to
    the text protocol (fenced JSON calls) after the first refusal and the run completes."""
    fake.reject_tools = True

    def text_call(name: str, arguments: dict[str, Any], before: str = "") -> Reply:
        block = json.dumps({"tool": name, "arguments": arguments})
        return Reply(text=f"{before}\n```json\n{block}\n```\n", input_tokens=50, output_tokens=9)

    fake.push(text_call("classify", {"route": "plan", "reason": "a signature change"}),
              text_call("read_file", {"path": "hello.py"}, "First I read the file."),
              text_call("submit_plan", {"summary": "Greet by name", "steps": ["Add a name parameter"],
                                        "files": ["hello.py"]}),
              text_call("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"}),
              text_call("finish", {"summary": "added a name parameter"}),
              text_call("submit_review", {"verdict": "approve", "findings": []}))
    config = provider_config(fake.url, roles={r: "local" for r in
                                              ("classifier", "planner", "implementer", "reviewer")})
    ed = await start_editor(config, fake_keys())
    run_id = await full_plan_run(ed)
    assert ed.text("hello.py") == EDITED
    bodies = [r.body for r in fake.requests]
    # One refused request with tools, then tools described in the prompt instead.
    assert "tools" in bodies[0] and all("tools" not in b for b in bodies[1:])
    assert len(bodies) == 7
    system = bodies[1]["messages"][0]
    assert system["role"] == "system" and "## classify" in system["content"]
    # The read_file result went back as plain text the model can read.
    planner_second = json.dumps(bodies[3]["messages"])
    assert "Result of tool `read_file`" in planner_second and "def hello():" in planner_second
    shown = await ed.command("baton.run.show", {"runId": run_id})
    assert shown["usage"]["implementer"]["input_tokens"] == 100


async def test_a_refused_key_is_said_once_and_the_key_nowhere(fake, start_editor):
    """The planner's first provider refuses its key (echoing it, as some servers do): the
    run fails over, and the person is told once (a warning naming the provider, the cause
    and who answered instead), in each run's events too; the key appears nowhere."""
    for n in range(2):
        fake.push(Reply(status=401, error_type="authentication_error",
                        error_message=f"invalid x-api-key: {SECRET}"), model=PLANNER_MODEL)
        fake.push(Reply(text=f"It prints hello ({n}).", input_tokens=70, output_tokens=7),
                  model=FLAKY_MODEL)
    config = provider_config(fake.url, roles={"classifier": "local", "planner": ["claude", "gpt"],
                                              "implementer": "gpt", "reviewer": "gpt"})
    env = fake_keys(SECRET)
    ed = await start_editor(config, env)
    runs = []
    for n in range(2):
        run_id = await ed.run("What does hello print?", route="ask")
        assert (await _terminal(ed, run_id))["state"] == "done"
        runs.append(run_id)
    said = ("Provider claude could not be used: the key in $BATON_E2E_ANTHROPIC_KEY was refused "
            "(401). The planner's turns went to gpt instead, billed to that account.")
    warnings = [m.message for m in ed.client.messages if said in m.message]
    assert len(warnings) == 1, [m.message for m in ed.client.messages]  # once, not per run
    assert warnings[0].startswith(f"Baton run {runs[0]}: ")
    shown = [await ed.command("baton.run.show", {"runId": r}) for r in runs]
    for s in shown:  # each run's events say it, and who answered
        assert any(said in line for line in s["events"]), s["events"]
        assert s["providers"] == {"answerer": ["gpt"]}
    await ed.stop()
    everything = json.dumps([[m.message for m in ed.client.messages], ed.notices, shown,
                             [m.message for m in ed.client.log_messages]])
    assert SECRET not in everything and SECRET.encode() not in bytes(ed.stderr)
    for p in (ed.root / ".baton").rglob("*"):
        assert not p.is_file() or SECRET.encode() not in p.read_bytes(), p

    # `baton run` says it too, in its output.
    fake.push(Reply(status=401, error_message=f"invalid x-api-key: {SECRET}"), model=PLANNER_MODEL)
    fake.push(Reply(text="It prints hello."), model=FLAKY_MODEL)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton", "run", "--workspace", str(ed.root), "--route", "ask",
        "--yes", "What does hello print?", env={**os.environ, "BATON_CONFIG": str(ed.config), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, (out + err).decode()
    assert said in " ".join(out.decode().split()), out.decode()
    assert SECRET.encode() not in out + err
