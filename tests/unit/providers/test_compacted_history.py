"""A conversation compacted by context management (agents/compaction.py) is one the
provider takes: through the real SDK against the fake server, which refuses what the API
refuses (changed thinking, an open tool exchange whose assistant turn does not start with
its thinking)."""

from __future__ import annotations

from baton.agents.compaction import apply_edits, compact
from baton.providers.anthropic import AnthropicProvider
from baton.providers.base import Message, ToolResult
from tests.fakes.llm_server import Call, Reply

from .conftest import make_cfg
from .helpers import READ, request


async def test_a_compacted_thinking_conversation_is_accepted(fake, env_key) -> None:
    provider = AnthropicProvider("claude", make_cfg("anthropic", fake.url, model="claude-haiku-4-5",
                                                    thinking_budget=2048))
    fake.push(*[Reply(thinking=f"Plan {i}: read f{i}.", calls=[Call("read_file", {"path": f"f{i}"},
                                                                    id=f"t{i}")])
                for i in range(4)], Reply(text="done"))
    history = [Message(role="user", text="Read f0 to f3, then say done.")]
    for i in range(4):
        turn = await provider.complete(request(*history, tools=[READ]))
        history += [turn.as_message(), Message(role="tool", tool_results=[
            ToolResult(call_id=f"t{i}", name="read_file", content=f"file {i}\n" + "data\n" * 600)])]
    compacted = apply_edits(history, compact(history, fits=lambda c: False))
    assert (await provider.complete(request(*compacted, tools=[READ]))).text == "done"
    sent = fake.requests[-1].body["messages"]
    assistants = [m["content"] for m in sent if m["role"] == "assistant"]
    # Older turns went without their thinking; the open exchange kept its own, first.
    assert all(b["type"] != "thinking" for turn in assistants[:-1] for b in turn)
    assert assistants[-1][0]["type"] == "thinking"
    results = [b for m in sent if m["role"] == "user" for b in m["content"] if b["type"] == "tool_result"]
    assert [b["tool_use_id"] for b in results] == ["t0", "t1", "t2", "t3"]
    assert "Compacted to save context" in str(results[0]["content"])
    assert "data\ndata" in str(results[-1]["content"])  # the newest result whole
