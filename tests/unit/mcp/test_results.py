"""A tool's result as the text a model reads (mcp/results.py)."""

from __future__ import annotations

from mcp import types

from baton.mcp.registered import MCP_BOUND
from baton.mcp.results import as_text


def test_text_blocks_are_joined_and_binary_is_named() -> None:
    result = types.CallToolResult(content=[
        types.TextContent(text="one"),
        types.ImageContent(data="aGVsbG8=", mime_type="image/png"),
        types.EmbeddedResource(resource=types.TextResourceContents(uri="file:///a.txt", text="body")),
        types.ResourceLink(uri="file:///b.txt", name="b"),
    ])
    assert as_text(result) == ("one\n[image (image/png, about 6 bytes) not shown]\n"
                               "[resource file:///a.txt]\nbody\n[resource link: file:///b.txt (b)]")


def test_structured_content_when_there_is_no_text() -> None:
    result = types.CallToolResult(content=[], structured_content={"n": 1})
    assert as_text(result) == '{"n": 1}'
    assert as_text(types.CallToolResult(content=[])) == "(the tool returned nothing)"


def test_the_head_and_tail_of_a_long_result_are_kept() -> None:
    text = "HEAD" + "x" * 100 + "TAIL"
    out = MCP_BOUND.apply(text, 20)
    assert out.startswith("HEAD") and out.endswith("TAIL") and "88 characters" in out
    assert "narrower arguments" in out
