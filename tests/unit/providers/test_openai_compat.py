"""The Chat Completions adapter (local servers) through the real SDK against the fake server."""

from __future__ import annotations

import logging

import pytest

from baton.errors import ContextTooLong, ProviderError
from baton.providers.base import CallIds, Message, StopReason, ToolCall, ToolResult
from baton.providers.openai_compat import OpenAICompatProvider, translate_messages
from tests.fakes.llm_server import Call, ChatStyle, FakeLLMServer, Reply

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
    assert "no tool calling" in caplog.text and not p.native_tools
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
    ("Cannot use tools with stream", True),
    ("body.tools: Extra inputs are not permitted", True),
    ("deepseek-reasoner does not support Function Calling", True),
    ("Unknown tool_call_id call_7", False),
    ("Tool call id was toolu_01 but must be a-z, A-Z, 0-9, with a length of 9.", False),
    ("Missing `reasoning_content` field in the assistant message at message index 2", False),
    ("Invalid 'tools[0].function.name': string does not match pattern", False),
    ("tools[0].function.parameters: the format 'uri' is not supported", False),
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


# ---- servers as they really behave (issue 20) ----------------------------------------

def answered(turn, content: str = "r") -> list[Message]:
    """The conversation after `turn`'s calls got results, ready for the next turn."""
    return [Message(role="user", text="Fix the bug in a.py"), turn.as_message(),
            Message(role="tool", tool_results=[ToolResult(call_id=c.id, name=c.name, content=content)
                                               for c in turn.tool_calls])]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_is_kept_and_sent_back_on_tool_call_turns(fake, field):
    fake.chat.reasoning_back = field == "reasoning_content"  # DeepSeek: 400 without it
    fake.push(Reply(text="Reading.", calls=[Call("read_file", {"path": "a.py"})],
                    chat=ChatStyle(reasoning="The bug must be in a.py.", reasoning_field=field)),
              Reply(text="Fixed."))
    p, pieces = provider(fake), []
    turn = await p.complete(request(), pieces.append)
    assert turn.text == "Reading." and "".join(pieces) == "Reading."  # never shown as the answer
    assert turn.provider_state == {"openai_compat": {"reasoning": "The bug must be in a.py.",
                                                     "field": field}}
    assert p.capabilities.reasoning_replay
    assert (await p.complete(request(*answered(turn)))).text == "Fixed."
    assert fake.requests[1].body["messages"][2][field] == "The bug must be in a.py."


async def test_a_turn_whose_reasoning_was_not_kept_gets_a_note(fake):
    """DeepSeek refuses a tool-call turn without reasoning_content (compacted, another
    provider's): the adapter learns that from its 400 and sends a note, never nothing."""
    fake.chat.reasoning_back = True
    fake.push(Reply(text="one"), Reply(text="two"))
    bare = [Message(role="user", text="go"),
            Message(role="assistant", tool_calls=[ToolCall(id="c1", name="read_file",
                                                            arguments={"path": "a.py"})]),
            Message(role="tool", tool_results=[ToolResult(call_id="c1", name="read_file",
                                                          content="x")])]
    p = provider(fake)
    assert (await p.complete(request(*bare))).text == "one"
    assert (await p.complete(request(*bare))).text == "two"
    sent = [r.body["messages"][2] for r in fake.requests]
    assert "reasoning_content" not in sent[0]  # the 400, then the note from then on
    assert sent[1] == sent[2] and 'read_file {"path": "a.py"}' in sent[1]["reasoning_content"]
    assert sent[1]["content"] == ""  # not null beside reasoning
    hosted = OpenAICompatProvider("ds", make_cfg("openai-compatible", "https://api.deepseek.com"))
    assert hosted.replay == "reasoning_content"  # known there: no 400 first


@pytest.mark.parametrize("native", [True, False])
async def test_think_tags_are_reasoning_never_answer_or_calls(fake, native):
    drafted = '```json\n{"tool": "write_file", "arguments": {"path": "a.py", "text": "x"}}\n```'
    fake.push(Reply(text=f"<think>Maybe: {drafted}\nNo, read first.</think>\n\nThe answer.",
                    chat=ChatStyle(pieces=60)))  # tags split across chunks
    pieces: list[str] = []
    turn = await provider(fake, native_tools=native).complete(request(), pieces.append)
    assert turn.text == "The answer." and turn.tool_calls == []
    assert "<think" not in "".join(pieces) and "Maybe" not in "".join(pieces)
    assert "No, read first." in turn.provider_state["openai_compat"]["reasoning"]
    assert "field" not in turn.provider_state["openai_compat"]  # the server's own text: not sent back


async def test_unclosed_think_and_a_close_without_open(fake):
    fake.push(Reply(text="<think>Still weighing the options when the output ran", stop="length"),
              Reply(text="The template opened it.\n</think>\nAnswer."))
    p = provider(fake)
    cut = await p.complete(request())
    assert cut.text == "" and cut.stop == StopReason.MAX_TOKENS
    assert "Still weighing" in cut.provider_state["openai_compat"]["reasoning"]
    assert (await p.complete(request())).text == "Answer."


async def test_arguments_as_a_json_object(fake):
    fake.push(Reply(calls=[Call("read_file", {"path": "a.py"})], chat=ChatStyle(args_as_object=True)))
    turn = await provider(fake).complete(request())
    assert [(c.name, c.arguments, c.invalid) for c in turn.tool_calls] == [
        ("read_file", {"path": "a.py"}, None)]


@pytest.mark.parametrize("style", [
    ChatStyle(index="none"),                             # a new id starts each call
    ChatStyle(index="zero"),                             # every call at index 0, own ids
    ChatStyle(ids="same"),                               # one id for all, indexes distinct
    ChatStyle(ids="none"),                               # indexes, no ids
    ChatStyle(index="none", ids="none", whole_calls=True),      # Ollama: whole calls, bare
    ChatStyle(index="zero", ids="same", args_as_object=True),   # the worst of both
], ids=lambda s: f"index={s.index},ids={s.ids},whole={s.whole_calls or s.args_as_object}")
async def test_parallel_calls_are_kept_apart(fake, style):
    fake.push(Reply(calls=[Call("read_file", {"path": "a.py"}), Call("read_file", {"path": "b.py"}),
                           Call("write_file", {"path": "c.py", "text": "x"})], chat=style),
              Reply(text="done"))
    p = provider(fake)
    turn = await p.complete(request())
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [
        ("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"}),
        ("write_file", {"path": "c.py", "text": "x"})]
    assert len({c.id for c in turn.tool_calls}) == 3 and all(c.id for c in turn.tool_calls)
    await p.complete(request(*answered(turn)))  # and the server takes them back, paired
    sent = fake.requests[1].body["messages"]
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == [
        c["id"] for c in sent[2]["tool_calls"]]


@pytest.mark.parametrize("content,call", [
    ('<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py"}}\n</tool_call>', True),
    ('{"name": "read_file", "parameters": {"path": "a.py"}}', True),
    ('```json\n{"tool": "read_file", "arguments": {"path": "a.py"}}\n```', True),
    ('[{"type": "function", "function": {"name": "read_file", "arguments": "{\\"path\\": \\"a.py\\"}"}}]',
     True),
    ('Call it like this: {"name": "read_file", "arguments": {"path": "a.py"}}', False),
    ('{"name": "my-package", "version": "1.0.0"}', False),
    ('{"name": "rm_rf", "arguments": {}}', False),  # no such tool
])
async def test_a_call_written_as_text_with_native_tools_is_a_call(fake, content, call):
    fake.push(Reply(text=content))
    turn = await provider(fake).complete(request())
    if call:
        assert [(c.name, c.arguments) for c in turn.tool_calls] == [("read_file", {"path": "a.py"})]
        assert turn.stop == StopReason.TOOL_USE and turn.text == ""
    else:  # JSON that is not a call stays the answer
        assert turn.text == content and turn.tool_calls == [] and turn.stop == StopReason.END_TURN


async def test_finish_reason_stop_with_calls_or_missing(fake):
    fake.push(Reply(calls=[Call("read_file", {"path": "a.py"})], stop="stop"),
              Reply(calls=[Call("read_file", {"path": "a.py"})], chat=ChatStyle(finish=False)),
              Reply(text="All done.", chat=ChatStyle(finish=False)))
    p = provider(fake)
    assert (await p.complete(request())).stop == StopReason.TOOL_USE
    assert (await p.complete(request())).stop == StopReason.TOOL_USE
    done = await p.complete(request())
    assert done.stop == StopReason.END_TURN and done.text == "All done."
    assert len(fake.requests) == 3  # nothing taken for a broken stream and asked again


@pytest.mark.parametrize("status,message", [
    (400, "registry.ollama.ai/library/{model} does not support tools"),
    (500, "Cannot use tools with stream"),  # llama.cpp: a 500, which would otherwise be retried
    (400, "tools param requires --jinja flag"),
    (400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'),
])
async def test_no_tool_support_is_detected_within_two_attempts(fake, status, message):
    fake.reject_tools, fake.chat.tools_error = True, (status, message)
    fake.push(Reply(text='```json\n{"tool": "read_file", "arguments": {"path": "b"}}\n```'))
    p = provider(fake)
    turn = await p.complete(request())
    assert turn.tool_calls[0].arguments == {"path": "b"} and not p.native_tools
    assert ["tools" in r.body for r in fake.requests] == [True, False]


async def test_an_unrelated_server_error_keeps_native_tools(fake):
    fake.push(Reply(status=500, error_message="CUDA error: out of memory"), Reply(text="ok"))
    p = provider(fake)
    assert (await p.complete(request())).text == "ok"
    assert p.native_tools and all("tools" in r.body for r in fake.requests)


@pytest.mark.parametrize("configured,server", [("max_tokens", "max_completion_tokens"),
                                               ("max_completion_tokens", "max_tokens")])
async def test_the_token_parameter_the_server_names_is_used_from_then_on(fake, configured, server):
    fake.chat.token_param = server
    fake.push(Reply(text="one"), Reply(text="two"))
    p = provider(fake, max_tokens_param=configured)
    assert (await p.complete(request())).text == "one"
    assert (await p.complete(request())).text == "two"
    assert [configured in r.body for r in fake.requests] == [True, False, False]
    assert all(server in r.body for r in fake.requests[1:])


async def test_mistral_gets_nine_character_ids(fake):
    history = [Message(role="user", text="go"),
               Message(role="assistant", tool_calls=[ToolCall(id="toolu_01XyZ", name="read_file"),
                                                     ToolCall(id="call_0", name="read_file")]),
               Message(role="tool", tool_results=[ToolResult(call_id="toolu_01XyZ", name="read_file",
                                                             content="a"),
                                                  ToolResult(call_id="call_0", name="read_file",
                                                             content="b")])]
    fake.push(Reply(text="ok"))
    await provider(fake, call_ids="nine").complete(request(*history))
    sent = fake.requests[0].body["messages"]
    ids = [c["id"] for c in sent[2]["tool_calls"]]
    assert all(len(i) == 9 and i.isalnum() for i in ids) and len(set(ids)) == 2
    assert [(m["tool_call_id"], m["content"]) for m in sent[3:]] == [(ids[0], "a"), (ids[1], "b")]
    hosted = OpenAICompatProvider("mistral", make_cfg("openai-compatible", "https://api.mistral.ai"))
    assert hosted.capabilities.call_ids == CallIds.NINE


def test_deepseek_replays_reasoning_from_the_start():
    hosted = OpenAICompatProvider("ds", make_cfg("openai-compatible", "https://api.deepseek.com"))
    assert hosted.capabilities.reasoning_replay
    assert not OpenAICompatProvider("x", make_cfg("openai-compatible", "http://x")).capabilities.reasoning_replay


def ollama(fake: FakeLLMServer, *, trained: int = 32768, num_ctx: int | None = None,
           window: int = 16384) -> None:
    fake.chat.ollama = {"qwen2.5-coder": {"trained": trained, "num_ctx": num_ctx, "window": window}}


async def test_ollama_window_is_learned_and_sizes_the_answer(fake):
    ollama(fake, window=16384)
    fake.push(Reply(text="one"), Reply(text="two"))
    p = provider(fake)
    await p.complete(request(max_output_tokens=8000))
    # Not loaded yet: Ollama's default window; the answer is trimmed to fit it.
    assert 0 < fake.requests[0].body["max_tokens"] < 4096
    assert p.capabilities.context_window == 16384  # /api/ps once the model is loaded
    await p.complete(request(max_output_tokens=8000))
    assert fake.requests[1].body["max_tokens"] == 8000
    assert fake.chat.api_requests == ["/api/show", "/api/ps", "/api/ps"]  # then never again


@pytest.mark.parametrize("num_ctx,configured,expected", [
    (8192, None, 8192),       # the Modelfile's num_ctx
    (None, 65536, 32768),     # configured, capped at what the model was trained for
    (None, None, 4096),       # Ollama's default: not 8192
])
async def test_ollama_window_before_the_model_is_loaded(fake, num_ctx, configured, expected):
    ollama(fake, num_ctx=num_ctx)
    fake.push(Reply(status=500, error_message="unloaded"))
    p = provider(fake, context_window=configured, max_retries=0)
    with pytest.raises(ProviderError):
        await p.complete(request())
    assert p.capabilities.context_window == expected


async def test_a_turn_ollama_would_cut_silently_is_refused_before_it_is_sent(fake):
    ollama(fake)
    p = provider(fake)
    with pytest.raises(ContextTooLong, match="4096-token context window"):
        await p.complete(request(Message(role="user", text="x " * 10_000)))
    assert fake.requests == []


async def test_other_servers_are_asked_once_and_keep_their_configuration(fake):
    fake.push(Reply(text="one"), Reply(text="two"))
    p = provider(fake)
    await p.complete(request())
    await p.complete(request())
    assert fake.chat.api_requests == ["/api/show", "/v1/models"]  # each once, both 404
    assert p.capabilities.context_window == 8192
    assert fake.requests[0].body["max_tokens"] == 4096  # a guessed window trims nothing


@pytest.mark.parametrize("status,kind,message", [
    (400, "invalid_request_error", "This model's maximum context length is 8192 tokens. However, "
     "you requested 9000 tokens (8500 in the messages, 500 in the completion)."),
    (400, "exceed_context_size_error", "request (4390 tokens) exceeds the available context size "
     "(4096 tokens), try increasing it"),
    (500, "server_error", "Context size has been exceeded."),
    (400, "context_length_exceeded", "Please reduce the length of the messages."),
    (400, "invalid_request_error", "Prompt contains 40000 tokens and 0 draft tokens, too large for "
     "model with 32768 maximum context length"),
])
async def test_documented_context_errors_raise_context_too_long(fake, status, kind, message):
    fake.push(Reply(status=status, error_type=kind, error_message=message))
    with pytest.raises(ContextTooLong):
        await provider(fake).complete(request())
    assert len(fake.requests) == 1  # not retried, not a reason to switch protocols


async def test_a_context_error_sent_mid_stream_raises_context_too_long(fake):
    fake.push(Reply(mid_stream_error="server_error", error_message="the request exceeds the "
                    "available context size. try increasing the context size or enable context shift"))
    with pytest.raises(ContextTooLong, match="error mid-stream"):
        await provider(fake).complete(request())
    assert len(fake.requests) == 1


async def test_a_window_stated_in_an_error_is_learned_and_the_answer_trimmed(fake):
    fake.chat.context_window = 3000  # vLLM's max_model_len
    fake.push(Reply(text="fits"))
    p = provider(fake)
    turn = await p.complete(request(max_output_tokens=4000))
    assert turn.text == "fits" and p.capabilities.context_window == 3000
    assert fake.requests[0].body["max_tokens"] == 4000
    assert fake.requests[1].body["max_tokens"] < 3000


async def test_an_echoed_key_is_scrubbed_from_an_adjusted_request(fake, env_key, caplog):
    """A server that echoes the key in the error that makes the adapter adjust: the error is
    rebuilt without it (retry.scrub) and the adjustment still happens."""
    fake.reject_tools, fake.chat.tools_error = True, (400, f"key {env_key}: does not support tools")
    fake.push(Reply(text="plain"))
    p = provider(fake)
    assert (await p.complete(request())).text == "plain" and not p.native_tools
    assert env_key not in caplog.text and "[redacted]" in caplog.text


@pytest.mark.parametrize("fields,configured,window", [
    ({"max_model_len": 131072}, None, 131072),      # vLLM
    ({"max_context_length": 32768}, None, 32768),   # Mistral
    ({"max_model_len": 131072}, 16384, 16384),      # a smaller configured window is kept
    ({"max_model_len": 10**12}, None, 8192),        # implausible: ignored
])
async def test_a_window_the_server_lists_is_learned(fake, fields, configured, window):
    fake.chat.models = {"other": {"max_model_len": 4096}, "qwen2.5-coder": fields}
    fake.push(Reply(text="ok"))
    p = provider(fake, context_window=configured)
    await p.complete(request())
    assert p.capabilities.context_window == window


async def test_a_content_filtered_reply_is_a_refusal_with_its_usage(fake, env_key):
    # Not raised: the turn comes back as a refusal, and the loop counts its usage before it
    # ends the run (agents/loop.py); nothing goes to another provider.
    fake.push(Reply(text="I can", stop="content_filter", input_tokens=700, output_tokens=12))
    turn = await provider(fake).complete(request())
    assert turn.stop == StopReason.REFUSAL
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (700, 12)
