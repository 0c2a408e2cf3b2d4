"""`run_command`: a shell command on a view of the run's shadow, never on the workspace,
under the strongest isolation probed at start (isolation.py), with a time limit enforced by
killing the whole process group, output capped, and an environment without credentials.
Files the command changed are folded into the shadow (views.py), so they are reviewed,
applied and reverted like any edit the agent made with its file tools.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import signal
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import ToolRefused
from . import isolation
from .isolation import Layer
from .shadow import Shadow
from .fold import Fold
from .views import CopyView, OverlayView

log = logging.getLogger(__name__)

SECRET_NAME = re.compile(
    r"(API_?KEY|TOKEN|SECRET|PASSW(OR)?D|CREDENTIAL|PRIVATE_?KEY|AUTH|COOKIE|SESSION)", re.I)
SECRET_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "GCP_", "GCLOUD_", "CLOUDSDK_", "GH_", "GITHUB_",
                   "GITLAB_", "ANTHROPIC_", "OPENAI_", "HF_", "HUGGING", "NPM_CONFIG_", "DOCKER_",
                   "KUBE", "VAULT_", "BATON_", "SSH_", "GPG_", "TWINE_", "PIP_INDEX", "PIP_EXTRA",
                   "UV_INDEX", "DATABASE_URL", "PGPASS")
SECRET_EXACT = {"KUBECONFIG", "NETRC", "DBUS_SESSION_BUS_ADDRESS", "XAUTHORITY"}


class CommandResult(BaseModel):
    exit_code: int | None  # None: killed before it exited (timeout)
    stdout: str
    stderr: str
    timed_out: bool = False
    layer: Layer
    changed_paths: list[str] = Field(default_factory=list)  # folded into the shadow
    skipped_paths: list[str] = Field(default_factory=list)  # "path: why it stayed in the view"
    denied_paths: list[str] = Field(default_factory=list)  # outside the write grant, discarded
    duration_s: float = 0.0
    note: str = ""  # what the isolation does not cover, or what the view cost


class SandboxUnavailable(ToolRefused):
    """No isolation here and no opt-in: the message says what is missing and the fix."""


def scrubbed_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without API keys, tokens, cloud credentials and agent sockets."""
    env = dict(os.environ if base is None else base)
    return {k: v for k, v in env.items()
            if not (SECRET_NAME.search(k) or k.upper().startswith(SECRET_PREFIXES)
                    or k.upper() in SECRET_EXACT)}


class _Capped:
    """Keeps the head and the tail of a stream (a failing test's summary is at the end)."""

    def __init__(self, cap: int) -> None:
        self.cap = max(cap, 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.cap // 2:
                del self.tail[:len(self.tail) - self.cap // 2]

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if self.total <= self.cap:
            return head + self.tail.decode("utf-8", "replace")
        elided = self.total - len(self.head) - len(self.tail)
        return f"{head}\n[... {elided} bytes elided ...]\n{self.tail.decode('utf-8', 'replace')}"


async def _drain(stream: asyncio.StreamReader, sink: _Capped) -> None:
    while chunk := await stream.read(65536):
        sink.add(chunk)


def _refusal(probe: isolation.ProbeResult) -> str:
    why = "; ".join(f"{k}: {v}" for k, v in probe.reasons.items())
    fix = probe.fix.split(". Until then")[0] or "install bubblewrap (`apt-get install bubblewrap`)"
    return ("Commands are refused: no OS isolation is available on this machine "
            f"({why}). Fix: {fix}. Or, to run commands with no isolation at all in this "
            "workspace, opt in explicitly with `[permissions] allow_unsandboxed_commands = true` "
            "in .baton/config.toml.")


class _Run(BaseModel):
    code: int | None
    out: str
    err: str
    timed_out: bool
    duration: float


async def run_command(command: str, *, shadow: Shadow, workspace: Path, timeout_s: float,
                      network: bool, allow_unsandboxed: bool, output_cap: int = 64_000,
                      layer: Layer | None = None, bwrap: str = "bwrap",
                      may_write: Callable[[str], bool] | None = None) -> CommandResult:
    """Run `command` with /bin/sh on the shadow's view. `layer` overrides the probe (tests);
    raises SandboxUnavailable when there is no isolation and no opt-in. With `may_write`
    (e.g. `grants.allows`), files the command changed outside it are not folded into the
    shadow but discarded from the view and listed in `denied_paths`."""
    probe = await asyncio.to_thread(isolation.active, bwrap)  # cached; ~0.3 s the first time
    chosen: Layer = layer or probe.layer
    if chosen == "none" and not allow_unsandboxed:
        raise SandboxUnavailable(_refusal(probe))
    if Path(workspace).resolve() != shadow.policy.root:
        raise ToolRefused("the shadow belongs to another workspace")
    async with shadow.command_lock:
        return await _run_locked(command, shadow, timeout_s, network, output_cap, chosen,
                                 probe, bwrap, may_write)


async def _run_locked(command: str, shadow: Shadow, timeout_s: float, network: bool,
                      output_cap: int, chosen: Layer, probe: isolation.ProbeResult, bwrap: str,
                      may_write: Callable[[str], bool] | None) -> CommandResult:
    env = scrubbed_env()
    shell = ["/bin/sh", "-c", command]
    loop = asyncio.get_running_loop()
    if chosen == "bwrap":
        view = OverlayView(shadow)
        run, started_ns = await _on_overlay(view, shell, env, network, bwrap, timeout_s, output_cap)
        notes: list[str] = []
        fold_view = functools.partial(view.fold, started_ns, may_write)
    else:
        cview = CopyView(shadow)
        snapshot = await loop.run_in_executor(None, cview.prepare)
        notes = [f"copied {cview.copied_files} workspace files into the command view"] \
            if cview.copied_files else []
        tmp = shadow.store / "cmdtmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            env.update(TMPDIR=str(tmp), XDG_CACHE_HOME=str(tmp / ".cache"),
                       npm_config_cache=str(tmp / ".npm"))
            full = _confined(chosen, shell, cview.root, tmp, network, probe, notes, shadow.store)
            started_ns = time.time_ns() - 1_000_000  # coarse mtime granularity on some filesystems
            run = await _spawn(full, str(cview.root), env, timeout_s, output_cap)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        fold_view = functools.partial(cview.fold, snapshot, started_ns, may_write)
    if run.code == 125 and "baton sandbox:" in run.err:
        return CommandResult(exit_code=125, stdout=run.out, stderr=run.err, layer=chosen,
                             duration_s=run.duration, note="the sandbox could not be set up")
    fold: Fold = await loop.run_in_executor(None, fold_view)
    return CommandResult(
        exit_code=None if run.timed_out else run.code, stdout=run.out, stderr=run.err,
        timed_out=run.timed_out, layer=chosen, changed_paths=sorted(fold.changed),
        skipped_paths=fold.skipped, denied_paths=sorted(set(fold.denied)),
        duration_s=round(run.duration, 3), note="; ".join(notes))


async def _on_overlay(view: OverlayView, shell: list[str], env: dict[str, str], network: bool,
                      bwrap: str, timeout_s: float, cap: int) -> tuple[_Run, int]:
    shadow = view.shadow
    shadow.store.mkdir(parents=True, exist_ok=True)  # `.baton/` must exist to be hidden
    # The root is read-only: caches go to the private /tmp.
    env.update(TMPDIR="/tmp", XDG_CACHE_HOME="/tmp/.cache", npm_config_cache="/tmp/.npm")
    root = shadow.policy.root
    argv = isolation.bwrap_argv(root, shell, network=network, bwrap=bwrap,
                                protected=[root / ".git", root / ".baton"])
    spec_path = shadow.store / "overlay-spec.json"
    while True:
        spec_path.write_text(json.dumps(view.spec(argv)))
        started_ns = time.time_ns() - 1_000_000
        run = await _spawn([*isolation.helper_argv("overlay_exec"), str(spec_path)], "/", env,
                           timeout_s, cap)
        if run.code == 125 and "cannot build the workspace view" in run.err and not view.external:
            log.warning("the overlay's upper layer cannot live in the workspace (%s); "
                        "using the temp dir", run.err.strip().splitlines()[-1])
            view.use_external()
            continue
        return run, started_ns


def _confined(layer: Layer, shell: list[str], view: Path, tmp: Path, network: bool,
              probe: isolation.ProbeResult, notes: list[str], store: Path) -> list[str]:
    """The argv that runs `shell` in a copy view under `layer` (not bwrap)."""
    if layer == "landlock":
        full = [*isolation.helper_argv("landlock_exec"), "--write", str(view), "--write", str(tmp),
                "--write-file", "/dev/null"]
        if not network:
            full.append("--no-network")
            notes.append("Landlock denies TCP only; UDP stays open" if probe.landlock_abi >= 4
                         else "this kernel's Landlock cannot restrict the network")
        return [*full, "--", *shell]
    if layer == "sandbox-exec":
        profile = store / "sandbox.sb"
        profile.write_text(isolation.seatbelt_profile([str(view), str(tmp)], network))
        return ["sandbox-exec", "-f", str(profile), *shell]
    notes.append("ran WITHOUT isolation ([permissions] allow_unsandboxed_commands = true)")
    return shell


async def _spawn(argv: list[str], cwd: str, env: dict[str, str], timeout_s: float,
                 cap: int) -> _Run:
    """Run in a new session; on timeout kill the whole process group."""
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
    out, err = _Capped(cap), _Capped(cap)
    readers = asyncio.gather(_drain(proc.stdout, out), _drain(proc.stderr, err))  # type: ignore[arg-type]
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), timeout_s)
    except asyncio.TimeoutError:
        timed_out = True
    finally:
        if proc.returncode is None or timed_out:
            _kill_group(proc.pid)
        await proc.wait()
    try:
        # A daemonised grandchild may hold the pipes; do not wait on it forever.
        await asyncio.wait_for(readers, 2.0)
    except asyncio.TimeoutError:
        readers.cancel()
    return _Run(code=proc.returncode, out=out.text(), err=err.text(), timed_out=timed_out,
                duration=time.monotonic() - t0)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
