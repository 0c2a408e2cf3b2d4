"""`run_command`: a shell command on a view of the run's shadow, never on the workspace,
under the strongest isolation probed at start (isolation.py), with a time limit, output
capped, and an allow-listed environment (environment.py). Every process the command starts
ends with it: at its exit, at the time limit and when the run is cancelled, the helper
(bwrap's PID namespace, or the reaper supervisor) is told to stop and takes the whole tree
down; its process group is killed only if it does not. Files the command changed are
folded into the shadow (views.py), so they are reviewed, applied and reverted like any
edit the agent made with its file tools.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import ToolRefused
from . import isolation
from .environment import child_env
from .isolation import Layer
from .shadow import Shadow
from .fold import Fold
from .views import CopyView, OverlayView

log = logging.getLogger(__name__)

STOP_GRACE_S = 2.0  # how long the helper may take to end the command's tree when told to


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


def refusal(probe: isolation.ProbeResult) -> str:
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
                      may_write: Callable[[str], bool] | None = None,
                      env_allow: Sequence[str] = (),
                      provider_keys: Sequence[str | None] = ()) -> CommandResult:
    """Run `command` with /bin/sh on the shadow's view. `layer` overrides the probe (tests);
    raises SandboxUnavailable when there is no isolation and no opt-in. With `may_write`
    (e.g. `grants.allows`), files the command changed outside it are not folded into the
    shadow but discarded from the view and listed in `denied_paths`. `env_allow` is
    `[permissions] env`, `provider_keys` every provider's `key_env()` (never passed on).
    Cancelling the awaiting task ends the command and everything it started."""
    probe = await asyncio.to_thread(isolation.active, bwrap)  # cached; ~0.3 s the first time
    chosen: Layer = layer or probe.layer
    if chosen == "none" and not allow_unsandboxed:
        raise SandboxUnavailable(refusal(probe))
    if Path(workspace).resolve() != shadow.policy.root:
        raise ToolRefused("the shadow belongs to another workspace")
    async with shadow.command_lock:
        env = child_env(allow=env_allow, provider_keys=provider_keys)
        return await _run_locked(command, shadow, timeout_s, network, output_cap, chosen,
                                 bwrap, may_write, env)


async def _run_locked(command: str, shadow: Shadow, timeout_s: float, network: bool,
                      output_cap: int, chosen: Layer, bwrap: str, may_write: Callable[[str], bool] | None,
                      env: dict[str, str]) -> CommandResult:
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
            full = confined_argv(chosen, shell, cview.root, tmp, network, notes, shadow.store)
            if chosen == "sandbox-exec":
                notes.append("not guaranteed here: " + "; ".join(
                    f"{k} ({v})" for k, v in isolation.MISSING[chosen].items()))
            started_ns = time.time_ns() - 1_000_000  # coarse mtime granularity on some filesystems
            run = await _spawn(full, str(cview.root), env, timeout_s, output_cap,
                               supervised=chosen != "sandbox-exec")
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
    shadow.store.mkdir(parents=True, exist_ok=True)  # the state home must exist to be hidden
    # The root is read-only: caches go to the private /tmp.
    env.update(TMPDIR="/tmp", XDG_CACHE_HOME="/tmp/.cache", npm_config_cache="/tmp/.npm")
    root = shadow.policy.root
    exe = shutil.which(bwrap) or bwrap
    disable_userns = await asyncio.to_thread(isolation.bwrap_disables_userns, exe)  # cached
    spec_path = shadow.store / "overlay-spec.json"
    while True:
        fd = isolation.seccomp_pipe()
        try:
            argv = isolation.bwrap_argv(root, shell, network=network, bwrap=bwrap, seccomp_fd=fd,
                                        protected=[root / ".git", root / ".baton"],
                                        disable_userns=disable_userns)
            spec_path.write_text(json.dumps(view.spec(argv)))
            started_ns = time.time_ns() - 1_000_000
            run = await _spawn([*isolation.helper_argv("overlay_exec"), str(spec_path)], "/", env,
                               timeout_s, cap, supervised=True, pass_fds=(fd,))
        finally:
            os.close(fd)
        if run.code == 125 and "cannot build the workspace view" in run.err and not view.external:
            log.warning("the overlay's upper layer cannot live in the workspace (%s); "
                        "using the temp dir", run.err.strip().splitlines()[-1])
            view.use_external()
            continue
        return run, started_ns


def confined_argv(layer: Layer, shell: list[str], view: Path, tmp: Path, network: bool,
                  notes: list[str], store: Path) -> list[str]:
    """The argv that runs `shell` in a copy view under `layer` (not bwrap)."""
    if layer == "landlock":
        full = [*isolation.helper_argv("landlock_exec"), "--write", str(view), "--write", str(tmp),
                "--write-file", "/dev/null"]
        for path, _ in isolation.secret_masks():
            full += ["--hide", path]
        if not network:
            full.append("--no-network")
        return [*full, "--", *shell]
    if layer == "sandbox-exec":
        profile = store / "sandbox.sb"
        profile.write_text(isolation.seatbelt_profile([str(view), str(tmp)], network))
        return ["sandbox-exec", "-f", str(profile), *shell]
    notes.append("ran WITHOUT isolation ([permissions] allow_unsandboxed_commands = true)")
    if sys.platform.startswith("linux"):
        return [*isolation.helper_argv("reaper"), "--", *shell]  # still ends what it starts
    return shell


async def _spawn(argv: list[str], cwd: str, env: dict[str, str], timeout_s: float,
                 cap: int, *, supervised: bool, pass_fds: tuple[int, ...] = ()) -> _Run:
    """Run in a new session until it exits, the time limit passes or the awaiting task is
    cancelled; in the last two cases stop it (`_stop`) before returning or re-raising.
    `supervised`: the process ends the command's whole tree when sent SIGTERM."""
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env, start_new_session=True,
        pass_fds=pass_fds)
    out, err = _Capped(cap), _Capped(cap)
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    readers = asyncio.gather(_drain(proc.stdout, out), _drain(proc.stderr, err))
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), timeout_s)
    except asyncio.TimeoutError:
        timed_out = True
    except BaseException:  # cancelled: the run was cancelled, or the daemon is stopping
        readers.cancel()
        await stop_tree(proc, supervised)
        raise
    if proc.returncode is None:
        await stop_tree(proc, supervised)
    try:
        # Everything the command started is gone, so the pipes close; bounded all the same.
        await asyncio.wait_for(readers, 2.0)
    except asyncio.TimeoutError:
        pass
    return _Run(code=proc.returncode, out=out.text(), err=err.text(), timed_out=timed_out,
                duration=time.monotonic() - t0)


async def stop_tree(proc: asyncio.subprocess.Process, supervised: bool) -> None:
    """Await `_stop`, which goes on to the end even if this task is cancelled again."""
    await asyncio.shield(asyncio.ensure_future(_stop(proc, supervised)))


async def _stop(proc: asyncio.subprocess.Process, supervised: bool) -> None:
    """SIGTERM to a supervising helper makes it kill every process of the command and exit;
    if it has not within STOP_GRACE_S (or there is no supervisor), kill its process group."""
    if supervised:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE_S)
            return
        except asyncio.TimeoutError:
            log.warning("the command's supervisor did not stop in %ss; killing its group",
                        STOP_GRACE_S)
    _kill_group(proc.pid)
    await proc.wait()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
