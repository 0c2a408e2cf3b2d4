"""The fake server's non-streamed (JSON) answers parse with the real SDKs too, so other
tests may drive it either way."""

from __future__ import annotations

import anthropic
import openai

from tests.fakes.llm_server import Call, Reply

from .conftest import FAKE_KEY


async def test_anthropic_json(fake):
    fake.push(Reply(text="hi", calls=[Call("read_file", {"path": "a"}, id="t1")], cached_tokens=7))
    client = anthropic.AsyncAnthropic(api_key=FAKE_KEY, base_url=fake.url, max_retries=0)
    msg = await client.messages.create(model="m", max_tokens=10,
                                       messages=[{"role": "user", "content": "x"}])
    assert msg.content[0].text == "hi" and msg.content[1].input == {"path": "a"}
    assert msg.stop_reason == "tool_use" and msg.usage.cache_read_input_tokens == 7


async def test_responses_json(fake):
    fake.push(Reply(text="hi", calls=[Call("read_file", {"path": "a"})]))
    client = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=fake.url + "/v1", max_retries=0)
    resp = await client.responses.create(model="m", input="x")
    assert resp.output_text == "hi" and resp.output[1].arguments == '{"path": "a"}'


async def test_chat_json_and_tool_rejection(fake):
    fake.push(Reply(calls=[Call("read_file", {"path": "a"})]))
    client = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=fake.url + "/v1", max_retries=0)
    done = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert done.choices[0].message.tool_calls[0].function.name == "read_file"
    fake.reject_tools = True
    try:
        await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}],
            tools=[{"type": "function", "function": {"name": "t", "parameters": {}}}])
    except openai.BadRequestError as e:
        assert "does not support tools" in str(e)
    else:
        raise AssertionError("tools were not rejected")
    assert "authorization" not in fake.requests[0].headers  # the key is not recorded


async def test_unqueued_request_fails_loudly(fake):
    client = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=fake.url + "/v1", max_retries=0)
    try:
        await client.responses.create(model="m", input="x")
    except openai.InternalServerError as e:
        assert "no reply queued" in str(e)
    else:
        raise AssertionError("expected a 500")
