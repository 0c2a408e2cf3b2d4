"""Tool arguments: repaired only when unambiguous, otherwise flagged with a reason."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from baton.providers.toolargs import looks_truncated, parse_arguments


def test_valid_object_and_empty():
    assert parse_arguments('{"a": 1}') == ({"a": 1}, None)
    assert parse_arguments("") == ({}, None)
    assert parse_arguments(None) == ({}, None)
    assert parse_arguments({"x": 2}) == ({"x": 2}, None)


def test_trailing_commas_repaired_but_not_inside_strings():
    assert parse_arguments('{"a": [1, 2,], "b": {"c": 3,},}') == ({"a": [1, 2], "b": {"c": 3}}, None)
    assert parse_arguments('{"s": "x,}", }') == ({"s": "x,}"}, None)


def test_fenced_json_repaired():
    assert parse_arguments('```json\n{"path": "a"}\n```') == ({"path": "a"}, None)


def test_truncated_is_flagged_as_cut_off():
    args, why = parse_arguments('{"path": "a.py", "text": "def f(')
    assert args == {} and "cut off" in why


def test_garbage_and_non_objects_flagged():
    assert "not valid JSON" in parse_arguments("{path: a}")[1]
    assert "not valid JSON" in parse_arguments("<path>a</path>")[1]
    assert "must be a JSON object" in parse_arguments("[1, 2]")[1]
    assert "must be a JSON object" in parse_arguments('"just a string"')[1]


def test_looks_truncated():
    assert looks_truncated('{"a": "b')
    assert looks_truncated('{"a": [1, 2')
    assert not looks_truncated('{"a": "}"}')


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                           lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                           max_leaves=10)


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_any_object_round_trips(obj):
    assert parse_arguments(json.dumps(obj)) == (obj, None)


@given(st.dictionaries(st.text(min_size=1), st.text(), min_size=1, max_size=4), st.data())
def test_any_strict_prefix_is_never_accepted_as_different_arguments(obj, data):
    text = json.dumps(obj)
    cut = data.draw(st.integers(min_value=1, max_value=len(text) - 1))
    args, why = parse_arguments(text[:cut])
    assert why is not None and args == {}
