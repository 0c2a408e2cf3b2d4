from hypothesis import given, settings
from hypothesis import strategies as st

from baton.edits.diff import unified_diff
from baton.edits.hunks import apply_hunk, at_lines, drop_hunk, file_hunks, find, parse


def lines(*items: str, eol: str = "\n") -> str:
    return "".join(item + eol for item in items)


BEFORE = lines(*[f"line {i}" for i in range(1, 31)])
AFTER = (BEFORE.replace("line 2\n", "line two\n")
         .replace("line 15\n", "line 15\nan inserted line\n")
         .replace("line 28\n", ""))


def test_each_hunk_is_found_with_its_lines_in_the_document():
    doc = "# Baton run x: task\n# Use the code actions\n" + unified_diff("a.py", BEFORE, AFTER)
    hunks = parse(doc)
    assert [h.path for h in hunks] == ["a.py"] * 3
    doc_lines = doc.splitlines()
    for h in hunks:
        assert doc_lines[h.first_line].startswith("@@")
        assert h.last_line + 1 == len(doc_lines) or doc_lines[h.last_line + 1].startswith("@@")
    assert len({h.id for h in hunks}) == 3
    assert at_lines(hunks, hunks[1].first_line + 2, hunks[1].first_line + 2) == [hunks[1]]
    assert at_lines(hunks, 0, 1) == []


def test_apply_one_hunk_leaves_the_others_pending():
    hunks = file_hunks("a.py", BEFORE, AFTER)
    middle = hunks[1]
    partial = apply_hunk(BEFORE, AFTER, middle)
    assert partial == BEFORE.replace("line 15\n", "line 15\nan inserted line\n")
    left = file_hunks("a.py", partial, AFTER)
    # The same hunks, by identity, minus the applied one: ids do not depend on line numbers.
    assert [h.id for h in left] == [hunks[0].id, hunks[2].id]


def test_drop_one_hunk_keeps_the_others():
    hunks = file_hunks("a.py", BEFORE, AFTER)
    kept = drop_hunk(BEFORE, AFTER, hunks[0])
    assert "line 2\n" in kept and "line two" not in kept
    assert "an inserted line" in kept and "line 28\n" not in kept
    assert [h.id for h in file_hunks("a.py", BEFORE, kept)] == [hunks[1].id, hunks[2].id]


def test_ids_survive_a_shift_of_line_numbers():
    hunks = file_hunks("a.py", BEFORE, AFTER)
    after_first = apply_hunk(BEFORE, AFTER, hunks[0])
    assert find(file_hunks("a.py", after_first, AFTER), "a.py", hunks[2].id) is not None
    assert find(hunks, "b.py", hunks[0].id) is None


def test_created_deleted_and_empty_files_are_one_whole_file_hunk():
    [created] = file_hunks("new.py", None, "x = 1\n")
    assert created.whole_file and created.path == "new.py"
    assert apply_hunk(None, "x = 1\n", created) == "x = 1\n"
    assert drop_hunk(None, "x = 1\n", created) is None
    [deleted] = file_hunks("old.py", "y = 2\n", None)
    assert deleted.whole_file and deleted.path == "old.py"
    assert apply_hunk("y = 2\n", None, deleted) is None
    assert drop_hunk("y = 2\n", None, deleted) == "y = 2\n"
    [empty] = file_hunks("empty.py", None, "")
    assert empty.whole_file and empty.path == "empty.py"
    assert apply_hunk(None, "", empty) == ""


def test_several_files_and_a_removed_line_that_looks_like_a_header():
    a_before, a_after = lines("-- x", "keep"), lines("keep")  # removing "-- x" shows as "--- x"
    doc = unified_diff("a.sql", a_before, a_after) + unified_diff("b.py", "1\n", "2\n")
    hunks = parse(doc)
    assert [h.path for h in hunks] == ["a.sql", "b.py"]
    assert apply_hunk(a_before, a_after, hunks[0]) == a_after


def test_no_final_newline_and_crlf():
    before, after = "a\r\nb\r\nc", "a\r\nB\r\nc\r\nd"
    hunks = file_hunks("w.txt", before, after)
    assert hunks
    text = before
    for _ in range(10):
        left = file_hunks("w.txt", text, after)
        if not left:
            break
        text = apply_hunk(text, after, left[0])
    assert text == after


texts = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d\n", "e\r\n", "f", "\n"]), max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_applying_hunk_by_hunk_reaches_the_agents_text(before, after):
    text = before
    for _ in range(len(file_hunks("p", before, after)) + 1):
        left = file_hunks("p", text, after)
        if not left:
            break
        text = apply_hunk(text, after, left[-1])
    assert text == after


@settings(max_examples=300, deadline=None)
@given(texts, texts, st.data())
def test_apply_one_and_drop_it_are_complements(before, after, data):
    hunks = file_hunks("p", before, after)
    if not hunks:
        assert before == after
        return
    h = data.draw(st.sampled_from(hunks))
    # Taking only h, then everything but h, is the whole change; refusing h keeps the rest.
    only = apply_hunk(before, after, h)
    rest = drop_hunk(before, after, h)
    assert only != before
    assert rest != after
    text = rest
    for _ in range(len(hunks) + 1):
        left = file_hunks("p", text, after)
        if not left:
            break
        text = apply_hunk(text, after, left[0])
    assert text == after
