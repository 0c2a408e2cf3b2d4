"""Tool call ids rewritten into the form a provider accepts, unique in the history.

Ids come from wherever a call was made: another vendor after a failover (`toolu_…`,
`call_…`), a server that sends none or the same one for every call, the text protocol.
Providers check them: Anthropic wants `^[a-zA-Z0-9_-]+$`, Mistral (and vLLM serving Mistral
models) exactly 9 letters and digits ("Tool call id was … but must be a-z, A-Z, 0-9, with a
length of 9"), and several reject two calls with one id. `normalise_call_ids` keeps an id
that already fits and is not taken, and otherwise derives one from it by hashing, so the
same history gets the same ids on every turn (prompt caches stay valid) and a result keeps
answering its own call.
"""

from __future__ import annotations

import hashlib
import re
import string
import uuid

from .base import CallIds, Message, ToolResult

_ALNUM = string.ascii_letters + string.digits
_FITS = {CallIds.WORD: re.compile(r"[a-zA-Z0-9_-]{1,64}"), CallIds.NINE: re.compile(r"[a-zA-Z0-9]{9}")}
_DERIVED_LENGTH = {CallIds.WORD: 24, CallIds.NINE: 9}


def new_id() -> str:
    """A fresh id for a call that came without a usable one (a server that sends none, the
    text protocol)."""
    return "call_" + uuid.uuid4().hex[:24]


def derive_id(original: str, rule: CallIds, salt: int = 0) -> str:
    """A well-formed id for `original`: the same one every time for the same input."""
    n = int.from_bytes(hashlib.sha256(f"{salt}:{original}".encode()).digest(), "big")
    chars = []
    for _ in range(_DERIVED_LENGTH[rule]):
        n, digit = divmod(n, len(_ALNUM))
        chars.append(_ALNUM[digit])
    return "".join(chars)


def normalise_call_ids(messages: list[Message], rule: CallIds) -> list[Message]:
    """`messages` with every call id fitting `rule` and unique, and each tool result
    pointing at its call's new id. Expects a repaired history (pairing.repair_history):
    a tool message answers the assistant message just before it."""
    used: set[str] = set()
    latest: dict[str, list[str]] = {}  # the last assistant message's ids, old → new, in order
    out: list[Message] = []
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            latest = {}
            calls = []
            for c in m.tool_calls:
                new, salt = c.id, 0
                while not _FITS[rule].fullmatch(new) or new in used:
                    new, salt = derive_id(c.id, rule, salt), salt + 1
                used.add(new)
                latest.setdefault(c.id, []).append(new)
                calls.append(c if new == c.id else c.model_copy(update={"id": new}))
            m = m.model_copy(update={"tool_calls": calls})
        elif m.role == "tool":
            results: list[ToolResult] = []
            for r in m.tool_results:
                # Two calls with one id are answered in call order (pairing.py).
                mapped = latest.get(r.call_id)
                new = (mapped.pop(0) if len(mapped) > 1 else mapped[0]) if mapped else r.call_id
                results.append(r if new == r.call_id else r.model_copy(update={"call_id": new}))
            m = m.model_copy(update={"tool_results": results})
        out.append(m)
    return out
