"""A minimal LSP client over stdio, written for measuring: raw JSON-RPC framing, responses
timestamped by the reader the moment they are parsed, and an editor's behaviour where the
benchmarks need one (open buffers, `workspace/applyEdit` applied and reported back as
`didChange`, `baton/runChanged` recorded). The same client drives Baton and the bare
pygls server, so what it costs is the same on both sides of every ratio.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Handler = Callable[[Any], Awaitable[Any] | Any]


class ServerError(RuntimeError):
    pass


def _offset(text: str, pos: dict[str, int]) -> int:
    """Offset of an LSP position in utf-16 units (the client offers only utf-16)."""
    start = 0
    for _ in range(pos["line"]):
        nl = text.find("\n", start)
        if nl < 0:
            return len(text)
        start = nl + 1
    line_end = text.find("\n", start)
    line = text[start:line_end if line_end >= 0 else len(text)]
    units, i = pos["character"], 0
    while units > 0 and i < len(line):
        units -= 2 if ord(line[i]) > 0xFFFF else 1
        i += 1
    return start + i


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply TextEdits that all refer to the original text (LSP semantics)."""
    spans = sorted(((_offset(text, e["range"]["start"]), _offset(text, e["range"]["end"]),
                     e["newText"]) for e in edits), reverse=True)
    for a, b, new in spans:
        text = text[:a] + new + text[b:]
    return text


class LspClient:
    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.argv = argv
        # The bare server is this package's module: importable from any working directory.
        repo = str(Path(__file__).resolve().parents[1])
        path = os.environ.get("PYTHONPATH")
        self.env = {**os.environ, "PYTHONPATH": repo + (os.pathsep + path if path else ""),
                    **(env or {})}
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[tuple[float, Any]]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        self.handlers: dict[str, Handler] = {}  # server→client requests
        self.listeners: dict[str, Handler] = {}  # server→client notifications
        self.buffers: dict[str, tuple[str, int]] = {}  # uri → (text, version)
        self.applied_at: list[tuple[float, float, dict[str, Any]]] = []  # (perf, wall, params)
        self.spawned_at = 0.0
        self._stderr = tempfile.TemporaryFile()
        self.handlers["workspace/applyEdit"] = self._apply_edit
        self.handlers["window/workDoneProgress/create"] = lambda p: None
        self.handlers["window/showDocument"] = lambda p: {"success": True}
        self.handlers["window/showMessageRequest"] = lambda p: None

    # -- process ----------------------------------------------------------------------
    async def spawn(self) -> None:
        self.spawned_at = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr, env=self.env, cwd=self.cwd, limit=1 << 24)
        self._reader_task = asyncio.get_running_loop().create_task(self._read())

    async def initialize(self, root: Path, options: dict[str, Any] | None = None) -> float:
        """initialize + initialized; returns seconds from spawn to the initialize answer."""
        uri = root.as_uri()
        caps = {"window": {"workDoneProgress": True, "showDocument": {"support": True}},
                "workspace": {"applyEdit": True, "workspaceEdit": {
                    "documentChanges": True, "resourceOperations": ["create", "rename", "delete"],
                    "changeAnnotationSupport": {"groupsOnLabel": True}}},
                "general": {"positionEncodings": ["utf-16"]}}
        at, _ = await self.request_timed("initialize", {
            "processId": os.getpid(), "rootUri": uri, "capabilities": caps,
            # Named, as editors name themselves: without a name Baton takes the client for
            # Eglot 1.9 and spaces its messages after responses (lsp/stdio.py).
            "clientInfo": {"name": "baton-bench"},
            "workspaceFolders": [{"uri": uri, "name": "ws"}],
            "initializationOptions": options or {}})
        self.notify("initialized", {})
        return at - self.spawned_at

    async def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.returncode is None:
                await asyncio.wait_for(self.request("shutdown", None), 20)
                self.notify("exit", None)
                await asyncio.wait_for(self.proc.wait(), 10)
        except (TimeoutError, ServerError, ConnectionError, BrokenPipeError):
            pass
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            if self._reader_task:
                self._reader_task.cancel()
            self._stderr.close()

    def rss_kib(self) -> int:
        """Resident memory of the server now with its child processes (Baton's engine
        runs in one): VmRSS summed over the tree, KiB."""
        assert self.proc is not None
        total, todo = 0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            proc = Path(f"/proc/{pid}")
            try:
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                for task in (proc / "task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue  # it ended meanwhile
        return total

    def stderr_tail(self, n: int = 4000) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-n:]

    # -- JSON-RPC -----------------------------------------------------------------------
    def _write(self, msg: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        body = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def request_timed(self, method: str, params: Any) -> tuple[float, Any]:
        """(perf_counter when the answer was parsed, result)."""
        rid = next(self._ids)
        fut: asyncio.Future[tuple[float, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return await fut

    async def request(self, method: str, params: Any) -> Any:
        return (await self.request_timed(method, params))[1]

    async def command(self, name: str, arg: Any) -> Any:
        return await self.request("workspace/executeCommand", {"command": name, "arguments": [arg]})

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        try:
            while True:
                header = await out.readuntil(b"\r\n\r\n")
                length = 0
                for line in header.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                msg = json.loads(await out.readexactly(length))
                at = time.perf_counter()
                if "method" not in msg:
                    fut = self._pending.pop(msg.get("id"), None)
                    if fut is not None and not fut.done():
                        if "error" in msg:
                            fut.set_exception(ServerError(msg["error"].get("message", msg["error"])))
                        else:
                            fut.set_result((at, msg.get("result")))
                elif "id" in msg:
                    asyncio.get_running_loop().create_task(self._answer(msg))
                elif (listener := self.listeners.get(msg["method"])) is not None:
                    r = listener(msg.get("params"))
                    if asyncio.iscoroutine(r):
                        await r
        except (asyncio.IncompleteReadError, ConnectionError):
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("the server closed its output"))

    async def _answer(self, msg: dict[str, Any]) -> None:
        handler = self.handlers.get(msg["method"])
        if handler is None:
            self._write({"jsonrpc": "2.0", "id": msg["id"],
                         "error": {"code": -32601, "message": f"no handler for {msg['method']}"}})
            return
        result = handler(msg.get("params"))
        if asyncio.iscoroutine(result):
            result = await result
        self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})

    # -- editor -------------------------------------------------------------------------
    def open(self, path: Path) -> str:
        uri = path.as_uri()
        text = path.read_text(encoding="utf-8")
        self.buffers[uri] = (text, 1)
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        return uri

    def change(self, uri: str, edits: list[dict[str, Any]]) -> None:
        """The person (or the editor applying an edit) changes a buffer; sent incrementally."""
        text, version = self.buffers[uri]
        new = apply_edits(text, edits)
        self.buffers[uri] = (new, version + 1)
        # Sequential content changes: last position first, so earlier ranges stay valid.
        ordered = sorted(edits, key=lambda e: (e["range"]["start"]["line"],
                                               e["range"]["start"]["character"]), reverse=True)
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version + 1},
            "contentChanges": [{"range": e["range"], "text": e["newText"]} for e in ordered]})

    def _apply_edit(self, params: dict[str, Any]) -> dict[str, Any]:
        self.applied_at.append((time.perf_counter(), time.time(), params))
        for change in params["edit"].get("documentChanges") or []:
            if "edits" not in change:
                continue  # a resource operation: the benchmarks only edit existing files
            uri = change["textDocument"]["uri"]
            if uri in self.buffers:
                version = change["textDocument"].get("version")
                if version is not None and version != self.buffers[uri][1]:
                    return {"applied": False, "failureReason": "stale version"}
                self.change(uri, change["edits"])
            else:
                path = Path(uri.removeprefix("file://"))
                path.write_text(apply_edits(path.read_text(encoding="utf-8"), change["edits"]),
                                encoding="utf-8")
        return {"applied": True}


def baton_argv() -> list[str]:
    """`baton serve`; under cProfile (main thread: the event loop) when
    BATON_BENCH_PROFILE names an output file."""
    profile = os.environ.get("BATON_BENCH_PROFILE")
    if profile:
        return [sys.executable, "-m", "cProfile", "-o", profile, "-m", "baton", "serve"]
    return [sys.executable, "-m", "baton", "serve"]


def bare_argv() -> list[str]:
    return [sys.executable, "-m", "benchmarks.bare_server"]
