"""Where a language server's log records go.

An editor shows every line a server writes to stderr as an error (Neovim's `lsp.log` marks
each one `[ERROR]`), so stderr gets warnings and errors only, or what `BATON_LOG` asks for
(`__main__._logging`); the records below that level go to the client's own log through
`window/logMessage`, from both processes (the engine's over the channel).

pygls logs a request handler's `JsonRpcException` at ERROR with its traceback. The ones
Baton raises on purpose (an unknown run, a command in the wrong state, a bad argument) are
answers the client shows the person, not faults: they become one line at INFO. Internal
errors stay errors, in one line here: the engine process logged their traceback. A
notification Baton has no use for (Eglot's didSave and didChangeConfiguration) and a
cancel that came after the answer are normal LSP traffic: INFO too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException

from ..display import visible

INTERNAL_ERROR = -32603
KINDS = {logging.ERROR: "error", logging.WARNING: "warning", logging.INFO: "info"}  # else "log"
MESSAGE_TYPES = {"error": t.MessageType.Error, "warning": t.MessageType.Warning,
                 "info": t.MessageType.Info, "log": t.MessageType.Log}


NORMAL = ("Ignoring notification for unknown method", "Cancel notification for unknown message id")


class IntendedErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(NORMAL):
            record.levelno, record.levelname = logging.INFO, "INFO"
            return True
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, JsonRpcException):
            record.exc_info, record.exc_text = None, None
            record.msg, record.args = "a request was answered with an error (%s): %s", (exc.code, exc.message)
            if exc.code != INTERNAL_ERROR:
                record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class ToClient(logging.Handler):
    """Sends the records stderr does not get to `send(kind, text)`, on the event loop it was
    made on (records from worker threads are handed over to it)."""

    def __init__(self, send: Callable[[str, str], None], below: int) -> None:
        super().__init__(level=logging.DEBUG)
        self.send = send
        self.below = below
        self.loop = asyncio.get_running_loop()
        self._sending = threading.local()
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= self.below or getattr(self._sending, "on", False):
            return
        try:
            text = self.format(record)
        except Exception:  # logging must never take a request down
            self.handleError(record)
            return
        kind = KINDS.get(record.levelno, "log")
        if self._on_loop():
            self._send(kind, text)
            return
        try:
            self.loop.call_soon_threadsafe(self._send, kind, text)
        except RuntimeError:
            pass  # the loop is closed: the process is ending

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def _send(self, kind: str, text: str) -> None:
        self._sending.on = True  # a record logged while sending is not sent again
        try:
            self.send(kind, visible(text, multiline=True))
        except Exception:
            pass  # the editor is gone: nowhere left to send it
        finally:
            self._sending.on = False


def stderr_level() -> int:
    """The level of the stderr handler `__main__._logging` installed."""
    levels = [h.level for h in logging.getLogger().handlers if not isinstance(h, ToClient)]
    return min(levels, default=logging.WARNING)


def to_client(send: Callable[[str, str], None]) -> ToClient:
    """Install (once per process) the handler sending what stderr does not get to the client."""
    root = logging.getLogger()
    for h in root.handlers:
        if isinstance(h, ToClient):
            root.removeHandler(h)
    handler = ToClient(send, stderr_level())
    root.addHandler(handler)
    return handler
