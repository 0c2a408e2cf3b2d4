"""Tool call fragments as Chat Completions servers stream them, assembled into calls."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from baton.providers.chat_stream import CallAssembler

CALLS = [("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"}),
         ("write_file", {"path": "c", "text": "}{"})]


def assembled(fragments) -> list[tuple[str, dict]]:
    a = CallAssembler()
    for f in fragments:
        a.add(*f)
    calls = a.calls(cut_off=False)
    assert len({c.id for c in calls}) == len(calls) and all(c.id for c in calls)
    return [(c.name, c.arguments) for c in calls]


def streamed(index_of, id_of, pieces: int = 3):
    """Fragments of CALLS: a head with the name, then argument pieces without it."""
    for i, (name, args) in enumerate(CALLS):
        text = json.dumps(args)
        step = max(1, len(text) // pieces)
        yield index_of(i), id_of(i), name, ""
        for k in range(0, len(text), step):
            yield index_of(i), None, None, text[k:k + step]


def test_by_index_by_id_and_by_order():
    assert assembled(streamed(lambda i: i, lambda i: f"c{i}")) == CALLS
    assert assembled(streamed(lambda i: None, lambda i: f"c{i}")) == CALLS  # ids only
    assert assembled(streamed(lambda i: 0, lambda i: f"c{i}")) == CALLS  # all at index 0
    assert assembled(streamed(lambda i: i, lambda i: "same")) == CALLS  # one id for all
    assert assembled(streamed(lambda i: None, lambda i: None)) == CALLS  # nothing but order


def test_whole_calls_with_object_arguments_and_a_repeated_name():
    assert assembled([(0, "x", n, a) for n, a in CALLS]) == CALLS  # Ollama: objects, index 0
    text = json.dumps({"path": "a.py", "text": "} {\\\" }"})  # braces and quotes in a string
    repeated = [(0, "c0", "write_file", text[k:k + 3]) for k in range(0, len(text), 3)]
    assert assembled(repeated) == [("write_file", json.loads(text))]


@given(st.integers(1, 8), st.sampled_from(["each", "zero", "none"]),
       st.sampled_from(["each", "same", "none"]))
def test_any_split_and_labelling_gives_the_calls(pieces, index, ids):
    index_of = {"each": lambda i: i, "zero": lambda i: 0, "none": lambda i: None}[index]
    id_of = {"each": lambda i: f"c{i}", "same": lambda i: "s", "none": lambda i: None}[ids]
    assert assembled(streamed(index_of, id_of, pieces)) == CALLS


def test_the_last_call_at_the_output_limit_is_never_run():
    a = CallAssembler()
    a.add(0, "c0", "read_file", '{"path": "a.py"}')
    a.add(1, "c1", "write_file", '{"path": "b.py"}')
    first, last = a.calls(cut_off=True)
    assert first.invalid is None and "cut off" in last.invalid and last.arguments == {}
