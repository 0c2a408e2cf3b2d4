"""The Chat Completions adapter (local servers) through the real SDK against the fake server."""

from __future__ import annotations

import logging

import pytest

from baton.errors import ProviderError
from baton.providers.base import StopReason, ToolCall
from baton.providers.openai_compat import OpenAICompatProvider, translate_messages
from tests.fakes.llm_server import Call, FakeLLMServer, Reply

from .conftest import Recorder, make_cfg
from .helpers import request, tool_history


def provider(fake: FakeLLMServer, **extra) -> OpenAICompatProvider:
    p = OpenAICompatProvider("local", make_cfg("openai-compatible", fake.url,
                                               model="qwen2.5-coder", **extra))
    p.sleep = Recorder()
    return p


async def test_native_tool_calls(fake):
    fake.push(Reply(text="Looking.", calls=[Call("read_file", {"path": "a.py"}, id="call_9")]))
    pieces: list[str] = []
    turn = await provider(fake).complete(request(), pieces.append)
    assert "".join(pieces) == "Looking."
    assert turn.tool_calls == [ToolCall(id="call_9", name="read_file", arguments={"path": "a.py"})]
    assert turn.stop == StopReason.TOOL_USE and turn.usage.cost_usd == 0.0
    body = fake.requests[0].body
    assert fake.requests[0].path == "/v1/chat/completions"
    assert body["messages"][0] == {"role": "system", "content": "You help."}
    assert body["tools"][0]["function"]["name"] == "read_file"
    assert body["stream_options"] == {"include_usage": True}


def test_role_tool_answers_every_call_in_order():
    msgs = translate_messages(tool_history())
    tool_msgs = [m for m in msgs if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["c1", "c2", "c3"]
    assert "interrupted" in tool_msgs[2]["content"]
    assert msgs[1]["tool_calls"][0]["function"]["arguments"] == '{"path": "a.py"}'


async def test_text_protocol_when_configured(fake):
    fake.push(Reply(text='I will read it.\n```json\n{"tool": "read_file", "arguments": {"path": "a.py"}}\n```'))
    turn = await provider(fake, native_tools=False).complete(request())
    body = fake.requests[0].body
    assert "tools" not in body and "```json" in body["messages"][0]["content"]
    assert turn.text == "I will read it."
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [("read_file", {"path": "a.py"})]
    assert turn.stop == StopReason.TOOL_USE


async def test_switches_to_text_protocol_when_the_server_rejects_tools(fake, caplog):
    fake.reject_tools = True
    fake.push(Reply(text='```json\n{"tool": "read_file", "arguments": {"path": "b"}}\n```'),
              Reply(text="plain answer"))
    p = provider(fake)
    turn = await p.complete(request())
    assert turn.tool_calls[0].arguments == {"path": "b"}
    assert "rejects tools" in caplog.text and not p.native_tools
    await p.complete(request())  # stays on the text protocol: no second rejected attempt
    assert ["tools" in r.body for r in fake.requests] == [True, False, False]


async def test_context_window_warning(fake, caplog):
    caplog.set_level(logging.WARNING)
    fake.push(Reply(text="ok"), Reply(text="ok"))
    from baton.providers.base import Message
    big = request(Message(role="user", text="x " * 20_000))
    p = provider(fake, context_window=4096)
    await p.complete(big)
    assert "context window" in caplog.text
    caplog.clear()
    fake.push(Reply(text="ok"))
    await p.complete(big)  # the same run is warned once
    assert "context window" not in caplog.text
    await provider(fake, context_window=200_000).complete(big)
    assert "context window" not in caplog.text


async def test_malformed_and_truncated_arguments(fake):
    fake.push(Reply(calls=[Call("read_file", raw='{"path": "a.py",}', id="a"),
                           Call("write_file", raw="<path>a.py</path>", id="b")]),
              Reply(calls=[Call("write_file", raw='{"path": "a.py", "text": "lo')], stop="length"))
    p = provider(fake)
    turn = await p.complete(request())
    assert turn.tool_calls[0].arguments == {"path": "a.py"} and not turn.tool_calls[0].invalid
    assert "not valid JSON" in turn.tool_calls[1].invalid
    cut = await p.complete(request())
    assert cut.stop == StopReason.MAX_TOKENS and "cut off" in cut.tool_calls[0].invalid


async def test_stream_cut_mid_call_retried_then_fails(fake):
    fake.push(Reply(calls=[Call("read_file", {"path": "abcdefgh"})], cut_mid_call=True),
              Reply(text="ok"))
    assert (await provider(fake).complete(request())).text == "ok"
    fake.push(*[Reply(calls=[Call("read_file", {"path": "abcdefgh"})], cut_mid_call=True)] * 2)
    with pytest.raises(ProviderError, match="2 attempts"):
        await provider(fake, max_retries=1).complete(request())


async def test_error_chunk_mid_stream(fake):
    fake.push(Reply(text="abc", mid_stream_error="server_error"), Reply(text="fine"))
    assert (await provider(fake).complete(request())).text == "fine"


async def test_stream_usage_can_be_turned_off(fake):
    fake.push(Reply(text="ok"))
    await provider(fake, stream_usage=False).complete(request())
    assert "stream_options" not in fake.requests[0].body


def test_fragments_without_index_are_grouped_by_id():
    from baton.providers.openai_compat import _slot_index
    calls: dict[int, dict[str, str]] = {}
    assert _slot_index(calls, None, "a") == 0
    calls[0] = {"id": "a", "name": "t", "args": ""}
    assert _slot_index(calls, None, None) == 0  # continuation of the current call
    assert _slot_index(calls, None, "a") == 0
    assert _slot_index(calls, None, "b") == 1
    assert _slot_index(calls, 3, None) == 3


async def test_a_failing_stream_callback_does_not_fail_the_turn(fake):
    fake.push(Reply(text="some streamed text"))

    def broken(_: str) -> None:
        raise RuntimeError("host bug")

    turn = await provider(fake).complete(request(), broken)
    assert turn.text == "some streamed text" and len(fake.requests) == 1


@pytest.mark.parametrize("message,rejected", [
    ("registry.ollama.ai/library/gemma:2b does not support tools", True),
    ('"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set', True),
    ("tools param requires --jinja flag", True),
    ("Unrecognized request argument supplied: tools", True),
    ("Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
     "with 'tool_calls'", False),
    ("tool_call_id call_1 not found", False),
])
def test_which_errors_mean_no_tool_support(message, rejected):
    from baton.providers.openai_compat import TOOLS_REJECTED
    assert bool(TOOLS_REJECTED.search(message)) is rejected


async def test_other_400s_do_not_switch_protocols(fake):
    fake.push(Reply(status=400, error_message="tool_call_id call_1 not found"))
    p = provider(fake)
    with pytest.raises(ProviderError, match="HTTP 400"):
        await p.complete(request())
    assert p.native_tools and len(fake.requests) == 1
