import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.edits.merge import merge3, resolve, settle


def lines(*items: str, eol: str = "\n") -> str:
    return "".join(item + eol for item in items)


BASE = lines("def a():", "    return 1", "", "def b():", "    return 2", "", "def c():", "    return 3")


def test_non_overlapping_changes_both_apply():
    agent = BASE.replace("return 1", "return 10")
    current = BASE.replace("return 3", "return 30")
    result = merge3(BASE, agent, current)
    assert result.clean and result.conflicts == []
    assert result.text == BASE.replace("return 1", "return 10").replace("return 3", "return 30")


def test_person_line_right_above_the_agents_change_is_not_a_conflict():
    agent = BASE.replace("def b():", "def b(x):")
    current = BASE.replace("\ndef b():", "\n# note\ndef b():")
    result = merge3(BASE, agent, current)
    assert result.clean
    assert "# note\ndef b(x):\n" in result.text


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_person_appending_while_the_agent_changes_the_last_line_is_not_a_conflict(eol):
    base = lines("def hello():", "    return 1", eol=eol)
    agent = lines("def hello():", "    return 2", eol=eol)
    current = lines("def hello():", "    return 1", "print(hello())", eol=eol)
    for result in (merge3(base, agent, current), merge3(base, current, agent)):
        assert result.clean
        assert result.text == lines("def hello():", "    return 2", "print(hello())", eol=eol)


def test_last_line_left_without_a_line_end_still_conflicts_with_text_appended_after_it():
    # Merged, the person's line would run into the agent's: "    return 2print(hello())".
    result = merge3(lines("x", "    return 1"), "x\n    return 2", lines("x", "    return 1", "print(hello())"))
    assert not result.clean
    assert resolve(result, "mine") == lines("x", "    return 1", "print(hello())")


def test_settling_one_conflict_touches_nothing_else():
    base = lines("a", "b", "c", "d", "e", "f", "g")
    agent = lines("a", "B1", "c", "d", "e", "F1", "g")
    current = lines("a", "B2", "c", "typed", "d", "e", "F2", "g", "more typing")
    result = merge3(base, agent, current)
    first, second = result.conflicts
    assert (first.current, second.current) == ("B2\n", "F2\n")
    text, landed = settle(result, ["agent", None])
    assert text == lines("a", "B1", "c", "typed", "d", "e", "F2", "g", "more typing")
    # The agent's side: its first change landed, its second is held (the base line stays).
    assert landed == lines("a", "B1", "c", "d", "e", "f", "g")
    assert settle(result, ["mine", "mine"]) == (current, agent)
    assert settle(result, [None, None]) == (current, result.held) == (current, base)
    with pytest.raises(ValueError):
        settle(result, ["agent"])


def test_held_change_merges_again_into_the_same_conflict():
    base = lines("a", "b", "c")
    agent = lines("a", "B", "c", "d")
    current = lines("a", "b!", "c")
    result = merge3(base, agent, current)
    assert result.text == lines("a", "b!", "c", "d") and result.held == lines("a", "b", "c", "d")
    again = merge3(result.held, agent, result.text)
    assert [(c.agent, c.current) for c in again.conflicts] == [(c.agent, c.current) for c in result.conflicts]


def test_overlapping_changes_keep_the_persons_version_and_record_the_conflict():
    agent = BASE.replace("return 2", "return 'agent'")
    current = BASE.replace("return 2", "return 'mine'")
    result = merge3(BASE, agent, current)
    assert not result.clean
    assert result.text == current
    [c] = result.conflicts
    assert (c.base, c.agent, c.current) == ("    return 2\n", "    return 'agent'\n", "    return 'mine'\n")
    assert (c.start_line, c.end_line, c.base_start_line, c.base_end_line) == (4, 5, 4, 5)
    assert result.text[c.start:c.end] == c.current


def test_resolve_mine_agent_both():
    agent = BASE.replace("return 2", "return 'agent'")
    current = BASE.replace("return 2", "return 'mine'").replace("return 3", "return 30")
    result = merge3(BASE, agent, current)
    assert resolve(result, "mine") == current
    assert resolve(result, "agent") == BASE.replace("return 2", "return 'agent'").replace("return 3", "return 30")
    both = resolve(result, "both")
    assert "<<<<<<< mine\n    return 'mine'\n=======\n    return 'agent'\n>>>>>>> agent\n\ndef c():" in both
    with pytest.raises(ValueError):
        resolve(result, "theirs")  # type: ignore[arg-type]


def test_identical_changes_merge_cleanly():
    changed = BASE.replace("return 2", "return 22")
    same = merge3(BASE, changed, changed)
    assert same.clean and same.text == changed
    result = merge3(BASE, changed, changed + "# more\n")
    assert result.clean and result.text == changed + "# more\n"


def test_same_change_inside_wider_overlap_is_not_a_conflict():
    agent = BASE.replace("    return 1\n", "    return 1\n    # agent\n")
    current = BASE.replace("def a():\n    return 1\n", "def a():  # mine\n    return 1\n    # agent\n")
    result = merge3(BASE, agent, current)
    assert result.clean and result.text == current


def test_changes_on_adjacent_lines_both_apply():
    base = lines("a", "b", "c", "d")
    result = merge3(base, lines("a", "B", "c", "D"), lines("a", "b", "X", "d"))
    assert result.clean and result.text == lines("a", "B", "X", "D")


def test_conflict_narrowed_to_the_lines_that_differ():
    base = lines("a", "b", "c")
    result = merge3(base, lines("a", "X", "c"), lines("a", "X", "Y", "c"))
    [c] = result.conflicts
    assert (c.agent, c.current, c.start_line, c.end_line) == ("", "Y\n", 2, 3)
    assert (c.base, c.base_start_line, c.base_end_line) == ("b\n", 1, 2)
    assert result.text == lines("a", "X", "Y", "c")
    assert resolve(result, "agent") == lines("a", "X", "c")


def test_crlf_files_merge_and_markers_use_crlf():
    base = lines("one", "two", "three", eol="\r\n")
    agent = lines("one", "2", "three", eol="\r\n")
    current = lines("one", "two!", "three", "four", eol="\r\n")
    result = merge3(base, agent, current)
    assert not result.clean
    both = resolve(result, "both")
    assert "\r\n" in both and "\n" not in both.replace("\r\n", "")
    clean = merge3(base, agent, lines("zero", "one", "two", "three", eol="\r\n"))
    assert clean.text == lines("zero", "one", "2", "three", eol="\r\n")


def test_missing_final_newline():
    base = "a\nb\nc"
    result = merge3(base, "a\nb\nc!", "A\nb\nc")
    assert result.clean and result.text == "A\nb\nc!"
    # Both sides append at the end of a file without a final newline: never glue lines together.
    clash = merge3("a\n", "a\nagent", "a\nmine\n")
    assert clash.text == "a\nmine\n" and not clash.clean
    appended = merge3("a\n", "z", "a\ny\n")
    assert not appended.clean and appended.text == "a\ny\n"
    both = resolve(merge3("x\nend", "x\nagent end", "x\nmine end"), "both")
    assert both == "x\n<<<<<<< mine\nmine end\n=======\nagent end\n>>>>>>> agent"


def test_empty_files_and_trivial_cases():
    assert merge3("", "", "").text == ""
    assert merge3("", "new\n", "").text == "new\n"
    assert merge3("old\n", "old\n", "").text == ""
    r = merge3("", "agent\n", "mine\n")
    assert not r.clean and r.text == "mine\n"
    assert resolve(r, "agent") == "agent\n"


def test_person_deleted_what_the_agent_edited():
    base = lines("keep", "edit me", "keep too")
    result = merge3(base, lines("keep", "edited", "keep too"), lines("keep", "keep too"))
    [c] = result.conflicts
    assert result.text == lines("keep", "keep too")
    assert (c.current, c.agent, c.start_line, c.end_line) == ("", "edited\n", 1, 1)
    assert resolve(result, "agent") == lines("keep", "edited", "keep too")


def test_big_file_merge_is_fast():
    base_lines = [f"line {i}\n" for i in range(70_000)]
    agent, current = base_lines[:], base_lines[:]
    agent[100] = "agent\n"
    current[60_000] = "mine\n"
    t0 = time.perf_counter()
    result = merge3("".join(base_lines), "".join(agent), "".join(current))
    assert time.perf_counter() - t0 < 2.0  # shared machine: generous; quadratic = minutes
    assert result.clean and "agent\n" in result.text and "mine\n" in result.text


# Property tests. Texts are built from unique lines so that a test knows exactly which hunks
# each side made; the merge itself is also run on arbitrary texts below.


@st.composite
def two_sided_edits(draw, gap: int):
    """(base, agent, current, person_lines) with hunks of each side at least `gap` lines apart."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    n = draw(st.integers(0, 14))
    base = [f"base {i}" for i in range(n)]
    # Walk the base; at each point maybe start a region owned by one side.
    agent, current, person = [], [], []
    i, last_owner, last_end, counter = 0, None, -10, 0
    while i <= n:
        owner = draw(st.sampled_from(["agent", "person", None, None]))
        if owner and (owner == last_owner or i - last_end >= gap or last_owner is None):
            length = draw(st.integers(0, min(2, n - i)))
            counter += 1
            new = [f"{owner} {counter}.{k}" for k in range(draw(st.integers(0, 2)))]
            if length == 0 and not new:
                new = [f"{owner} {counter}.x"]
            if owner == "person" and length and draw(st.booleans()):
                # Typing inside an existing line rather than adding one.
                new = [f"{base[i]} person {counter}"]
            side, other = (agent, current) if owner == "agent" else (current, agent)
            side.extend(new)
            other.extend(base[i:i + length])
            if owner == "person":
                person.extend(new)
            last_owner, last_end = owner, i + length
            if length == 0:
                if i < n:
                    agent.append(base[i])
                    current.append(base[i])
                i += 1
                continue
            i += length
            continue
        if i < n:
            agent.append(base[i])
            current.append(base[i])
        i += 1
    final = draw(st.booleans())

    def text(ls):
        body = eol.join(ls)
        return body + eol if ls and final else body

    return text(base), text(agent), text(current), person


@settings(max_examples=300, deadline=None)
@given(two_sided_edits(gap=1))
def test_property_separate_changes_merge_and_revert_gives_back_the_persons_text(case):
    base, agent, current, _ = case
    merged = merge3(base, agent, current)
    assert merged.clean
    reverted = merge3(agent, base, merged.text)
    assert reverted.clean
    assert reverted.text == current


@settings(max_examples=300, deadline=None)
@given(two_sided_edits(gap=0), st.data())
def test_property_person_typing_always_survives(case, data):
    base, agent, current, person = case
    # Let the agent also rewrite anything at all, overlapping the person's typing or not.
    if data.draw(st.booleans()):
        agent_lines = agent.splitlines(keepends=True)
        k = data.draw(st.integers(0, len(agent_lines)))
        agent = "".join(agent_lines[:k] + ["agent rewrite\n"] + agent_lines[k + 1:])
    result = merge3(base, agent, current)
    kept = result.text.splitlines()
    pos = 0
    for line in person:
        assert line in kept[pos:], (line, result.text)
        pos = kept.index(line, pos) + 1
    if result.clean:
        assert merge3(base, current, agent).text == result.text


line_text = st.text(st.sampled_from(list("ab é😀")), max_size=4)
texts = st.lists(st.tuples(line_text, st.sampled_from(["\n", "\r\n", "\r"])), max_size=8).map(
    lambda ls: "".join(t + e for t, e in ls)) | st.text(max_size=20)


@settings(max_examples=400, deadline=None)
@given(base=texts, agent=texts, current=texts)
def test_property_arbitrary_texts(base, agent, current):
    result = merge3(base, agent, current)
    assert resolve(result, "mine") == result.text
    if result.clean:
        assert result.conflicts == []
    for c in result.conflicts:
        assert result.text[c.start:c.end] == c.current
        assert c.agent != c.current
    assert merge3(base, agent, base).text == agent
    assert merge3(base, base, current).text == current
    same = merge3(base, agent, agent)
    assert same.clean and same.text == agent
    resolve(result, "both")
    if base == current:
        assert resolve(result, "agent") == agent
    # Settling every conflict lands the whole agent change; leaving them held lands `held`.
    assert settle(result, ["mine"] * len(result.conflicts)) == (result.text, agent)
    assert settle(result, [None] * len(result.conflicts)) == (result.text, result.held)
    for c in result.conflicts:
        assert result.held[c.held_start:c.held_start + len(c.base)] == c.base


@settings(max_examples=200, deadline=None)
@given(two_sided_edits(gap=0), st.data())
def test_property_resolving_for_the_agent_keeps_every_agent_line(case, data):
    base, agent, current, _ = case
    agent_lines = agent.splitlines(keepends=True)
    k = data.draw(st.integers(0, len(agent_lines)))
    agent = "".join(agent_lines[:k] + ["agent rewrite\n"] + agent_lines[k:])
    result = merge3(base, agent, current)
    taken = resolve(result, "agent").splitlines()
    for line in agent.splitlines():
        if line.startswith("agent"):
            assert line in taken
    both = resolve(result, "both")
    assert both.count("<<<<<<< mine") == both.count(">>>>>>> agent") == len(result.conflicts)


@settings(max_examples=300, deadline=None)
@given(two_sided_edits(gap=0))
def test_property_held_conflicts_merge_again_into_the_same_conflicts(case):
    # What a delivery relies on to hold a conflict and settle it later: merging the rest of
    # the agent's change (held → agent) onto what the person got asks the same questions.
    base, agent, current, _ = case
    result = merge3(base, agent, current)
    again = merge3(result.held, agent, result.text)
    assert again.text == result.text
    assert [(c.agent, c.current) for c in again.conflicts] == [(c.agent, c.current) for c in result.conflicts]
