"""History repair: every call answered in the next message, stray results dropped."""

from __future__ import annotations

from baton.providers.base import CallIds, Capabilities, Message, ToolCall, ToolResult
from baton.providers.pairing import INTERRUPTED, for_provider, repair_history

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


# -- for_provider: a history written partly by another provider ---------------------------

def written_by_two() -> list[Message]:
    """claude (with thinking) called a tool with an id Mistral refuses, then a server that
    numbers its calls wrote `call_0` twice; gpt goes on."""
    return [
        Message(role="user", text="Fix a.py"),
        Message(role="assistant", text="Reading.", provider="claude",
                provider_state={"anthropic": {"thinking": [{"type": "thinking", "thinking": "t",
                                                            "signature": "s"}]}},
                tool_calls=[ToolCall(id="toolu_01A", name="read_file", arguments={"path": "a"})]),
        Message(role="tool", tool_results=[ToolResult(call_id="toolu_01A", name="read_file",
                                                      content="1")]),
        Message(role="assistant", provider="local", tool_calls=[
            ToolCall(id="call_0", name="read_file", arguments={"path": "b"})]),
        Message(role="tool", tool_results=[ToolResult(call_id="call_0", name="read_file",
                                                      content="2")]),
        Message(role="assistant", provider="local", tool_calls=[
            ToolCall(id="call_0", name="read_file", arguments={"path": "c"})]),
        Message(role="tool", tool_results=[ToolResult(call_id="call_0", name="read_file",
                                                      content="3")]),
    ]


def test_a_providers_own_history_goes_as_it_is():
    own = [m.model_copy(update={"provider": "claude"}) if m.role == "assistant" else m
           for m in written_by_two()[:3]]
    assert for_provider(own, "claude", Capabilities(reasoning_replay=True)) == own
    legacy = [m.model_copy(update={"provider": ""}) for m in written_by_two()]
    assert for_provider(legacy, "gpt", Capabilities()) == repair_history(legacy)


def test_another_providers_state_is_dropped_and_ids_fit_the_target():
    out = for_provider(written_by_two(), "mistral", Capabilities(call_ids=CallIds.NINE))
    assert all(m.provider_state is None for m in out)
    calls = [c.id for m in out for c in m.tool_calls]
    assert len(set(calls)) == 3 and all(len(i) == 9 and i.isalnum() for i in calls)
    # Each result still answers its own call, in order.
    assert [r.call_id for m in out for r in m.tool_results] == calls
    assert [r.content for m in out for r in m.tool_results] == ["1", "2", "3"]
    # The same history converts the same way every turn (prompt caches stay valid).
    assert for_provider(written_by_two(), "mistral", Capabilities(call_ids=CallIds.NINE)) == out
    word = for_provider(written_by_two(), "claude2", Capabilities())
    assert [c.id for m in word for c in m.tool_calls][0] == "toolu_01A"  # it fits: kept


def test_the_foreign_exchanges_of_the_turn_reach_a_reasoning_provider_as_text():
    out = for_provider(written_by_two(), "claude", Capabilities(reasoning_replay=True))
    # claude's own exchange is native, with its thinking; local's two are text now (they
    # carry no reasoning of claude's: Anthropic refuses them on the open exchange, DeepSeek
    # on every tool call since the last user message).
    assert out[1].provider_state is not None and out[1].tool_calls[0].id == "toolu_01A"
    assert out[2].role == "tool"
    assert [m.role for m in out[3:]] == ["assistant", "user", "assistant", "user"]
    assert all(not m.tool_calls for m in out[3:])
    assert 'read_file with {"path": "c"}' in out[-2].text
    assert out[-1].text.startswith("Result of read_file:\n3")
    # Before the last user message, the turn is over: foreign exchanges stay native.
    steered = written_by_two()[:5] + [Message(role="user", text="also c")] + written_by_two()[5:]
    out = for_provider(steered, "claude", Capabilities(reasoning_replay=True))
    assert out[3].tool_calls and out[4].role == "tool" and out[5].role == "user"
    assert [m.role for m in out[6:]] == ["assistant", "user"]
    # A provider that does not replay reasoning takes the exchanges natively.
    assert for_provider(written_by_two(), "gpt", Capabilities())[-1].role == "tool"
