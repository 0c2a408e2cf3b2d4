"""Tool call ids rewritten per provider: Mistral's 9 characters, Anthropic's word rule, unique."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from baton.providers.base import CallIds, Message, ToolCall, ToolResult
from baton.providers.call_ids import normalise_call_ids

from .helpers import tool_history


def exchange(*ids: str) -> list[Message]:
    return [Message(role="assistant", tool_calls=[ToolCall(id=i, name="read_file") for i in ids]),
            Message(role="tool", tool_results=[ToolResult(call_id=i, name="read_file", content=f"r{n}")
                                               for n, i in enumerate(ids)])]


def pairs(messages: list[Message]) -> list[tuple[str, str]]:
    """(call id, content of the result answering it) for every exchange."""
    out = []
    for a, t in zip(messages, messages[1:], strict=False):
        if a.role == "assistant" and t.role == "tool":
            out += [(c.id, r.content) for c, r in zip(a.tool_calls, t.tool_results, strict=True)
                    if c.id == r.call_id]
    return out


def test_mistral_ids_are_nine_alphanumerics_and_results_follow():
    history = exchange("toolu_01A09q90qw90lq917835lq9", "call_abc") + exchange("x")
    out = normalise_call_ids(history, CallIds.NINE)
    ids = [c.id for m in out for c in m.tool_calls]
    assert all(re.fullmatch(r"[a-zA-Z0-9]{9}", i) for i in ids) and len(set(ids)) == 3
    assert [content for _, content in pairs(out)] == ["r0", "r1", "r0"]


def test_ids_that_fit_are_kept_and_the_result_is_stable():
    history = tool_history()
    assert normalise_call_ids(history, CallIds.WORD) == history
    once = normalise_call_ids(exchange("call:1", "call:2"), CallIds.WORD)
    assert once == normalise_call_ids(exchange("call:1", "call:2"), CallIds.WORD)  # every turn alike
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]+", c.id) for c in once[0].tool_calls)


def test_duplicate_and_empty_ids_become_distinct_in_call_order():
    out = normalise_call_ids(exchange("same", "same", "", "") + exchange("same"), CallIds.WORD)
    ids = [c.id for m in out for c in m.tool_calls]
    assert len(set(ids)) == 5
    assert [content for _, content in pairs(out)] == ["r0", "r1", "r2", "r3", "r0"]


@given(st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=4), max_size=4),
       st.sampled_from(list(CallIds)))
def test_any_history_gets_unique_well_formed_ids(turns, rule):
    history = [m for ids in turns for m in exchange(*ids)]
    out = normalise_call_ids(history, rule)
    ids = [c.id for m in out for c in m.tool_calls]
    form = r"[a-zA-Z0-9]{9}" if rule == CallIds.NINE else r"[a-zA-Z0-9_-]{1,64}"
    assert all(re.fullmatch(form, i) for i in ids) and len(set(ids)) == len(ids)
    assert len(pairs(out)) == len(ids)  # every result still answers its call
