import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol.types import Position, Range, TextEdit

from baton.edits.diff import (
    _myers,
    apply_text_edits,
    line_hunks,
    split_lines,
    text_edits,
    unified_diff,
    with_line_endings_of,
)

ENCODINGS = ["utf-8", "utf-16", "utf-32"]


def roundtrip(before: str, after: str, encoding: str) -> list[TextEdit]:
    edits = text_edits(before, after, encoding)
    assert apply_text_edits(before, edits, encoding) == after
    return edits


def span(edit: TextEdit) -> tuple[int, int, int, int]:
    r = edit.range
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def test_split_lines_follows_lsp_line_ends_only():
    assert split_lines("") == []
    assert split_lines("a\r\nb\rc\nd") == ["a\r\n", "b\r", "c\n", "d"]
    assert split_lines("a\r\r\n") == ["a\r", "\r\n"]
    # Form feed and U+2028 are not LSP line ends (str.splitlines would split there).
    assert split_lines("a\x0cb\u2028c\n") == ["a\x0cb\u2028c\n"]


def test_no_change_gives_no_edit():
    assert text_edits("same\n", "same\n", "utf-16") == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_mid_line_edit_after_astral_and_accent_counts_code_units(encoding):
    before = "x = 1\ns = 'é😀abc'\ny\n"
    after = "x = 1\ns = 'é😀aXc'\ny\n"
    [edit] = roundtrip(before, after, encoding)
    # Line 1 before the edit: "s = '" (5) + "é😀a" → utf-8: 5+2+4+1, utf-16: 5+1+2+1, utf-32: 5+1+1+1.
    offset = {"utf-8": 12, "utf-16": 9, "utf-32": 8}[encoding]
    assert span(edit) == (1, offset, 1, offset + 1)
    assert edit.new_text == "X"


def test_edit_touching_only_the_changed_line_of_many():
    before = "".join(f"line {i}\n" for i in range(100))
    after = before.replace("line 50\n", "line fifty\n")
    [edit] = roundtrip(before, after, "utf-16")
    assert span(edit) == (50, 5, 50, 7)
    assert edit.new_text == "fifty"


def test_separate_hunks_give_separate_edits_in_order():
    lines = [f"{i}\n" for i in range(20)]
    before = "".join(lines)
    lines[3], lines[9], lines[15] = "three\n", "9\nnine\n", ""
    after = "".join(lines)
    edits = roundtrip(before, after, "utf-8")
    assert len(edits) == 3
    ends = [(e.range.end.line, e.range.end.character) for e in edits]
    starts = [(e.range.start.line, e.range.start.character) for e in edits]
    assert all(ends[i] < starts[i + 1] for i in range(len(edits) - 1))


def test_whole_file_replaced_only_when_everything_changed():
    [edit] = roundtrip("abc\n", "xyz\n", "utf-16")
    assert span(edit) == (0, 0, 0, 3)
    assert edit.new_text == "xyz"


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(("before", "after"), [
    ("", ""), ("", "new\n"), ("old\n", ""), ("a", "a\n"), ("a\n", "a"), ("a\r\n", "a\n"), ("a\n", "a\r\n"),
    ("a\r\nb\r\n", "a\r\nB\r\nc\r\n"), ("a\rb\r", "a\rX\r"), ("a\r\nb", "a\rb"), ("a\rb", "a\r\nb"),
    ("x\r\n", "x\r\r\n"), ("é😀\n", "😀é\n"), ("\n\n\n", "\n\n"), ("no final newline", "no final newline!"),
])
def test_edge_cases_roundtrip(before, after, encoding):
    roundtrip(before, after, encoding)


def test_crlf_file_keeps_its_line_ends():
    before = "one\r\ntwo\r\nthree\r\n"
    after = "one\r\n2\r\nthree\r\nfour\r\n"
    edits = roundtrip(before, after, "utf-16")
    assert all("\n" not in e.new_text or "\r\n" in e.new_text for e in edits)


def test_never_addresses_between_cr_and_lf():
    # Only the \n of a CRLF goes away: the edit must start at the \r, where a position exists.
    [edit] = roundtrip("a\r\nb", "a\rb", "utf-16")
    assert span(edit) == (0, 1, 1, 0)
    assert edit.new_text == "\r"


def test_five_megabyte_file_one_line_change_is_fast_and_minimal():
    line = "    value = compute(alpha, beta, gamma)  # a typical line of code here\n"
    before = line * (5_000_000 // len(line))
    lines = before.splitlines(keepends=True)
    lines[len(lines) // 2] = "    value = compute(alpha, BETA, gamma)  # a typical line of code here\n"
    after = "".join(lines)
    t0 = time.perf_counter()
    edits = text_edits(before, after, "utf-16")
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, elapsed  # ~0.1 s here; a quadratic path would take minutes
    [edit] = edits
    assert edit.new_text == "BETA"
    assert edit.range.start.line == len(lines) // 2
    assert apply_text_edits(before, edits, "utf-16") == after


def test_big_file_of_repeated_lines_changed_at_both_ends_gives_two_small_edits():
    before = "    pass\n" * 200_000
    after = "first\n" + "    pass\n" * 199_998 + "last\n"
    t0 = time.perf_counter()
    edits = roundtrip(before, after, "utf-16")
    assert time.perf_counter() - t0 < 2.0  # shared machine: generous; quadratic = minutes
    assert len(edits) == 2
    assert all(e.range.end.line - e.range.start.line <= 1 and len(e.new_text) <= len("first\n") for e in edits)


def test_many_scattered_changes_in_a_big_file_stay_fast_and_separate():
    lines = [f"line {i} = {i * 7919 % 100_003}\n" for i in range(60_000)]
    before = "".join(lines)
    for i in range(0, len(lines), 50):
        lines[i] = f"changed {i}\n"
    after = "".join(lines)
    t0 = time.perf_counter()
    edits = roundtrip(before, after, "utf-8")
    assert time.perf_counter() - t0 < 2.0  # shared machine: generous; quadratic = minutes
    assert len(edits) == 1200


@pytest.mark.parametrize("shape", ["shuffled", "reversed", "repeated lines, many changes"])
def test_adversarial_big_inputs_stay_bounded_and_correct(shape):
    import random

    rnd = random.Random(7)
    if shape == "repeated lines, many changes":
        lines = ["    pass\n"] * 60_000
        changed = lines[:]
        for i in rnd.sample(range(len(lines)), 1000):
            changed[i] = "x\n"
    else:
        lines = [f"{i}\n" for i in range(60_000)]
        changed = lines[::-1] if shape == "reversed" else rnd.sample(lines, len(lines))
    before, after = "".join(lines), "".join(changed)
    t0 = time.perf_counter()
    edits = text_edits(before, after, "utf-16")
    assert time.perf_counter() - t0 < 2.0
    assert apply_text_edits(before, edits, "utf-16") == after


def _lcs(x, y):
    table = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i in range(len(x) - 1, -1, -1):
        for j in range(len(y) - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if x[i] == y[j] else max(table[i + 1][j], table[i][j + 1])
    return table[0][0]


lines3 = st.lists(st.sampled_from(["a\n", "b\n", "c\n"]), max_size=14)


@settings(max_examples=300, deadline=None)
@given(a=lines3, b=lines3)
def test_property_myers_finds_a_shortest_edit(a, b):
    pairs = sorted(_myers(a, b, 0, len(a), 0, len(b), budget=10**6)[0])
    assert all(a[i] == b[j] for i, j in pairs)
    assert all(p[0] < q[0] and p[1] < q[1] for p, q in zip(pairs, pairs[1:]))
    assert len(pairs) == _lcs(a, b)


@settings(max_examples=300, deadline=None)
@given(a=lines3, b=lines3)
def test_property_line_hunks_cover_exactly_the_differences(a, b):
    hunks = line_hunks(a, b)
    i = j = 0
    for n, (a1, a2, b1, b2) in enumerate(hunks):
        # Between hunks the lines are equal, and at least one separates two hunks.
        assert a1 - i == b1 - j and a[i:a1] == b[j:b1]
        assert n == 0 or a1 > i
        assert a2 > a1 or b2 > b1
        i, j = a2, b2
    assert a[i:] == b[j:]


def test_apply_in_given_order_at_same_position_and_refuses_overlap():
    pos = Position(line=0, character=1)
    inserts = [TextEdit(range=Range(start=pos, end=pos), new_text=t) for t in ("1", "2")]
    assert apply_text_edits("ab", inserts, "utf-16") == "a12b"
    overlapping = [TextEdit(range=Range(start=Position(line=0, character=0), end=Position(line=0, character=2)),
                            new_text=""),
                   TextEdit(range=Range(start=Position(line=0, character=1), end=Position(line=0, character=1)),
                            new_text="x")]
    with pytest.raises(ValueError):
        apply_text_edits("abc", overlapping, "utf-16")


def test_apply_refuses_a_position_inside_a_surrogate_pair_and_clamps_past_line_end():
    inside = Position(line=0, character=1)
    with pytest.raises(ValueError):
        apply_text_edits("😀\n", [TextEdit(range=Range(start=inside, end=inside), new_text="x")], "utf-16")
    far = Position(line=0, character=99)
    assert apply_text_edits("ab\ncd", [TextEdit(range=Range(start=far, end=far), new_text="!")], "utf-8") == "ab!\ncd"


line_text = st.text(st.sampled_from(list("ab é😀\t")), max_size=6)
line_end = st.sampled_from(["\n", "\r\n", "\r"])
texts = st.lists(st.tuples(line_text, line_end), max_size=12).flatmap(
    lambda ls: st.tuples(st.just("".join(t + e for t, e in ls)), st.sampled_from(["", "tail", "é😀"]))
).map(lambda pair: pair[0] + pair[1])


@settings(max_examples=400, deadline=None)
@given(before=texts, after=texts, encoding=st.sampled_from(ENCODINGS))
def test_property_apply_of_edits_gives_after(before, after, encoding):
    edits = roundtrip(before, after, encoding)
    for first, second in zip(edits, edits[1:]):
        assert (first.range.end.line, first.range.end.character) < \
               (second.range.start.line, second.range.start.character)


@settings(max_examples=200, deadline=None)
@given(before=st.text(), after=st.text(), encoding=st.sampled_from(ENCODINGS))
def test_property_any_unicode_text(before, after, encoding):
    roundtrip(before, after, encoding)


@settings(max_examples=200, deadline=None)
@given(before=texts, data=st.data(), encoding=st.sampled_from(ENCODINGS))
def test_property_small_change_gives_small_edit(before, data, encoding):
    i = data.draw(st.integers(0, len(before)))
    after = before[:i] + "Z" + before[i:]
    [edit] = roundtrip(before, after, encoding)
    assert "Z" in edit.new_text and len(edit.new_text) <= 3


# unified_diff


def test_unified_diff_modify_has_git_headers():
    diff = unified_diff("src/a.py", "a\nb\nc\n", "a\nB\nc\n")
    assert diff.splitlines()[:4] == ["diff --git a/src/a.py b/src/a.py", "--- a/src/a.py", "+++ b/src/a.py",
                                     "@@ -1,3 +1,3 @@"]
    assert "-b\n+B\n" in diff


def test_unified_diff_create_delete_and_no_final_newline():
    created = unified_diff("n.txt", None, "x\ny")
    assert "new file mode 100644\n--- /dev/null\n+++ b/n.txt\n" in created
    assert created.endswith("+y\n\\ No newline at end of file\n")
    deleted = unified_diff("n.txt", "x\n", None)
    assert "deleted file mode 100644\n--- a/n.txt\n+++ /dev/null\n" in deleted
    assert unified_diff("n.txt", "same", "same") == ""


@pytest.mark.parametrize(("before", "after"), [
    ("a\nb\nc\n", "a\nB\nc\n"), (None, "new\nfile"), ("gone\n", None), ("x\r\ny\r\n", "x\r\nY\r\n"),
    ("tail", "tail\n"), ("a\n", "a\nb"), (None, ""), ("", None),
])
def test_unified_diff_is_accepted_by_git_apply(tmp_path, before, after):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    target = tmp_path / "f.txt"
    if before is not None:
        target.write_bytes(before.encode())
    patch = tmp_path / "p.diff"
    patch.write_bytes(unified_diff("f.txt", before, after).encode())
    subprocess.run(["git", "apply", "--whitespace=nowarn", "p.diff"], cwd=tmp_path, check=True,
                   capture_output=True)
    if after is None:
        assert not target.exists()
    else:
        assert target.read_bytes() == after.encode()


def test_unified_diff_rename_is_accepted_by_git_apply(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "old.txt").write_text("a\nb\n")
    for after, name in (("a\nb\n", "same.txt"), ("a\nB\n", "changed.txt")):
        diff = unified_diff("old.txt", "a\nb\n", after, new_path=name)
        assert f"rename from old.txt\nrename to {name}\n" in diff
        (tmp_path / "p.diff").write_text(diff)
        subprocess.run(["git", "apply", "--check", "p.diff"], cwd=tmp_path, check=True, capture_output=True)


def test_with_line_endings_of_follows_a_crlf_file_only():
    assert with_line_endings_of("a\r\nb\r\n", "x\ny\r\nz") == "x\r\ny\r\nz"
    assert with_line_endings_of("a\nb\r\n", "x\ny\n") == "x\ny\n"  # mixed: left alone
    assert with_line_endings_of("a\nb\n", "x\ny\n") == "x\ny\n"
    assert with_line_endings_of("one line", "x\n") == "x\n"


@settings(max_examples=300, deadline=None)
@given(before=texts, after=texts, encoding=st.sampled_from(ENCODINGS))
def test_property_pygls_document_applies_the_edits_the_same_way(before, after, encoding):
    # An independent oracle: pygls's own position codec and incremental change, as a server
    # tracking the editor's buffer would apply them (one by one, last first).
    from pygls.workspace.position_codec import PositionCodec
    from pygls.workspace.text_document import TextDocument
    from lsprotocol.types import PositionEncodingKind, TextDocumentContentChangePartial

    doc = TextDocument("file:///x.txt", before, position_codec=PositionCodec(encoding=PositionEncodingKind(encoding)))
    for edit in reversed(text_edits(before, after, encoding)):
        doc.apply_change(TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
    assert doc.source == after
