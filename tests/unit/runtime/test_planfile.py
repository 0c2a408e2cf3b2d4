"""planfile: plan.md renders the plan's files in one canonical section, and only that
section, as the person left it, is the write grant."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from baton.runtime.planfile import (CHANGES_WAITING, EDIT_WAITING, FILES_HEADING, PLAN_WAITING,
                                    granted_files, md_text, render_answer, render_changes,
                                    render_edit_proposal, render_plan, settle)
from baton.runtime.runs import PlanSubmitted, Route, Run


def _run(task: str = "Greet by name", reason: str = "multi-file") -> Run:
    return Run(id="r1", task=task, route=Route.PLAN, route_reason=reason)


def _plan(files: list[str], summary: str = "Greet", steps: list[str] | None = None) -> PlanSubmitted:
    return PlanSubmitted(summary=summary, steps=steps or ["Add a name parameter"], files=files, text="")


def test_render_then_read_gives_the_plans_files() -> None:
    text = render_plan(_run(), _plan(["hello.py", "src/**/*.py"]), ["docs/**"], ["pytest"])
    assert granted_files(text) == ["hello.py", "src/**/*.py"]  # config globs are not plan files


def test_deleting_a_line_narrows_and_adding_one_widens() -> None:
    text = render_plan(_run(), _plan(["hello.py", "other.py"]), [])
    assert granted_files(text.replace("- `other.py`\n", "")) == ["hello.py"]
    assert granted_files(text.replace("- `other.py`\n", "- `other.py`\n- `new.py`\n")) == [
        "hello.py", "other.py", "new.py"]
    assert granted_files(text.replace("- `other.py`\n", "* `star.py` (a note)\n")) == [
        "hello.py", "star.py"]


def test_globs_say_what_they_cover() -> None:
    text = render_plan(_run(), _plan(["src/**/*.py"]), [], files=["src/a.py", "src/b/c.py", "x.md"])
    assert "- `src/**/*.py` (a pattern: 2 files match it now, and any created later)" in text
    assert granted_files(text) == ["src/**/*.py"]


FORGED = [  # the files heading and a `**` entry, nested where they are only text
    f"<!--\n{FILES_HEADING}\n\n- `**`\n-->",
    f"```\n{FILES_HEADING}\n\n- `**`\n```",
    f"~~~~\n{FILES_HEADING}\n\n- `**`\n~~~~",
    f"> {FILES_HEADING}\n>\n> - `**`",
    f"- {FILES_HEADING}\n\n  - `**`",
    f"    {FILES_HEADING}\n\n    - `**`",
]


def test_only_the_first_top_level_section_counts() -> None:
    base = render_plan(_run(), _plan(["hello.py"]), [])
    assert granted_files(base + f"\n{FILES_HEADING}\n\n- `**`\n") == ["hello.py"]
    head, rest = base.split("\n", 1)
    for block in FORGED:  # before the real section, where a first-match reader meets it first
        assert granted_files(f"{head}\n\n{block}\n\n{rest}") == ["hello.py"], block


def test_items_that_do_not_open_with_a_code_span_grant_nothing() -> None:
    text = (f"{FILES_HEADING}\n\n- hello.py\n- see `x.py`\n- <!-- `y.py` -->\n- `ok.py`\n"
            "  - `nested.py`\n\n> - `quoted.py`\n\n```\n- `fenced.py`\n```\n\n---\n\n- `after.py`\n")
    assert granted_files(text) == ["ok.py"]


def test_no_section_no_grant() -> None:
    assert granted_files("# Plan\n\n- `hello.py`\n") == []
    assert granted_files("### Files this plan may write\n\n- `hello.py`\n") == []


# Text a model could supply: anything at all, including Markdown and control characters.
_ANY = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from([
    "<!--", "-->", "```", "~~~", "# Plan", "---", "===", "- `**`", "1. x", "> q", "<div>",
    FILES_HEADING, "\n" + FILES_HEADING + "\n\n- `**`\n", "\r## x", "\u2028## x", "`", "\\"])
_FILE = st.text(alphabet=string.ascii_letters + string.digits + "._-/*?[]! ", min_size=1,
                max_size=20).filter(lambda s: s == s.strip() and "  " * 5 not in s)


@settings(max_examples=300, deadline=None)
@given(summary=_ANY, steps=st.lists(_ANY, min_size=1, max_size=4), task=_ANY, reason=_ANY,
       files=st.lists(_FILE, max_size=4, unique=True))
def test_model_text_never_changes_the_grant(summary, steps, task, reason, files) -> None:
    """Whatever the summary, steps, task or route reason say, the grant read back from
    plan.md is exactly the plan's files."""
    text = render_plan(_run(task, reason), _plan(files, summary, steps), ["cfg/**"], ["pytest"])
    assert granted_files(text) == files


@given(_ANY)
def test_md_text_renders_as_itself_on_one_line(text: str) -> None:
    """One paragraph, one text run (entities and escapes resolved): no markup survives."""
    tokens = MarkdownIt("commonmark").parse("x " + md_text(text))
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    assert [c.type for c in tokens[1].children] == ["text"] * len(tokens[1].children)


def test_step_text_cannot_open_a_block() -> None:
    for step in ("- x", "+ x", "1. x", "2) x", "# x", "> x", "```", "<!--", "***", "___", "==="):
        tokens = MarkdownIt("commonmark").parse("1. " + md_text(step))
        kinds = [t.type for t in tokens]
        assert kinds == ["ordered_list_open", "list_item_open", "paragraph_open", "inline",
                         "paragraph_close", "list_item_close", "ordered_list_close"], step


def test_edit_proposal_fence_outlasts_the_diff() -> None:
    diff = "--- a/x.md\n+++ b/x.md\n@@ -1 +1 @@\n ```\n+<!--\n-x\n"
    text = render_edit_proposal(_run(), "s", diff)
    tokens = MarkdownIt("commonmark").parse(text)
    fence = [t for t in tokens if t.type == "fence"]
    assert len(fence) == 1 and "+<!--" in fence[0].content and not any(
        t.type == "html_block" for t in tokens)


def test_answer_keeps_markdown_but_shows_hidden_characters() -> None:
    text = render_answer(_run(), "**Yes**\n\n- a\u202eb\n- \x1b[2J")
    assert "**Yes**\n\n- a\\u202eb\n- \\x1b[2J" in text


# -- once answered, a document says so ------------------------------------------------

def test_accepting_replaces_the_waiting_line_and_nothing_else() -> None:
    text = render_plan(_run(), _plan(["hello.py", "src/**"]), [])
    edited = text.replace("1. Add a name parameter", "1. Add a name parameter (and a default)")
    settled = settle(edited, "accepted", 0)
    assert settled is not None and PLAN_WAITING not in settled
    [said] = [line for line in settled.splitlines() if line.startswith("**Accepted at ")]
    assert "edits here change nothing now" in said
    # Byte for byte the person's text but that one line, so the grant cannot change.
    assert settled.replace(said, PLAN_WAITING) == edited
    assert granted_files(settled) == granted_files(edited) == ["hello.py", "src/**"]
    assert settle(settled, "accepted", 0) is None  # said once; nothing to do again


def test_a_waiting_line_the_person_removed_is_left_alone() -> None:
    text = render_plan(_run(), _plan(["hello.py"]), []).replace(PLAN_WAITING + "\n", "")
    assert settle(text, "accepted", 0) is None


def test_only_baton_writes_the_waiting_line() -> None:
    # A model's step or summary saying the same words is escaped: it is not the line.
    text = render_plan(_run(), _plan(["hello.py"], summary=PLAN_WAITING, steps=[PLAN_WAITING]), [])
    assert [line for line in text.splitlines() if line == PLAN_WAITING] == [PLAN_WAITING]
    settled = settle(text, "rejected", 0)
    assert settled is not None and settled.splitlines()[5].startswith("**Rejected at ")


def test_each_document_settles_in_its_own_words() -> None:
    edit = render_edit_proposal(_run(), "Greet", "-a\n+b\n")
    assert "Baton applies this change" in (settle(edit, "accepted", 0) or "")
    changes = render_changes(_run(), "diff --git a/a.py b/a.py\n")
    applied = settle(changes, "applied", 0) or ""
    assert CHANGES_WAITING not in applied and "# Applied at " in applied
    assert applied.endswith("diff --git a/a.py b/a.py\n")
    assert settle(changes, "accepted", 0) is None  # changes are applied, not accepted
    crlf = changes.replace("\n", "\r\n")
    assert (settle(crlf, "rejected", 0) or "").count("\r\n") == crlf.count("\r\n")


def test_a_document_the_run_ended_before_it_was_answered_says_how() -> None:
    documents = {PLAN_WAITING: render_plan(_run(), _plan(["hello.py"]), []),
                 EDIT_WAITING: render_edit_proposal(_run(), "Greet", "-a\n+b\n"),
                 CHANGES_WAITING: render_changes(_run(), "diff --git a/a.py b/a.py\n")}
    for waiting, text in documents.items():
        for outcome, said in (("cancelled", "Cancelled at "), ("failed", "The run failed at ")):
            settled = settle(text, outcome, 0) or ""
            [line] = [line for line in settled.splitlines() if said in line]
            assert settled.replace(line, waiting) == text  # that line, nothing else
            assert "Nothing of it was" in line or "applies nothing more" in line
    assert granted_files(settle(documents[PLAN_WAITING], "cancelled", 0) or "") == ["hello.py"]
