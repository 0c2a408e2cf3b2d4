"""The one tool-schema adaptation (providers/schemas.py), on schemas a stranger wrote."""

from __future__ import annotations

import pytest

from baton.providers.schemas import MAX_BYTES, SchemaRejected, tool_parameters


def test_refs_are_inlined_and_titles_dropped() -> None:
    schema = {"type": "object", "title": "Args", "$schema": "x",
              "properties": {"p": {"$ref": "#/$defs/P"}},
              "$defs": {"P": {"type": "object", "title": "P", "properties": {"n": {"type": "integer"}}}}}
    assert tool_parameters(schema) == {"type": "object", "properties": {
        "p": {"type": "object", "properties": {"n": {"type": "integer"}}}}}


def test_recursive_and_remote_refs_become_any_value() -> None:
    schema = {"type": "object", "properties": {"tree": {"$ref": "#/$defs/T"},
                                               "far": {"$ref": "https://example.com/s.json"}},
              "$defs": {"T": {"type": "object", "properties": {"kids": {"type": "array",
                                                                         "items": {"$ref": "#/$defs/T"}}}}}}
    out = tool_parameters(schema)
    assert out["properties"]["far"] == {}
    assert out["properties"]["tree"]["properties"]["kids"]["items"] == {}


def test_references_that_expand_exponentially_are_refused() -> None:
    defs = {f"d{i}": {"type": "object", "properties": {k: {"$ref": f"#/$defs/d{i + 1}"}
                                                        for k in "abcdefghij"}}
            for i in range(4)}  # 10**4 parts from a schema of 40
    defs["d4"] = {"type": "string"}
    with pytest.raises(SchemaRejected, match="parts"):
        tool_parameters({"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs})


@pytest.mark.parametrize("schema", [
    {"type": "string"}, {"anyOf": [{"type": "object"}]}, {"type": "object", "oneOf": []}, [],
    {"type": "object", "properties": []}])
def test_roots_providers_refuse_are_refused(schema: object) -> None:
    with pytest.raises(SchemaRejected):
        tool_parameters(schema)


def test_size_and_depth_are_bounded() -> None:
    big = {"type": "object", "properties": {f"p{i}": {"type": "string", "description": "d" * 100}
                                            for i in range(MAX_BYTES // 100)}}
    with pytest.raises(SchemaRejected, match="bytes"):
        tool_parameters(big)
    deep: dict = {"type": "string"}
    for _ in range(200):
        deep = {"type": "object", "properties": {"a": deep}}
    with pytest.raises(SchemaRejected, match="deep"):
        tool_parameters(deep)


def test_a_plain_schema_gets_its_properties() -> None:
    assert tool_parameters({"type": "object"}) == {"type": "object", "properties": {}}
