"""A conversation compacted by context management (agents/compaction.py) is one the
provider takes: through the real SDKs against the fake server, which refuses what the APIs
refuse (changed thinking; under manual thinking, an open tool exchange whose assistant turn
does not start with its thinking; thinking whose prefix changed, on a model that checks).
Anthropic and OpenAI replay a turn from its provider state (thinking with the turn's own
blocks, reasoning items with the calls), so an older turn's state goes with its
compaction: otherwise the arguments compacted would go out whole all the same."""

from __future__ import annotations

from baton.agents.compaction import apply_edits, compact
from baton.providers.anthropic import AnthropicProvider
from baton.providers.base import Message, ToolResult
from baton.providers.openai import OpenAIProvider
from baton.providers.openai_compat import OpenAICompatProvider
from tests.fakes.llm_server import Call, ChatStyle, FakeLLMServer, Reply

from .conftest import make_cfg
from .helpers import READ, WRITE, request


async def four_thinking_reads(provider: AnthropicProvider, fake: FakeLLMServer) -> list[Message]:
    """Four turns, each thinking then reading a file of 3,000 characters; "done" queued."""
    fake.push(*[Reply(thinking=f"Plan {i}: read f{i}.", calls=[Call("read_file", {"path": f"f{i}"},
                                                                    id=f"t{i}")])
                for i in range(4)], Reply(text="done"))
    history = [Message(role="user", text="Read f0 to f3, then say done.")]
    for i in range(4):
        turn = await provider.complete(request(*history, tools=[READ]))
        history += [turn.as_message(), Message(role="tool", tool_results=[
            ToolResult(call_id=f"t{i}", name="read_file", content=f"file {i}\n" + "data\n" * 600)])]
    return history


async def test_a_compacted_thinking_conversation_is_accepted(fake, env_key) -> None:
    provider = AnthropicProvider("claude", make_cfg("anthropic", fake.url, model="claude-haiku-4-5",
                                                    thinking_budget=2048))
    history = await four_thinking_reads(provider, fake)
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


async def test_a_compacted_conversation_is_accepted_by_a_model_that_checks_thinking_prefixes(
        fake, env_key, caplog) -> None:
    """Preserved thinking (Opus 5.5): the API refuses a thinking block whose prefix changed,
    and compaction changes the prefix of the open exchange's thinking. Baton asks for such
    blocks to be dropped (`block_binding`, with its beta header), so the request goes; the
    fake leaves out exactly that block, and an append-only loop loses nothing."""
    caplog.set_level("INFO", logger="baton.providers.anthropic")
    provider = AnthropicProvider("claude", make_cfg("anthropic", fake.url, model="claude-opus-5-5"))
    history = await four_thinking_reads(provider, fake)
    assert fake.thinking_dropped == []  # every turn so far replayed its thinking as it was
    compacted = apply_edits(history, compact(history, fits=lambda c: False))
    assert await provider.count_tokens(request(*compacted, tools=[READ])) == fake.token_count
    assert (await provider.complete(request(*compacted, tools=[READ]))).text == "done"
    sent = fake.requests[-1]
    assert sent.body["thinking"] == {"type": "adaptive", "block_binding": {
        "prefix_mismatch_behavior": "drop_block"}}
    assert "thinking-binding-controls-2026-08-01" in sent.headers["anthropic-beta"]
    last = len(sent.body["messages"]) - 2  # the open exchange kept its thinking; it went stale
    assert sent.body["messages"][last]["content"][0]["type"] == "thinking"
    assert fake.thinking_dropped == [f"messages.{last}.content.0"]
    assert "dropped 1 thinking block(s)" in caplog.text


async def test_where_block_binding_cannot_go_the_history_goes_again_without_thinking(
        fake, env_key, caplog) -> None:
    """Sonnet 5.5 with thinking off (`between_tools`, which takes no block_binding) still
    writes notes as thinking blocks, bound to their prefix: after a compaction the API's
    400 is answered as its docs say, by the same conversation without thinking, once."""
    provider = AnthropicProvider("claude", make_cfg("anthropic", fake.url, model="claude-sonnet-5-5",
                                                    thinking="off"))
    history = await four_thinking_reads(provider, fake)
    compacted = apply_edits(history, compact(history, fits=lambda c: False))
    before = len(fake.requests)
    assert (await provider.complete(request(*compacted, tools=[READ]))).text == "done"
    refused, sent = (r.body for r in fake.requests[before:])
    assert refused["thinking"] == sent["thinking"] == {"type": "between_tools"}
    assert any(b["type"] == "thinking" for m in refused["messages"] for b in m["content"])
    assert not any(b["type"] == "thinking" for m in sent["messages"] for b in m["content"])
    assert [m["role"] for m in sent["messages"]] == [m["role"] for m in refused["messages"]]
    assert "bound to a different conversation" in caplog.text and "without its thinking" in caplog.text


async def test_a_compacted_reasoning_conversation_goes_to_the_responses_api(fake, env_key) -> None:
    provider = OpenAIProvider("gpt", make_cfg("openai", fake.url, model="gpt-5-mini"))
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "blob"}
    fake.push(*[Reply(reasoning=reasoning, calls=[Call("write_file", {"path": f"f{i}", "text": "w" * 3000},
                                                       id=f"call_{i}")]) for i in range(3)],
              Reply(text="done"))
    history = [Message(role="user", text="Write f0 to f2, then say done.")]
    for i in range(3):
        turn = await provider.complete(request(*history, tools=[WRITE]))
        history += [turn.as_message(), Message(role="tool", tool_results=[
            ToolResult(call_id=f"call_{i}", name="write_file", content="written")])]
    compacted = apply_edits(history, compact(history, fits=lambda c: False))
    assert (await provider.complete(request(*compacted, tools=[WRITE]))).text == "done"
    sent = fake.requests[-1].body["input"]
    assert [i["type"] for i in sent] == ["message", "function_call", "function_call_output",
                                         "function_call", "function_call_output", "reasoning",
                                         "function_call", "function_call_output"]
    # Older calls went as Baton compacted them (not replayed from their items), the open
    # exchange as the model sent it.
    assert "3,000 characters, compacted" in sent[1]["arguments"]
    assert "w" * 3000 in sent[6]["arguments"]


async def test_a_compacted_deepseek_conversation_keeps_reasoning_content_on_tool_calls(fake) -> None:
    fake.chat.reasoning_back = True  # DeepSeek: 400 for a tool-call turn without it
    provider = OpenAICompatProvider("deepseek", make_cfg("openai-compatible", fake.url,
                                                         model="deepseek-reasoner"))
    fake.push(*[Reply(calls=[Call("read_file", {"path": f"f{i}"}, id=f"call{i}")],
                      chat=ChatStyle(reasoning=f"Read f{i} next.")) for i in range(3)],
              Reply(text="done"))
    history = [Message(role="user", text="Read f0 to f2, then say done.")]
    for i in range(3):
        turn = await provider.complete(request(*history, tools=[READ]))
        history += [turn.as_message(), Message(role="tool", tool_results=[
            ToolResult(call_id=f"call{i}", name="read_file", content="data\n" * 600)])]
    compacted = apply_edits(history, compact(history, fits=lambda c: False))
    assert (await provider.complete(request(*compacted, tools=[READ]))).text == "done"
