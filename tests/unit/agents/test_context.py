"""Context per role: truncation, project instructions, the repository map, budgets and order."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.agents.context import (
    ROLES,
    build_context,
    default_budget,
    estimate_tokens,
    project_instructions,
    repo_map,
    repo_map_budget,
    truncate,
)

# --- truncate


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000), st.integers(min_value=-5, max_value=2500),
       st.sampled_from(["head", "tail", "middle"]))
def test_truncate_fits_is_deterministic_and_leaves_short_text_alone(text: str, budget: int,
                                                                     keep: str) -> None:
    out = truncate(text, budget, keep)  # type: ignore[arg-type]
    assert len(out) <= max(budget, 0)
    assert out == truncate(text, budget, keep)  # type: ignore[arg-type]
    if 0 < len(text) <= budget:
        assert out == text


def test_truncate_head_keeps_whole_lines_and_says_how_much_was_cut() -> None:
    text = "".join(f"line {i}\n" for i in range(100))  # 790 chars
    out = truncate(text, 100, "head")
    assert out.startswith("line 0\nline 1\n")
    kept, marker = out.rsplit("\n", 1)
    assert kept.endswith("line 9") or kept.endswith("line 10")  # cut at a line end
    assert marker == f"[… {len(text) - len(kept) - 1} characters cut]"


def test_truncate_tail_and_middle() -> None:
    text = "".join(f"line {i}\n" for i in range(100))
    tail = truncate(text, 100, "tail")
    assert tail.startswith("[… ") and tail.endswith("line 99\n")
    middle = truncate(text, 120, "middle")
    assert middle.startswith("[… ") and middle.rstrip().endswith("characters cut]")
    assert "line 49" in middle or "line 50" in middle
    assert "line 0\n" not in middle and "line 99" not in middle


# --- project instructions


def test_project_instructions_labels_caps_and_dedupes(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Use tabs.\n" * 2000)
    (tmp_path / "CLAUDE.md").symlink_to("AGENTS.md")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "copilot-instructions.md").write_text("Prefer pathlib.")
    (tmp_path / ".baton").mkdir()
    (tmp_path / ".baton" / "instructions.md").write_text("   \n")  # empty: left out
    out = project_instructions(tmp_path, file_cap=500)
    assert out.index("## AGENTS.md") < out.index("## CLAUDE.md") < out.index(
        "## .github/copilot-instructions.md")
    assert "## CLAUDE.md\n(same text as AGENTS.md)" in out
    assert "characters cut" in out and len(out) < 800
    assert "Prefer pathlib." in out and ".baton/instructions.md" not in out


def test_project_instructions_never_follow_a_symlink_out_of_the_workspace(tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("SECRET")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "AGENTS.md").symlink_to(secret)
    assert project_instructions(ws) == ""


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")


# --- build_context

BUFFERS = {"src/app.py": "def main():\n    run()\n" * 50, "src/util.py": "X = 1\n" * 30}


def _ctx(role: str, **over: object) -> tuple[str, str]:
    args: dict[str, object] = dict(
        task="make main() return an exit code", selection="    run()\n",
        selection_path="src/app.py", diagnostic="src/app.py:2: error: missing return",
        open_buffers=BUFFERS, instructions="## AGENTS.md\nRun pytest before finishing.",
        repo_map="2 files\nsrc/  app.py  util.py", plan="1. return 0 from main",
        diff="--- a/src/app.py\n+++ b/src/app.py\n", budget_chars=20_000)
    args.update(over)
    return build_context(role, **args)  # type: ignore[arg-type]


def test_planner_sees_instructions_map_then_the_task_and_code() -> None:
    stable, part = _ctx("planner")
    assert stable.index("# Project instructions") < stable.index("# Repository map")
    assert "Run pytest before finishing." in stable and "src/  app.py" in stable
    for title in ("# Task", "# Selection (src/app.py)", "# Diagnostic", "# Open buffers",
                  "## src/app.py", "## src/util.py"):
        assert title in part
    assert part.index("## src/app.py") < part.index("## src/util.py")  # selected file first
    assert "Accepted plan" not in part and "Changes so far" not in part  # not the planner's


@pytest.mark.parametrize("role", ["implementer", "reviewer"])
def test_implementer_and_reviewer_also_get_plan_and_diff(role: str) -> None:
    _, part = _ctx(role)
    assert part.index("# Task") < part.index("# Accepted plan") < part.index("# Changes so far")
    assert "1. return 0 from main" in part and "```diff\n--- a/src/app.py" in part


def test_classifier_gets_only_the_task_and_a_summary() -> None:
    stable, part = _ctx("classifier")
    assert stable == ""
    assert part.startswith("# Task\nmake main() return an exit code")
    assert "a selection of 1 line in src/app.py" in part
    assert "2 open file(s): src/app.py, src/util.py" in part
    assert "run()" not in part and "Run pytest" not in part  # no code, no instructions


def test_the_stable_prefix_does_not_depend_on_the_task() -> None:
    a, _ = _ctx("implementer")
    b, _ = _ctx("implementer", task="something else entirely " * 200, selection=None,
                open_buffers={"x.py": "y" * 50_000}, diff="+" * 30_000, plan="other")
    assert a == b


@settings(max_examples=60, deadline=None)
@given(role=st.sampled_from(ROLES), budget=st.integers(min_value=1_500, max_value=30_000),
       # A blank task never reaches here: baton.run refuses it at the boundary.
       task=st.text(min_size=1, max_size=3000).filter(str.strip), buf=st.text(max_size=20_000),
       diff=st.text(max_size=20_000), instr=st.text(max_size=8000))
def test_context_fits_the_budget(role: str, budget: int, task: str, buf: str, diff: str,
                                 instr: str) -> None:
    stable, part = build_context(
        role, task=task, selection=buf[:500] or None, selection_path="a.py",
        diagnostic="E1 bad", open_buffers={"a.py": buf, "b.py": buf[::-1]}, instructions=instr,
        repo_map="map\n" * 2000, plan="plan " * 3000, diff=diff, budget_chars=budget)
    assert len(stable) + 2 + len(part) <= budget
    assert part.startswith("# Task\n")
    assert (stable, part) == build_context(
        role, task=task, selection=buf[:500] or None, selection_path="a.py",
        diagnostic="E1 bad", open_buffers={"a.py": buf, "b.py": buf[::-1]}, instructions=instr,
        repo_map="map\n" * 2000, plan="plan " * 3000, diff=diff, budget_chars=budget)


def test_unused_share_goes_to_the_sections_that_need_it() -> None:
    # Little else to show: the one big buffer gets nearly the whole per-run budget.
    _, part = _ctx("planner", diagnostic=None, selection=None, open_buffers={"big.py": "z" * 50_000},
                   budget_chars=10_000)
    assert part.count("z") > 6_000


def test_small_buffer_shares_are_named_not_shown() -> None:
    many = {f"f{i:02}.py": "q" * 5_000 for i in range(40)}
    _, part = _ctx("planner", open_buffers=many, selection_path=None, budget_chars=8_000)
    assert "Also open, not shown:" in part


def test_a_fence_inside_code_does_not_break_the_block() -> None:
    _, part = _ctx("planner", selection="x = '''\n```\n'''\n")
    assert "````\nx = '''\n```\n'''\n\n````" in part


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        _ctx("janitor")


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0 and estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2


def test_a_map_sized_by_repo_map_budget_is_kept_whole(tmp_path: Path) -> None:
    _tree(tmp_path, [f"d{i}/f{j}.py" for i in range(40) for j in range(20)])
    instructions = "## AGENTS.md\n" + "be careful\n" * 100
    budget = repo_map_budget("implementer", 20_000, instructions)
    the_map = repo_map(tmp_path, budget)
    assert "more files" in the_map  # the map was cut by its own rules
    stable, _ = build_context("implementer", task="t", selection=None, selection_path=None,
                              diagnostic=None, open_buffers={}, instructions=instructions,
                              repo_map=the_map, plan=None, diff=None, budget_chars=20_000)
    assert the_map in stable and "characters cut" not in stable


def test_default_budgets_give_single_role_routes_less() -> None:
    assert default_budget("planner", "ask") < default_budget("planner", "plan")
    assert default_budget("implementer", "edit") < default_budget("implementer", "plan")
    assert default_budget("classifier", "ask") == default_budget("classifier", "plan")


def test_a_small_window_shrinks_the_budget_to_leave_room_for_the_conversation():
    from baton.agents.context import default_budget
    assert default_budget("implementer", "plan", 200_000) == default_budget("implementer", "plan")
    assert default_budget("implementer", "plan", 8_192) == int(8_192 * 0.3 * 4)  # ~2.5k tokens
    assert default_budget("classifier", "plan", 8_192) == 2_000
