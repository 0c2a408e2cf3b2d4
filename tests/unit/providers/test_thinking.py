"""<think> blocks in content: reasoning, however the stream cuts the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from baton.providers.thinking import ThinkSplitter


def split(*chunks: str) -> tuple[str, str, str]:
    """(answer, reasoning, what progress was shown)."""
    s = ThinkSplitter()
    shown = "".join(s.feed(c) for c in chunks)
    return (*s.finish(), shown)


def test_a_block_at_the_start_is_reasoning():
    assert split("<think>plan it</think>\n\nDone.") == ("Done.", "plan it", "\n\nDone.")


def test_tags_split_across_chunks():
    assert split("<th", "ink>pl", "an</th", "ink>Do", "ne.") == ("Done.", "plan", "Done.")


def test_unclosed_block_is_all_reasoning():
    assert split("<think>still going") == ("", "still going", "")


def test_close_without_open_makes_what_came_before_reasoning():
    answer, reasoning, _ = split("weighing it\n</think>\nAnswer.")
    assert (answer, reasoning) == ("Answer.", "weighing it")


def test_a_tag_mid_sentence_is_text_and_blocks_on_later_lines_are_reasoning():
    assert split("Use the <think> tag.")[:2] == ("Use the <think> tag.", "")
    assert split("Step one.\n<think>hmm</think>\nStep two.")[:2] == ("Step one.\n\nStep two.", "hmm")


text = st.text(alphabet="ab<>/thinkx\n ", max_size=40)


@given(st.lists(text, max_size=4).map(lambda parts: "<think>".join(parts)), st.data())
def test_any_chunking_gives_the_same_split(content, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(content)), max_size=6)))
    chunks = [content[a:b] for a, b in zip([0, *cuts], [*cuts, len(content)], strict=True)]
    assert split(*chunks) == split(content)  # progress too: never a piece of a tag early
