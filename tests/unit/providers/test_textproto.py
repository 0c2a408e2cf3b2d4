"""The text tool protocol: tools in the prompt, calls from fenced JSON blocks."""

from __future__ import annotations

from baton.providers.base import Message, ToolCall, ToolResult
from baton.providers.textproto import describe_tools, history_as_text, parse_calls

from .helpers import READ, WRITE

TOOLS = [READ, WRITE]


def test_description_names_every_tool_and_the_format():
    text = describe_tools(TOOLS)
    assert "## read_file" in text and "## write_file" in text and '"tool": "TOOL_NAME"' in text


def test_parses_calls_and_keeps_the_prose():
    text = ('First I read.\n```json\n{"tool": "read_file", "arguments": {"path": "a"}}\n```\n'
            'Then write.\n```json\n{"tool": "write_file", "arguments": {"path": "a", "text": "b"}}\n```')
    rest, calls = parse_calls(text, TOOLS)
    assert rest == "First I read.\n\nThen write."
    assert [(c.name, c.arguments) for c in calls] == [("read_file", {"path": "a"}),
                                                      ("write_file", {"path": "a", "text": "b"})]
    assert len({c.id for c in calls}) == 2


def test_other_json_is_not_a_call():
    text = 'Example config:\n```json\n{"name": "pkg", "version": 1}\n```'
    assert parse_calls(text, TOOLS) == (text, [])


def test_unknown_tool_broken_json_and_unclosed_block_are_invalid_calls():
    _, calls = parse_calls('```json\n{"tool": "rm_rf", "arguments": {}}\n```', TOOLS)
    assert "no tool named 'rm_rf'" in calls[0].invalid
    _, calls = parse_calls('```json\n{"tool": "read_file", "arguments": {path: a}}\n```', TOOLS)
    assert calls[0].name == "read_file" and "not valid JSON" in calls[0].invalid
    rest, calls = parse_calls('Writing:\n```json\n{"tool": "write_file", "arguments": {"text": "ab',
                              TOOLS)
    assert rest == "Writing:" and calls[0].name == "write_file" and "cut off" in calls[0].invalid


def test_trailing_comma_and_double_encoded_arguments_repaired():
    _, calls = parse_calls('```json\n{"tool": "read_file", "arguments": {"path": "a",},}\n```', TOOLS)
    assert calls[0].arguments == {"path": "a"} and calls[0].invalid is None
    _, calls = parse_calls('```json\n{"tool": "read_file", "arguments": "{\\"path\\": \\"a\\"}"}\n```',
                           TOOLS)
    assert calls[0].arguments == {"path": "a"}


def test_history_renders_calls_and_results_as_text():
    msgs = [Message(role="user", text="go"),
            Message(role="assistant", text="ok", tool_calls=[ToolCall(id="1", name="read_file",
                                                                       arguments={"path": "a"})]),
            Message(role="tool", tool_results=[ToolResult(call_id="1", name="read_file",
                                                          content="boom", is_error=True)])]
    out = history_as_text(msgs)
    assert [m["role"] for m in out] == ["user", "assistant", "user"]
    assert '{"tool": "read_file", "arguments": {"path": "a"}}' in out[1]["content"]
    assert "ERROR" in out[2]["content"] and "boom" in out[2]["content"]
    # what the model is shown round-trips through the parser
    assert parse_calls(out[1]["content"], TOOLS)[1][0].arguments == {"path": "a"}


def test_history_alternates_roles():
    msgs = [Message(role="user", text="go"),
            Message(role="assistant", tool_calls=[ToolCall(id="1", name="read_file")]),
            Message(role="tool", tool_results=[ToolResult(call_id="1", name="read_file", content="r")]),
            Message(role="user", text="steer")]
    out = history_as_text(msgs)
    assert [m["role"] for m in out] == ["user", "assistant", "user"]
    assert out[2]["content"].endswith("r\n\nsteer")


def test_calls_written_as_text_under_native_tools():
    from baton.providers.textproto import calls_in_content
    for text in ('<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call>',
                 '```json\n{"name": "read_file", "parameters": {"path": "a"}}\n```',
                 '{"function": {"name": "read_file", "arguments": "{\\"path\\": \\"a\\"}"}}'):
        rest, calls = calls_in_content(text, TOOLS)
        assert rest == "" and [(c.name, c.arguments) for c in calls] == [("read_file", {"path": "a"})]
    rest, calls = calls_in_content('Reading.\n<tool_call>{"name": "read_file", "arguments": '
                                   '{"path": "a"}}</tool_call>', TOOLS)
    assert rest == "Reading." and len(calls) == 1


def test_text_that_only_looks_like_a_call_stays_text():
    from baton.providers.textproto import calls_in_content
    for text in ('{"name": "read_file", "description": "reads"}',  # a tool's description, not a call
                 '<tool_call>{"name": "rm", "arguments": {}}</tool_call>',  # no such tool
                 'Example: {"name": "read_file", "arguments": {"path": "a"}} and more'):
        assert calls_in_content(text, TOOLS) == (text, [])
    _, calls = calls_in_content('```json\n{"tool": "read_file", "arguments": {path: a}}\n```', TOOLS)
    assert "not valid JSON" in calls[0].invalid  # the model's to write again, not its answer
