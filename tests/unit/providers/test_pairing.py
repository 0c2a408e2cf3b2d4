"""History repair: every call answered in the next message, stray results dropped."""

from __future__ import annotations

from baton.providers.base import Message, ToolCall, ToolResult
from baton.providers.pairing import INTERRUPTED, repair_history

from .helpers import tool_history


def test_complete_history_is_unchanged():
    msgs = tool_history()[:3]
    assert repair_history(msgs) == msgs


def test_missing_results_get_synthetic_errors_in_call_order():
    out = repair_history(tool_history())
    tool_msg = out[4]
    assert [r.call_id for r in tool_msg.tool_results] == ["c2", "c3"]
    assert tool_msg.tool_results[1].is_error and tool_msg.tool_results[1].content == INTERRUPTED
    assert out[5].role == "user"


def test_calls_at_the_end_and_before_a_user_message_are_answered():
    msgs = [Message(role="user", text="a"),
            Message(role="assistant", tool_calls=[ToolCall(id="x", name="t")]),
            Message(role="user", text="steer"),
            Message(role="assistant", tool_calls=[ToolCall(id="y", name="t")])]
    out = repair_history(msgs)
    assert [m.role for m in out] == ["user", "assistant", "tool", "user", "assistant", "tool"]
    assert out[2].tool_results[0].call_id == "x" and out[5].tool_results[0].call_id == "y"


def test_stray_and_duplicate_results_dropped():
    msgs = [Message(role="user", text="a"),
            Message(role="tool", tool_results=[ToolResult(call_id="ghost", name="t", content="")]),
            Message(role="assistant", tool_calls=[ToolCall(id="x", name="t")]),
            Message(role="tool", tool_results=[ToolResult(call_id="x", name="t", content="1"),
                                               ToolResult(call_id="other", name="t", content="2")])]
    out = repair_history(msgs)
    assert [m.role for m in out] == ["user", "assistant", "tool"]
    assert [r.call_id for r in out[2].tool_results] == ["x"]
