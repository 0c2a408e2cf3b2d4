"""Bounded retries with backoff, honouring retry-after, shared by the HTTP adapters.

The SDKs' own retries are switched off (max_retries=0) so that one policy covers what
they retry and what they do not: an `overloaded_error` that arrives mid-stream after a
200, a stream cut before its final event. Timings come from the provider's config
(`max_retries`, `retry_base_s`, `retry_max_s`), so tests run with millisecond backoff.

An attempt the provider had already answered (a 2xx response, its stream begun: it is
billed) and that failed after is never retried silently: the warning says the turn is
paid for twice (transport.py reports the response). What such an attempt billed, where
the adapter saw it (ProviderError.usage), is added to the answer's usage, or to the error
raised, so the run's usage, cost and budgets count it.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from ..config import ProviderConfig
from ..errors import ProviderError
from .base import Usage

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
# Error types sent in a body (also mid-stream, after a 200) that another attempt may fix.
TRANSIENT_KINDS = {"overloaded_error", "api_error", "rate_limit_error", "server_error",
                   "rate_limit_exceeded"}
Sleep = Callable[[float], Awaitable[None]]
# The attempt in flight in this task: [answered], set by with_retries.
_attempt: ContextVar[list[bool] | None] = ContextVar("baton_provider_attempt", default=None)


def mark_answered() -> None:
    """The attempt in flight got a 2xx response: from here on it is billed."""
    attempt = _attempt.get()
    if attempt is not None:
        attempt[0] = True


class Billed(Protocol):
    """What an attempt returns: a turn, or its part, and what it was billed."""
    usage: Usage


T = TypeVar("T", bound=Billed)


class RetryPolicy(BaseModel):
    max_retries: int = 3
    base_s: float = 0.5
    max_s: float = 8.0
    # A retry-after longer than this (a quota reset in an hour) fails now instead of
    # holding the run; the role's failover chain takes over.
    max_retry_after_s: float = 60.0

    @classmethod
    def from_config(cls, cfg: ProviderConfig) -> RetryPolicy:
        extra = cfg.model_extra or {}
        return cls(max_retries=cfg.max_retries,
                   base_s=float(extra.get("retry_base_s", 0.5)),
                   max_s=float(extra.get("retry_max_s", 8.0)),
                   max_retry_after_s=float(extra.get("retry_after_max_s", 60.0)))

    def backoff(self, attempt: int) -> float:
        # Full jitter in the upper half: spreads concurrent runs without ever waiting ~0.
        return min(self.max_s, self.base_s * (2 ** attempt)) * random.uniform(0.5, 1.0)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, when.timestamp() - time.time()) if when else None


def error_detail(body: Any) -> tuple[str, str]:
    """(type, message) out of an error body of either provider's shape."""
    err = body
    if isinstance(err, Mapping) and isinstance(err.get("error"), Mapping):
        err = err["error"]
    if isinstance(err, Mapping):
        kind = str(err.get("type") or err.get("code") or "")
        return kind, str(err.get("message") or "")
    return "", str(err or "")


def _status_of(kind: str) -> int | None:
    """The status an error event inside a 200 stream stands for, where its type says."""
    return 400 if kind == "invalid_request_error" else None


def classify(exc: BaseException, provider: str,
             transient: tuple[type[BaseException], ...]) -> ProviderError:
    """Any failure of one attempt as a ProviderError saying whether to try again.

    The message carries the status and the provider's error text, never request
    headers (the API key travels in them)."""
    if isinstance(exc, ProviderError):
        return exc
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        kind, message = error_detail(getattr(exc, "body", None))
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        where = f"HTTP {status}" if status >= 400 else "error mid-stream"
        text = f"{where}{' ' + kind if kind else ''}: {message or 'no message'}"
        # The status decides; the body's type only for an error event inside a 200 stream.
        retryable = (status in RETRYABLE_STATUS or status >= 500) if status >= 400 \
            else kind in TRANSIENT_KINDS
        return ProviderError(text, provider=provider, retryable=retryable,
                             retry_after=parse_retry_after(headers),
                             status=status if status >= 400 else _status_of(kind))
    body = getattr(exc, "body", None)
    if body is not None and not isinstance(exc, transient):
        # An error event inside a 200 stream (the SDK raises it without a status).
        kind, message = error_detail(body)
        return ProviderError(f"error mid-stream{' ' + kind if kind else ''}: "
                             f"{message or 'no message'}", provider=provider,
                             retryable=kind in TRANSIENT_KINDS, status=_status_of(kind))
    if isinstance(exc, transient) or isinstance(exc, TimeoutError):
        return ProviderError(f"connection failed: {type(exc).__name__}: {exc}".rstrip(": "),
                             provider=provider, retryable=True)
    return ProviderError(f"{type(exc).__name__}: {exc}", provider=provider, retryable=False)


def scrub(err: ProviderError, secret: str | None) -> ProviderError:
    """`err` with the API key taken out of its text. Some servers echo the key they were
    sent ("Incorrect API key provided: sk-..."), and this text goes on to the run's error,
    the logs and the editor. Keys shorter than 8 characters are left alone: replacing
    them would garble messages and they are not real keys."""
    if not secret or len(secret) < 8 or secret not in str(err):
        return err
    # A copy, not a rebuild: subclasses (an adapter's own) take other constructor arguments,
    # and every attribute (status, usage, an adapter's room) goes along as it was.
    clean = type(err).__new__(type(err))
    clean.__dict__.update(err.__dict__)
    clean.args = (str(err).replace(secret, "[redacted]"),)
    return clean


async def with_retries(attempt: Callable[[], Awaitable[T]], *, policy: RetryPolicy, provider: str,
                       transient: tuple[type[BaseException], ...] = (),
                       sleep: Sleep = asyncio.sleep, secret: str | None = None) -> T:
    """Run `attempt` until it succeeds, fails for good, or the retries run out.

    `secret` (the provider's API key) is scrubbed from every error raised or logged.
    What failed attempts billed goes with the answer or the error raised.
    Cancellation is never caught: a cancelled run stops between attempts too."""
    spent = Usage()  # billed by the attempts that failed
    for n in range(policy.max_retries + 1):
        answered = [False]
        token = _attempt.set(answered)
        try:
            result = await attempt()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # classified below; anything unknown is not retried
            err = classify(exc, provider, transient)
            clean = scrub(err, secret)
            # The original exception still holds the key: never chain it then.
            cause = exc if clean is err else None
            err = clean
            spent = spent + (err.usage or Usage())
            billed = spent if spent != Usage() else None  # by every attempt, on what goes up
            if not err.retryable:
                err.usage = billed
                if err is exc:
                    raise
                raise err from cause
            if n == policy.max_retries:
                note = f"after {n + 1} attempts" if n else ""
                if answered[0]:
                    note += ("; " if note else "") + "the last had started answering and is billed"
                if note:
                    err = type(err)(f"{err} ({note})", provider=provider,
                                    retryable=err.retryable, retry_after=err.retry_after,
                                    status=err.status)
                err.usage = billed
                raise err from cause
            if err.retry_after is not None and err.retry_after > policy.max_retry_after_s:
                raise type(err)(f"{err} (asked to retry after {err.retry_after:.0f} s)",
                                provider=provider, retryable=True, retry_after=err.retry_after,
                                status=err.status, usage=billed) from cause
            delay = err.retry_after if err.retry_after is not None else policy.backoff(n)
            if answered[0]:
                log.warning("provider %s: %s (the turn had started answering); retry %d/%d "
                            "in %.2f s asks again from the start: this turn is paid for twice",
                            provider, err, n + 1, policy.max_retries, delay)
            else:
                log.warning("provider %s: %s; retry %d/%d in %.2f s", provider, err, n + 1,
                            policy.max_retries, delay)
            await sleep(delay)
        else:
            result.usage = result.usage + spent
            return result
        finally:
            _attempt.reset(token)
    raise AssertionError("unreachable")  # the loop always returns or raises


class Adapter(Protocol):
    """What `retried` reads of an HTTP adapter."""
    name: str
    cfg: ProviderConfig
    policy: RetryPolicy
    sleep: Sleep | None  # tests replace the backoff sleep


async def retried(adapter: Adapter, attempt: Callable[[], Awaitable[T]],
                  transient: tuple[type[BaseException], ...]) -> T:
    """`with_retries` as every adapter calls it: its policy, its name in the log, its API key
    scrubbed (read now, as the environment has it), its sleep where a test replaced it."""
    key = adapter.cfg.api_key()
    return await with_retries(attempt, policy=adapter.policy, provider=adapter.name,
                              transient=transient, sleep=adapter.sleep or asyncio.sleep,
                              secret=key.get_secret_value() if key else None)


def guard_delta(on_delta: Callable[[str], None] | None, provider: str) -> Callable[[str], None] | None:
    """`on_delta` that cannot fail the turn: a broken progress callback is the host's bug,
    and must not be retried or failed over as if the provider had failed."""
    if on_delta is None:
        return None
    broken = False

    def safe(text: str) -> None:
        nonlocal broken
        if broken:
            return
        try:
            on_delta(text)
        except Exception:
            broken = True
            log.exception("provider %s: the streaming callback failed; streaming to it stops",
                          provider)
    return safe

