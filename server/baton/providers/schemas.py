"""A tool's JSON Schema, adapted to what every provider's tool calling accepts.

Providers differ in what they reject: `$ref`/`$defs` (some OpenAI-compatible servers),
a root that is not `{"type": "object"}` (Anthropic and OpenAI both), titles and
meta-keywords that only add tokens. One adaptation serves all of them, built-in tools and
MCP tools alike, so a schema that works for one provider works for the others:

- local `$ref`s are inlined; a recursive or unresolvable one becomes `{}` (any value: the
  tool validates its own arguments and its error reaches the model);
- `title`, `$defs`, `definitions`, `$schema`, `$id`, `$anchor`, `$comment` are dropped;
- the root must be an object schema.

An MCP server's schema is data from a stranger: it is bounded in depth and in size, before
and after inlining (a few references can expand exponentially), and refused with the
reason rather than cut into something that means another thing.
"""

from __future__ import annotations

import json
from typing import Any

DROPPED = frozenset({"title", "$defs", "definitions", "$schema", "$id", "$anchor", "$comment"})
MAX_DEPTH = 32
MAX_NODES = 4_000  # JSON values in the adapted schema
MAX_BYTES = 32_000  # of the adapted schema as compact JSON: every model turn carries it


class SchemaRejected(ValueError):
    """The schema cannot be offered to a model; the message says why."""


class _Inliner:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.nodes = 0

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            return None  # remote or relative references are never fetched
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def walk(self, node: Any, depth: int, seen: tuple[str, ...]) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise SchemaRejected(f"more than {MAX_NODES} parts once its references are inlined")
        if depth > MAX_DEPTH:
            raise SchemaRejected(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target = self.resolve(ref)
                if target is None or ref in seen:
                    return {}  # unresolvable or recursive: any value
                return self.walk(target, depth + 1, (*seen, ref))
            return {k: self.walk(v, depth + 1, seen) for k, v in node.items()
                    if k not in DROPPED and k != "$ref"}
        if isinstance(node, list):
            return [self.walk(v, depth + 1, seen) for v in node]
        return node


def _depth_ok(node: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH * 2:
        return False
    if isinstance(node, dict):
        return all(_depth_ok(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        return all(_depth_ok(v, depth + 1) for v in node)
    return True


def tool_parameters(schema: Any) -> dict[str, Any]:
    """The schema models are given for a tool's arguments. Raises SchemaRejected."""
    if not isinstance(schema, dict):
        raise SchemaRejected("the schema is not a JSON object")
    if not _depth_ok(schema):
        raise SchemaRejected(f"nested more than {MAX_DEPTH * 2} levels deep")
    out = _Inliner(schema).walk(schema, 0, ())
    if out.get("type") != "object":
        raise SchemaRejected("its root is not an object schema (`\"type\": \"object\"`)")
    for combinator in ("anyOf", "oneOf", "allOf", "not", "if", "then", "else", "enum", "const"):
        if combinator in out:
            raise SchemaRejected(f"its root uses `{combinator}`, which providers refuse there")
    if not isinstance(out.get("properties", {}), dict):
        raise SchemaRejected("its `properties` is not an object")
    out.setdefault("properties", {})
    size = len(json.dumps(out, separators=(",", ":"), ensure_ascii=False))
    if size > MAX_BYTES:
        raise SchemaRejected(f"{size} bytes once adapted, over {MAX_BYTES}")
    return out
