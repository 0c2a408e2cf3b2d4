"""The HTTP connection of the three HTTP adapters (anthropic, openai, openai_compat): the
SDK client's timeouts and socket, built here once.

From the client's side a dead connection and a model that thinks look alike: no bytes.
They are told apart by what goes quiet:

- `connect_timeout_s` (default 10 s): a server that does not take the connection is down
  or misaddressed; the adapter retries, then the role fails over, within seconds.
- TCP keepalive on every connection (probes after 30 s of silence, every 10 s, 3 missed):
  a peer that is gone (network dropped, machine down, a NAT that forgot the flow) is
  noticed within about a minute, however long the read limit is, while a live server's
  kernel answers the probes as long as its model thinks.
- `timeout_s` (default 600 s): the longest silence allowed on a live connection, before
  the first byte included: a local server's prefill of a long prompt, a reasoning model
  before its first token. Anthropic's SSE pings arrive well inside it; raise it for a slow
  local server. It was 120 s, which cut such streams and ran them again from scratch.

A retry of an attempt that had already been answered (HTTP 200, the stream begun) pays
for the same turn twice: `watched_client`'s response hook tells retry.py, which says so
in the log.
"""

from __future__ import annotations

import socket
from typing import Any

from ..config import ProviderConfig
from .retry import mark_answered

WRITE_TIMEOUT_S = 60.0
POOL_TIMEOUT_S = 30.0
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_PROBES = 30, 10, 3


def sdk_timeout(cfg: ProviderConfig) -> Any:
    """The httpx timeout for one provider: connect, read (the idle limit), write, pool."""
    import httpx2
    return httpx2.Timeout(connect=cfg.connect_timeout_s, read=cfg.timeout_s,
                          write=WRITE_TIMEOUT_S, pool=POOL_TIMEOUT_S)


def keepalive_options() -> list[tuple[int, int, int]]:
    """Socket options that make the kernel probe an idle connection (where the platform
    names them: TCP_KEEPIDLE on Linux, TCP_KEEPALIVE on macOS)."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    idle = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)
    for name, value in ((idle, KEEPALIVE_IDLE_S),
                        (getattr(socket, "TCP_KEEPINTVL", None), KEEPALIVE_INTERVAL_S),
                        (getattr(socket, "TCP_KEEPCNT", None), KEEPALIVE_PROBES)):
        if name is not None:
            options.append((socket.IPPROTO_TCP, name, value))
    return options


async def _on_response(response: Any) -> None:
    if response.status_code < 300:
        mark_answered()


def watched_client(sdk_client_class: Any, http_client: Any = None) -> Any:
    """The HTTP client an SDK is given: `sdk_client_class` (the SDK's
    DefaultAsyncHttpxClient, which keeps its defaults) over a keepalive transport, or the
    caller's own client (tests), either way reporting answered attempts to retry.py."""
    import httpx2
    if http_client is None:
        transport = httpx2.AsyncHTTPTransport(socket_options=keepalive_options())
        http_client = sdk_client_class(transport=transport)
    http_client.event_hooks["response"] = [*http_client.event_hooks["response"], _on_response]
    return http_client


def client_options(cfg: ProviderConfig, sdk_client_class: Any,
                   http_client: Any = None) -> dict[str, Any]:
    """The keyword arguments an adapter adds to its SDK client's constructor."""
    return {"timeout": sdk_timeout(cfg), "http_client": watched_client(sdk_client_class,
                                                                       http_client)}
