"""The provider protocol and the neutral types every adapter translates to and from.

The runtime speaks only these types. Each adapter (anthropic, openai, openai_compat,
scripted) owns its provider's wire format and quirks, and declares what it can do in
`Capabilities` so that nothing else needs `if provider == ...`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field


class ToolSpec(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    # Set by an adapter when the arguments could not be parsed unambiguously (truncated
    # at the output limit, not JSON): the loop returns it to the model, never executes it.
    invalid: str | None = None


class ToolResult(BaseModel):
    call_id: str
    name: str
    content: str
    is_error: bool = False


class Message(BaseModel):
    """One entry of a conversation.

    user: `text` (the task, feedback, a steer note).
    assistant: `text` and/or `tool_calls`; `provider_state` carries what a provider
      needs sent back verbatim on later turns (reasoning items, signatures), and
      `provider` names the configured provider that wrote it ("" before it was recorded),
      so a history that moves to another provider is converted for it (pairing.py).
    tool: `tool_results`, answering every call of the preceding assistant message.
    """

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_results: list[ToolResult] = Field(default_factory=list)
    provider_state: dict[str, Any] | None = None
    provider: str = ""


class StopReason(StrEnum):
    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    REFUSAL = "refusal"
    CONTEXT_EXCEEDED = "context_exceeded"
    PAUSE = "pause"  # the provider paused a long turn; send the history back to continue


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # input tokens read from the provider's prompt cache
    cache_write_tokens: int = 0
    cost_usd: float = 0.0  # of the tokens with a known price only
    # Tokens of turns whose model has no known price (pricing.py): while not 0 the cost
    # is unknown, never $0, and a cost budget cannot be kept.
    unpriced_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


class CallIds(StrEnum):
    """The tool call ids a provider accepts in a history (each unique in it)."""
    WORD = "word"  # ^[a-zA-Z0-9_-]{1,64}$: Anthropic's rule, and safe for every other API
    NINE = "nine"  # exactly 9 letters and digits (Mistral)


class Capabilities(BaseModel):
    """What the loop and the failover chain ask of a provider (an adapter's own quirks, such
    as tools described in the prompt, stay in the adapter)."""
    max_output_tokens: int = 8192
    context_window: int = 200_000
    # provider_state must be sent back on later turns; the open tool exchange must carry
    # the model's own reasoning (Anthropic thinking, DeepSeek reasoning_content).
    reasoning_replay: bool = False
    call_ids: CallIds = CallIds.WORD


class TurnRequest(BaseModel):
    """Everything one model turn needs. `system` and `tools` are the stable prefix that
    providers with prompt caching cache; `messages` grow at the end only."""

    run_id: str
    role: str
    task: str = ""  # the run's task; only the scripted provider looks at it (to pick a script)
    system: str
    messages: list[Message]
    tools: list[ToolSpec]
    max_output_tokens: int | None = None


class Fallback(BaseModel):
    """A provider of a role's chain that could not serve a turn for a reason the person must
    fix (its key, its quota, its model name), while a later one answered (registry.py)."""
    provider: str
    message: str  # the cause in words and who answered instead; never the key
    first: bool = True  # not said before by this daemon: the person is told once


class Turn(BaseModel):
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop: StopReason = StopReason.END_TURN
    usage: Usage = Field(default_factory=Usage)
    provider: str = ""  # the configured provider name that answered
    model: str = ""
    provider_state: dict[str, Any] | None = None
    fallbacks: list[Fallback] = Field(default_factory=list)  # providers passed over for it

    def as_message(self) -> Message:
        return Message(role="assistant", text=self.text, tool_calls=self.tool_calls,
                       provider_state=self.provider_state, provider=self.provider)


# Called with each piece of streamed text, so progress can show the model working.
OnDelta = Callable[[str], None]


class Provider(Protocol):
    name: str
    capabilities: Capabilities

    async def complete(self, request: TurnRequest, on_delta: OnDelta | None = None) -> Turn:
        """One model turn. Raises `ProviderError` (retryable or not) on failure.

        Cancelling the awaiting task must stop the request (and any stream) promptly.
        """
        ...

    async def count_tokens(self, request: TurnRequest) -> int | None:
        """The request's input tokens as the provider counts them, where it has a counting
        endpoint (Anthropic's `messages.count_tokens`); None where it has none or the count
        failed: the caller estimates instead (agents/compaction.py decides when to ask)."""
        ...
