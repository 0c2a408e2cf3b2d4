"""A long-lived process (a stdio MCP server) in the command sandbox of a run, on the run's
shadow: the isolation of `run_command` for something that outlives one agent step.

It gets its own view of the shadow (`<store>/mcp-<name>/`), under the layer commands get:
an overlay kept mounted by overlay_keeper.py under bwrap, a copy under Landlock (and the
opt-in unsandboxed fallback). The shadow is what the server, the run's commands and its
file tools share. The caller holds the shadow's `command_lock` around each use,
`sync()` → the tool call → `fold()`, so a command and a server call of one run never
interleave and each sees what the other folded:

- `sync()` brings the view up to date with the shadow (what the agent wrote since);
- `fold(may_write)` takes what the process changed during the call into the shadow, as a
  command's changes are (reviewed, delivered and revertible like an agent's edit), a
  change outside `may_write` (the grant) being discarded and reported. What it writes
  between calls stays in its view.

The environment is the caller's (environment.child_env); there is no network unless
asked; `stop()` ends the process and everything it started, and so does the daemon's death.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence

from ..errors import ToolRefused
from . import isolation
from .commands import SandboxUnavailable, confined_argv, refusal, stop_tree
from .fold import Fold
from .isolation import Layer
from .nofollow import read_regular_file, read_tree_file
from .shadow import MAX_FILE_BYTES, Shadow
from .views import CopyView, OverlayView

START_TIMEOUT_S = 30.0  # building the view and starting bwrap; the server's own start-up is the caller's
MESSAGE_LIMIT = 16 * 2**20  # bytes of one line the process may send before it is cut off
# File times come from the kernel's coarse clock, up to a tick behind time_ns(): the start
# of a call is read from that clock (Linux; elsewhere the copy view does not need it).
CLOCK_REALTIME_COARSE = 5


class ServiceProcess:
    """Start with `start()`; then `stdin`, `stdout` and `stderr` are the process's pipes."""

    def __init__(self, shadow: Shadow, name: str, argv: Sequence[str], env: dict[str, str], *,
                 network: bool, allow_unsandboxed: bool = False, layer: Layer | None = None,
                 bwrap: str = "bwrap") -> None:
        self.shadow = shadow
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.network = network
        self.allow_unsandboxed = allow_unsandboxed
        self.forced: Layer | None = layer
        self.bwrap = bwrap
        self.layer: Layer = "none"
        self.proc: asyncio.subprocess.Process | None = None
        self.place = f"mcp-{name}"
        self._since = 0
        self._snapshot: dict = {}
        self._overlay: OverlayView | None = None
        self._copy: CopyView | None = None
        self._ctl: asyncio.StreamWriter | None = None
        self._ack: asyncio.StreamReader | None = None
        self._ack_pipe: asyncio.BaseTransport | None = None

    # -- life ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start the process under the strongest layer. Raises SandboxUnavailable when
        there is none and no opt-in, ToolRefused when it cannot be started. Call with the
        shadow's command_lock held: the view is built from the shadow."""
        probe = await asyncio.to_thread(isolation.active, self.bwrap)
        self.layer = self.forced or probe.layer
        if self.layer == "none" and not self.allow_unsandboxed:
            raise SandboxUnavailable(refusal(probe).replace("Commands are", "MCP servers are"))
        self.shadow.store.mkdir(parents=True, exist_ok=True)  # the state home must exist to be hidden
        if self.layer == "bwrap":
            await self._start_overlay()
        else:
            await self._start_copy()

    async def _start_overlay(self) -> None:
        view = self._overlay = OverlayView(self.shadow, self.place)
        root = self.shadow.policy.root
        env = {**self.env, "TMPDIR": "/tmp", "XDG_CACHE_HOME": "/tmp/.cache",
               "npm_config_cache": "/tmp/.npm"}
        exe = shutil.which(self.bwrap) or self.bwrap
        disable_userns = await asyncio.to_thread(isolation.bwrap_disables_userns, exe)
        spec_path = self.shadow.store / f"{self.place}-spec.json"
        while True:
            seccomp_fd = isolation.seccomp_pipe()
            ctl_r, ctl_w = os.pipe()
            ack_r, ack_w = os.pipe()
            try:
                argv = isolation.bwrap_argv(root, self.argv, network=self.network, bwrap=self.bwrap,
                                            seccomp_fd=seccomp_fd, disable_userns=disable_userns,
                                            protected=[root / ".git", root / ".baton"])
                spec_path.write_text(json.dumps(view.spec(argv)))
                self.proc = await _spawn([*isolation.helper_argv("overlay_keeper"), str(spec_path),
                                          str(ctl_r), str(ack_w)], "/", env,
                                         pass_fds=(seccomp_fd, ctl_r, ack_w))
            except BaseException:
                for fd in (ctl_w, ack_r):
                    os.close(fd)
                raise
            finally:
                for fd in (seccomp_fd, ctl_r, ack_w):
                    os.close(fd)
            self._ctl, self._ack, self._ack_pipe = await _pipes(ctl_w, ack_r)
            first = await self._answer(START_TIMEOUT_S)
            if first == "ready":
                return
            await self.stop()
            if "cannot build the workspace view" in first and not view.external:
                view.use_external()  # the upper layer cannot live in this workspace
                continue
            raise ToolRefused(f"cannot start it in the sandbox: {first.removeprefix('error: ')}")

    async def _start_copy(self) -> None:
        view = self._copy = CopyView(self.shadow, f"{self.place}/view")
        await asyncio.get_running_loop().run_in_executor(None, view.prepare)
        tmp = self.shadow.store / self.place / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        env = {**self.env, "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(tmp / ".cache"),
               "npm_config_cache": str(tmp / ".npm")}
        notes: list[str] = []
        argv = confined_argv(self.layer, self.argv, view.root, tmp, self.network, notes,
                             self.shadow.store / self.place)
        self.proc = await _spawn(argv, str(view.root), env)

    async def stop(self) -> None:
        """End the process and everything it started; idempotent."""
        if self._ctl is not None:
            self._ctl.close()  # the keeper ends the server when its channel closes
            self._ctl = None
        if self._ack_pipe is not None:
            self._ack_pipe.close()
            self._ack_pipe = None
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.returncode is None:
            await stop_tree(proc, self.layer != "sandbox-exec")
        # A pipe the reader stopped reading (a message over the limit) keeps the transport
        # open after the exit; asyncio has no public way to close it.
        transport = getattr(proc, "_transport", None)
        if transport is not None:
            transport.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    # -- the view -------------------------------------------------------------------
    async def sync(self) -> None:
        """Bring the view up to date with the shadow, and note the time from which what
        changes in it is the process's doing. Raises ToolRefused."""
        if self._copy is not None:
            self._snapshot = await asyncio.get_running_loop().run_in_executor(None, self._copy.prepare)
            self._since = time.time_ns() - 1_000_000  # only says which skipped files are new
            return
        writes, deletes = await asyncio.to_thread(self._changes)
        if writes or deletes:
            await self._tell(writes, deletes)
        self._since = await _next_tick()

    async def _tell(self, writes: list[tuple[str, bytes]], deletes: list[str]) -> None:
        assert self._ctl is not None
        payload = {"writes": [[rel, base64.b64encode(data).decode()] for rel, data in writes],
                   "deletes": deletes}
        self._ctl.write(json.dumps(payload).encode() + b"\n")
        try:
            await self._ctl.drain()
        except (ConnectionError, OSError):
            raise ToolRefused("the server's sandbox is gone") from None
        answer = await self._answer(START_TIMEOUT_S)
        if answer != "ok":
            raise ToolRefused(f"cannot update the server's view: {answer.removeprefix('error: ')}")

    def _changes(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        """What the overlay must be told so that it shows the shadow, O(files touched)."""
        assert self._overlay is not None
        view, shadow = self._overlay, self.shadow
        spec = view.spec([])
        writes = [(rel, read_tree_file(shadow.store / "files", rel, MAX_FILE_BYTES))
                  for rel, _ in spec["writes"]]
        deletes = list(spec["deletes"])
        for rel in spec["resets"]:  # touched, neither written nor deleted: the live file
            text = shadow.read(rel)
            if text is None:
                deletes.append(rel)
                continue
            data = text.encode("utf-8", "surrogatepass")
            if read_regular_file(view.upper / rel, len(data) + 1) != data:
                writes.append((rel, data))
        return writes, deletes

    async def fold(self, may_write: Callable[[str], bool] | None = None) -> Fold:
        """Fold what the process changed since `sync()` into the shadow."""
        loop = asyncio.get_running_loop()
        if self._copy is not None:
            return await loop.run_in_executor(None, self._copy.fold, self._snapshot, self._since,
                                              may_write)
        assert self._overlay is not None
        view = self._overlay
        return await loop.run_in_executor(None, lambda: view.fold(self._since, may_write, mounted=True))

    async def _answer(self, timeout: float) -> str:
        assert self._ack is not None
        try:
            line = await asyncio.wait_for(self._ack.readline(), timeout)
        except (asyncio.TimeoutError, ValueError):
            return "error: the sandbox helper did not answer"
        return line.decode(errors="replace").strip() or "error: the sandbox helper exited"


async def _next_tick() -> int:
    """The coarse clock's next value: everything changed before (what the daemon just wrote,
    what earlier calls left) has an older ctime, what the process changes from now on does
    not. Waits at most one tick (1–10 ms)."""
    start = time.clock_gettime_ns(CLOCK_REALTIME_COARSE)
    while (now := time.clock_gettime_ns(CLOCK_REALTIME_COARSE)) == start:
        await asyncio.sleep(0.0005)
    return now


async def _spawn(argv: list[str], cwd: str, env: dict[str, str],
                 pass_fds: tuple[int, ...] = ()) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env, start_new_session=True,
        pass_fds=pass_fds, limit=MESSAGE_LIMIT)


async def _pipes(ctl_w: int, ack_r: int
                 ) -> tuple[asyncio.StreamWriter, asyncio.StreamReader, asyncio.BaseTransport]:
    """The keeper's channel as asyncio streams (requests out, answers in)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    ack, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                          os.fdopen(ack_r, "rb", 0))
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), os.fdopen(ctl_w, "wb", 0))
    return asyncio.StreamWriter(transport, protocol, None, loop), reader, ack
