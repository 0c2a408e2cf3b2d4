"""The VS Code extension, checked two ways.

(a) Strict TypeScript compile and lint of clients/vscode, whenever Node is there.
(b) End to end in a real VS Code: code-server 4.139 (VS Code 1.139) started on 127.0.0.1 with
    `--auth none`, the extension's .vsix installed with `--install-extension`, driven by
    playwright-core in Debian's Chromium (tests/e2e/vscode/drive.mjs), one fresh code-server and
    workspace per scenario:
    - accept-revert: run a task, the plan beside the code accepted with its CodeLens, a permission
      for a write outside the plan (status item, modal, never denied while unanswered past the
      server's client timeout, brought back from the status item, the diff, Allow Once), the
      completion notification, the unopened file saved by itself, the file on disk after saving,
      the review finding in Problems, Show Runs (no destructive action first), revert;
    - interactive: a selection sent with Run Task, a question with options in a quick pick, a
      free-text question in an input box, steer, Answer Question, Follow Up, a selection code action;
    - review: `[edits] mode = "review"`, one Apply Changes in changes.diff applies what it shows.
    Set BATON_E2E_SHOTS=DIR to keep a screenshot of each step (NN-scenario-step.png) and of a
    failure (it replaces BATON_E2E_ARTIFACTS); BATON_VSCODE_SERVER=PATH to drive another `baton`
    than .venv/bin/baton.

`scripts/setup-vscode` installs everything (pinned, idempotent). Outside CI a missing piece skips
with the reason and the fix; under CI=true it fails, so CI cannot go green without running it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "clients" / "vscode"
DRIVER = ROOT / "tests" / "e2e" / "vscode"
TOOLS = ROOT / ".tools"
SETUP = ROOT / "scripts" / "setup-vscode"
EXAMPLE = ROOT / "examples" / "hello"
IN_CI = os.environ.get("CI") == "true"

pytestmark = pytest.mark.editor

TASK = "Greet the person by name"
# Contains TASK: its entry comes first in SCRIPT, so only this task writes outside its plan.
PERMISSION_TASK = "Greet the person by name and note the greeting in greeting.txt"
NOTE = {"path": "greeting.txt", "content": "Hello, {name}! is the greeting now.\n"}
QUESTIONS_TASK = "Ask me before greeting anyone"
FOLLOW_UP_TASK = "Explain what changed in hello()"
SELECTION_QUESTION = "What does GREETING hold?"
REVIEW_TASK = "Greet by name, with the changes held for review"
CHOICE = {"question": "Which greeting should hello() use?", "options": ["Howdy", "Good day"]}
FREE_TEXT = {"question": "Whose name should be the default?"}
# The last edit lands after "é" on its line: VS Code speaks utf-16 positions, so a column counted in
# another unit would put it one character off.
EDITS = [("def hello():", 'def hello(name="world"):'),
         ('return f"{GREETING}, world!"', 'return f"{GREETING}, {name}!"'),
         ("the accent is on purpose", "the accent stays on purpose")]


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


FINDING = "hello() could use a docstring"


def scripted_run(match: str, *, planner_asks: dict[str, object] | None = None,
                 implementer_asks: dict[str, object] | None = None,
                 findings: list[dict[str, object]] | None = None,
                 outside_plan: dict[str, str] | None = None) -> dict[str, object]:
    """One entry of the scripted provider's `runs` (PROTOCOL §6), chosen by `match` in the task.
    `outside_plan`: a file the implementer also writes, which the plan does not grant (it asks)."""
    extra = [call("write_file", **outside_plan)] if outside_plan else []
    planner = [call("ask_user", **planner_asks)] if planner_asks else []
    implementer = [call("ask_user", **implementer_asks)] if implementer_asks else []
    return {
        "match": match,
        "classifier": [call("classify", route="plan", reason="signature change")],
        "planner": [*planner, call("submit_plan", summary="Greet by name",
                                   steps=["Give hello() a name parameter defaulting to world",
                                          "Use it in the greeting"],
                                   files=["hello.py"])],
        "implementer": [*implementer,
                        *(call("edit_file", path="hello.py", old=old, new=new) for old, new in EDITS),
                        *extra,
                        call("finish", summary="hello() greets by name")],
        "reviewer": [call("submit_review", verdict="approve", findings=findings or [])],
    }


SCRIPT = {"runs": [
    scripted_run(PERMISSION_TASK, outside_plan=NOTE,
                 findings=[{"path": "hello.py", "line": 6, "message": FINDING, "severity": "warning"}]),
    scripted_run(TASK, findings=[{"path": "hello.py", "line": 6, "message": FINDING, "severity": "warning"}]),
    scripted_run(REVIEW_TASK),
    scripted_run(QUESTIONS_TASK, planner_asks=CHOICE, implementer_asks=FREE_TEXT),
    {"match": FOLLOW_UP_TASK,
     "classifier": [call("classify", route="ask", reason="a question about the last run")],
     "planner": [{"text": "hello() now takes a name and greets it."}]},
    {"match": SELECTION_QUESTION,
     "classifier": [call("classify", route="ask", reason="a question about the selection")],
     "planner": [{"text": "The greeting word, with an accent."}]},
]}
CONFIG = '[providers.offline]\nkind = "scripted"\nscript = "script.json"\n'
# Seconds: one scenario takes ~30 s here; the bound only stops a hung browser from hanging the suite.
DRIVER_TIMEOUT = 240


def missing(reason: str) -> None:
    """Skip outside CI; fail under CI=true, where the VS Code test must run."""
    fix = "run scripts/setup-vscode"
    if IN_CI:
        pytest.fail(f"{reason} (CI=true requires the VS Code test; {fix})")
    pytest.skip(f"{reason}; {fix}")


def tool_env() -> dict[str, str]:
    """The environment with .tools/bin (Node 24, code-server) first and no provider keys."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PATH"] = f"{TOOLS / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def node() -> str | None:
    local = TOOLS / "bin" / "node"
    return str(local) if local.exists() else shutil.which("node")


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def require_ok(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


@pytest.fixture(scope="module")
def extension_deps() -> None:
    """The extension's npm dependencies, from its lockfile (a no-op when already installed)."""
    if node() is None or shutil.which("npm") is None:
        missing("Node.js and npm are not installed")
    proc = run([str(SETUP), "--extension-only"], ROOT, tool_env())
    require_ok(proc, "scripts/setup-vscode --extension-only")


def test_extension_compiles_strictly(extension_deps: None) -> None:
    proc = run(["npm", "run", "-s", "typecheck"], EXTENSION, tool_env())
    require_ok(proc, "tsc --noEmit (strict)")


def test_extension_lints_clean(extension_deps: None) -> None:
    proc = run(["npm", "run", "-s", "lint"], EXTENSION, tool_env())
    require_ok(proc, "eslint (typescript-eslint strict, type-checked)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"code-server exited with {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)  # polling a starting server, bounded by the deadline
    raise AssertionError(f"code-server did not answer {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def vsix(extension_deps: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension bundled and packaged exactly as a person would install it (`npm run package`,
    written to a temporary folder so concurrent test runs do not share the file)."""
    path = tmp_path_factory.mktemp("vsix") / "baton.vsix"
    env = tool_env()
    require_ok(run(["node", "esbuild.mjs", "--production"], EXTENSION, env), "esbuild")
    proc = run(["npx", "--no-install", "vsce", "package", "--no-dependencies", "--allow-missing-repository",
                "--out", str(path)], EXTENSION, env)
    require_ok(proc, "vsce package")
    assert path.is_file()
    return path


def prerequisites() -> tuple[Path, Path, Path]:
    code_server = TOOLS / "bin" / "code-server"
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    # BATON_VSCODE_SERVER: drive another baton executable (an installed one, say) than the repo's venv.
    baton = Path(os.environ.get("BATON_VSCODE_SERVER") or ROOT / ".venv" / "bin" / "baton")
    if not code_server.exists():
        missing(f"code-server is not installed in {TOOLS}")
    if not Path(browser).exists():
        missing("Debian's chromium is not installed")
    if not (DRIVER / "node_modules" / "playwright-core").is_dir():
        missing("playwright-core is not installed in tests/e2e/vscode")
    if not baton.exists():
        found = shutil.which("baton")
        if found is None:
            missing("the baton executable is not installed (pip install -e . in .venv)")
        baton = Path(str(found))
    return code_server, Path(browser), baton


def shots_dir() -> str:
    """$BATON_E2E_SHOTS: where the driver keeps a screenshot of each step (created), or "" for none."""
    chosen = os.environ.get("BATON_E2E_SHOTS", "")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
    return chosen


def trust_workspace(baton: Path, workspace: Path, env: dict[str, str]) -> None:
    """`baton trust`: the workspace's .baton/config.toml applies whole (PROTOCOL §2)."""
    require_ok(run([str(baton), "trust", "--workspace", str(workspace)], workspace, env, timeout=60),
               "baton trust")


@pytest.fixture
def code_server_session(tmp_path: Path, vsix: Path) -> Iterator[dict[str, object]]:
    code_server, browser, baton = prerequisites()
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLE, workspace, ignore=shutil.ignore_patterns(".baton"))
    (workspace / ".baton").mkdir()
    (workspace / ".baton" / "config.toml").write_text(CONFIG, encoding="utf-8")
    (workspace / ".baton" / "script.json").write_text(json.dumps(SCRIPT, indent=2), encoding="utf-8")

    user_data, extensions = tmp_path / "user-data", tmp_path / "extensions"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(json.dumps({
        "baton.serverPath": str(baton),
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "chat.disableAIFeatures": True,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "workbench.tips.enabled": False,
        "files.autoSave": "off",
    }, indent=2), encoding="utf-8")
    # baton.serverPath is machine-scoped: in code-server (a remote window) it is read from the
    # machine settings, not the browser-side user settings.
    (user_data / "Machine").mkdir()
    (user_data / "Machine" / "settings.json").write_text(
        json.dumps({"baton.serverPath": str(baton)}, indent=2), encoding="utf-8")
    env = tool_env()
    # Keeps code-server's config.yaml and Baton's user config (and trust store) out of the real home.
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    # The workspace's own config names the scripted provider: trusted, as the person would.
    trust_workspace(baton, workspace, env)
    common = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    proc = run([str(code_server), *common, "--install-extension", str(vsix)], tmp_path, env, timeout=120)
    require_ok(proc, "code-server --install-extension")

    port = free_port()
    log_path = tmp_path / "code-server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(code_server), "--bind-addr", f"127.0.0.1:{port}", "--auth", "none", *common,
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", str(workspace)],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", server, timeout=60)
        yield {"url": f"http://127.0.0.1:{port}", "workspace": workspace, "chromium": browser,
               "log": log_path, "env": env, "user_data": user_data, "artifacts": tmp_path, "shots": shots_dir(),
               "baton": baton}
    finally:
        # code-server forks its extension host and the extension starts `baton serve`: end the group.
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        except ProcessLookupError:
            pass


def baton_log(session: dict[str, object]) -> str:
    """The extension's output channel, which VS Code writes under the user-data logs folder."""
    logs = sorted(Path(str(session["user_data"])).glob("logs/*/exthost*/baton.baton-vscode/Baton.log"))
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs) or "(no Baton log written)"


def drive(session: dict[str, object], kind: str, task: str, **extra: object) -> tuple[str, str]:
    """Runs one driver scenario against the session's code-server; returns (original, expected)."""
    workspace = Path(str(session["workspace"]))
    original = (workspace / "hello.py").read_text(encoding="utf-8")
    expected = original
    for old, new in EDITS:
        expected = expected.replace(old, new)
    assert expected != original
    scenario = {
        "kind": kind, "url": session["url"], "workspace": str(workspace), "file": "hello.py",
        "task": task, "planIncludes": "Greet by name", "expected": expected, "original": original,
        "chromium": str(session["chromium"]), "artifacts": str(session["artifacts"]),
        "shots": session["shots"],
        "timeoutMs": 30_000, **extra,
    }
    node_bin = node()
    assert node_bin is not None
    env = dict(session["env"])  # type: ignore[call-overload]
    started = time.monotonic()
    proc = run([node_bin, str(DRIVER / "drive.mjs"), json.dumps(scenario)], DRIVER, env, timeout=DRIVER_TIMEOUT)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        log_tail = Path(str(session["log"])).read_text(encoding="utf-8", errors="replace")[-3000:]
        pytest.fail(f"VS Code scenario {kind} failed after {elapsed:.1f} s:\n{proc.stderr[-6000:]}\n"
                    f"--- Baton output channel (extension and server log) ---\n"
                    f"{baton_log(session)[-5000:]}\n--- code-server log ---\n{log_tail}")
    print(f"VS Code scenario {kind} passed in {elapsed:.1f} s")
    return original, expected


def transcripts(workspace: Path) -> dict[str, list[dict[str, Any]]]:
    """Every run's transcript.jsonl events, by run id."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(workspace.glob(".baton/runs/*/transcript.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        out[path.parent.name] = [json.loads(line) for line in lines if line.strip()]
    return out


def append_config(session: dict[str, object], text: str) -> None:
    """Adds to the workspace's .baton/config.toml and trusts it anew (a changed file is untrusted,
    and its scripted provider would be ignored)."""
    workspace = Path(str(session["workspace"]))
    with (workspace / ".baton" / "config.toml").open("a", encoding="utf-8") as config:
        config.write(text)
    env = dict(session["env"])  # type: ignore[call-overload]
    trust_workspace(Path(str(session["baton"])), workspace, env)


def test_run_accept_revert_in_code_server(code_server_session: dict[str, object]) -> None:
    """Issue 19 as a person meets it: the permission waits in front of them and is never denied by
    itself (the server's client timeout, 5 s here, is long past when they answer; not lower: it
    also bounds applyEdit on a loaded machine), and the run's end is a notification with its
    summary."""
    append_config(code_server_session, "\n[limits]\nclient_request_timeout_s = 5\n")
    original, _ = drive(code_server_session, "accept-revert", PERMISSION_TASK, finding=FINDING,
                        permission={"file": NOTE["path"], "content": NOTE["content"].strip(), "waitMs": 8_000},
                        summaryIncludes=["hello() greets by name", "2 files changed", "review: approved",
                                         "1 finding"])
    workspace = Path(str(code_server_session["workspace"]))
    assert (workspace / "hello.py").read_text(encoding="utf-8") == original
    (events,) = transcripts(workspace).values()
    # One answer, the person's: nothing was denied while the prompt waited.
    assert [(e["subject"], e["answer"]) for e in events if e["kind"] == "permission"] == [
        (NOTE["path"], "Allow once")]


def test_person_in_the_loop_in_code_server(code_server_session: dict[str, object]) -> None:
    """Issue 10's client side: questions (message box, input box), steer, answer, follow-up; and a
    selection code action, for which the extension prompts for the question."""
    choice = {"question": CHOICE["question"], "option": "Good day"}
    free_text = {"question": FREE_TEXT["question"], "answer": "Ada Lovelace"}
    steer = "Keep the default name short"
    _, expected = drive(code_server_session, "interactive", QUESTIONS_TASK, choice=choice, freeText=free_text,
                        steer=steer, followUp=FOLLOW_UP_TASK, selectLines=3, selectionQuestion=SELECTION_QUESTION)
    workspace = Path(str(code_server_session["workspace"]))
    assert (workspace / "hello.py").read_text(encoding="utf-8") == expected
    runs = transcripts(workspace)
    created = {run_id: next(e for e in events if e["kind"] == "created") for run_id, events in runs.items()}
    parent = next(run_id for run_id, c in created.items() if c["task"] == QUESTIONS_TASK)
    child = next(run_id for run_id, c in created.items() if c["task"] == FOLLOW_UP_TASK)
    assert [e["answer"] for e in runs[parent] if e["kind"] == "answer"] == ["Good day", "Ada Lovelace"]
    assert [e["message"] for e in runs[parent] if e["kind"] == "steer"] == [steer]
    assert created[child]["parent_run_id"] == parent
    # Run Task sent the selection: the first lines of hello.py, as LSP positions.
    assert created[parent]["uri"] == (workspace / "hello.py").as_uri()
    assert created[parent]["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}}
    asked = next(c for c in created.values() if c["task"] == SELECTION_QUESTION)
    assert asked["route"] == "ask"
    assert asked["uri"] == (workspace / "hello.py").as_uri()
    assert "GREETING" in (asked.get("selection") or "")  # the selected lines went along as context


def test_review_mode_applies_what_it_shows(code_server_session: dict[str, object]) -> None:
    """`[edits] mode = "review"`: nothing lands until Apply Changes, which applies what changes.diff
    shows at once (no Refactor Preview with every edit unticked, issue 19)."""
    append_config(code_server_session, '\n[edits]\nmode = "review"\n')
    workspace = Path(str(code_server_session["workspace"]))
    _, expected = drive(code_server_session, "review", REVIEW_TASK)
    assert (workspace / "hello.py").read_text(encoding="utf-8") == expected


def test_baton_view_in_code_server(code_server_session: dict[str, object]) -> None:
    """Issue 19's one place for Baton: the view lists the run with its state, what waits (the plan, then
    a permission) with its inline action, then the files it changed and its finding; Show Runs
    reveals the run there; the palette offers only what fits. A window opened later, whose server
    starts only once baton.serverPath is fixed, lists the run by itself, and its Show Changes says
    the run began before the window rather than diffing against text it never saw."""
    drive(code_server_session, "tree", PERMISSION_TASK, finding=FINDING, permissionFile=NOTE["path"],
          serverPath=str(code_server_session["baton"]))
    (events,) = transcripts(Path(str(code_server_session["workspace"]))).values()
    # The inline actions were the answers: the plan accepted, the write allowed once.
    assert "plan_accepted" in [e["kind"] for e in events]
    assert [e["answer"] for e in events if e["kind"] == "permission"] == ["Allow once"]
