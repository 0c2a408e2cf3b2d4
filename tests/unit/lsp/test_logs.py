"""stderr gets warnings and errors (or what BATON_LOG names); the rest goes to the client's
log; an intended JSON-RPC error is one line at INFO, never a traceback."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

from pygls.exceptions import JsonRpcException

from baton.lsp.logs import IntendedErrors, to_client


def _stderr_of(code: str, env_level: str | None) -> str:
    env = {"PATH": "/usr/bin:/bin"} | ({"BATON_LOG": env_level} if env_level else {})
    prog = ("import logging, sys\nfrom baton.__main__ import _logging\n_logging(False)\n" + code)
    return subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                          env=env, check=True).stderr


def test_stderr_gets_warnings_by_default_and_info_on_request():
    code = "logging.getLogger('baton.x').info('an info line')\nlogging.getLogger('baton.x').warning('a warning')\n"
    quiet = _stderr_of(code, None)
    assert "a warning" in quiet and "an info line" not in quiet
    assert "an info line" in _stderr_of(code, "INFO")
    assert "an info line" not in _stderr_of(code, "NONSENSE")


async def test_records_stderr_does_not_get_go_to_the_client_once(monkeypatch):
    root = logging.getLogger()
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(logging.WARNING)
    monkeypatch.setattr(root, "handlers", [stderr])
    monkeypatch.setattr(root, "level", logging.DEBUG)
    sent: list[tuple[str, str]] = []

    def send(kind: str, text: str) -> None:
        sent.append((kind, text))
        logging.getLogger("baton.t").info("logged while sending")  # not sent again

    to_client(send)
    handler = to_client(send)  # installed once, whatever the calls
    assert [h for h in root.handlers if type(h) is type(handler)] == [handler]
    log = logging.getLogger("baton.t")
    log.info("to the client\x1b[31m")
    log.warning("to stderr only")
    await asyncio.to_thread(log.info, "from a thread")
    await asyncio.sleep(0.01)
    assert sent == [("info", "baton.t: to the client\\x1b[31m"), ("info", "baton.t: from a thread")]


def test_an_intended_error_is_one_line_at_info_and_an_internal_one_stays_an_error():
    def record(exc: Exception) -> logging.LogRecord:
        try:
            raise exc
        except Exception:
            r = logging.LogRecord("pygls.protocol.json_rpc", logging.ERROR, __file__, 1,
                                  'Exception occurred for message "%s"', ("7",), sys.exc_info())
        IntendedErrors().filter(r)
        return r

    wrong = record(JsonRpcException("run r is done; Accept plan needs awaiting_approval", code=-32002))
    assert wrong.levelno == logging.INFO and wrong.exc_info is None
    assert "awaiting_approval" in wrong.getMessage() and "Traceback" not in logging.Formatter().format(wrong)
    bug = record(JsonRpcException("internal error: KeyError", code=-32603))
    assert bug.levelno == logging.ERROR and bug.exc_info is None
    other = record(ValueError("a bug in the editor's process"))
    assert other.levelno == logging.ERROR and other.exc_info is not None


def test_notifications_baton_ignores_are_not_warnings():
    r = logging.LogRecord("pygls.protocol.json_rpc", logging.WARNING, __file__, 1,
                          "Ignoring notification for unknown method %r", ("textDocument/didSave",), None)
    IntendedErrors().filter(r)
    assert r.levelno == logging.INFO
