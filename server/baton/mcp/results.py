"""An MCP tool's result as the text a model reads.

Text blocks are kept as they are (a tool result is the model's to read, like a file's
content); images, audio and binary resources are named, not inlined; structured content
is given as JSON when the server sent no text. The whole is bounded where every tool's
result is (tools/registry.py: mcp/registered.py gives MCP tools their `Bound`).
"""

from __future__ import annotations

import json
from typing import Any

from mcp import types

def _block(block: Any) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{kind} ({block.mime_type}, about {len(block.data) * 3 // 4} bytes) not shown]"
    if isinstance(block, types.ResourceLink):
        return f"[resource link: {block.uri}" + (f" ({block.name})" if block.name else "") + "]"
    if isinstance(block, types.EmbeddedResource):
        res = block.resource
        if isinstance(res, types.TextResourceContents):
            return f"[resource {res.uri}]\n{res.text}"
        return f"[resource {res.uri} ({res.mime_type or 'binary'}) not shown]"
    return f"[{getattr(block, 'type', 'unknown')} content not shown]"


def as_text(result: types.CallToolResult) -> str:
    parts = [_block(b) for b in result.content]
    if not any(isinstance(b, types.TextContent) for b in result.content) \
            and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    text = "\n".join(p for p in parts if p)
    return text or "(the tool returned nothing)"
