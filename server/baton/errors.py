"""One small exception tree. `lsp/commands.py` maps it to JSON-RPC errors in one place.

BatonError
├── ConfigError          configuration that cannot be used (bad TOML, unknown provider)
├── UserInputError       a request a person can fix: malformed argument, unknown run, wrong state
│   ├── UnknownRun
│   └── WrongState
├── ProviderError        a model provider failed (after its own retries)
│   ├── ProviderUnavailable  every provider of a role's failover chain failed
│   ├── ProviderRefused      the model or the provider's policy declined; never failed over
│   └── ContextTooLong       the conversation does not fit the window; context management's
├── ToolRefused          a tool call broke a rule; becomes an error result for the model
└── RunFailed            a run cannot go on; the message is shown to the person
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .providers.base import Usage


class BatonError(Exception):
    """Base of every error Baton raises on purpose."""


class ConfigError(BatonError):
    pass


class UserInputError(BatonError):
    pass


class UnknownRun(UserInputError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"No run with id {run_id!r}. `baton.runs` lists the runs of this workspace.")
        self.run_id = run_id


class WrongState(UserInputError):
    def __init__(self, run_id: str, state: str, action: str, expected: str) -> None:
        super().__init__(f"Run {run_id} is {state}; {action} needs it to be {expected}.")


class ProviderError(BatonError):
    """A provider call failed. `retryable` says whether another attempt may succeed.

    `usage` is what the provider billed for the failed turn where the adapter saw it (a
    refusal, a turn cut off at the context window): the run counts it all the same."""

    def __init__(self, message: str, *, provider: str = "", retryable: bool = False,
                 retry_after: float | None = None, status: int | None = None,
                 usage: Usage | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status  # the HTTP status it came with, if any (the failover rule reads it)
        self.usage = usage


class ProviderUnavailable(ProviderError):
    pass


class ProviderRefused(ProviderError):
    """The model (stop reason `refusal`) or the provider's policy (a failed or content-filtered
    response) declined the request. Not an outage: failover never sends the same request to
    another vendor; the run ends with the reason."""


class ContextTooLong(ProviderError):
    """The conversation does not fit the model's context window (a documented error or stop
    reason). Context management compacts the history and tries again; failover never sees it."""


class ToolRefused(BatonError):
    """Raised inside a tool; the loop turns it into an error result for the model."""


class RunFailed(BatonError):
    pass
