"""The routing fast path: its decisions on clear cases, its deferrals, and the labelled set's goal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.agents.routing import RouteGuess, count_files_named, fast_route, promote_edit
from benchmarks.routing_eval import (
    DEFAULT_DATA,
    GOAL_ACCURACY,
    GOAL_DECIDED,
    evaluate,
    format_report,
    load_tasks,
    main,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "routing_tasks.jsonl"


def route(task: str, *, sel: bool = False, diag: bool = False) -> RouteGuess:
    return fast_route(task, has_selection=sel, has_diagnostic=diag)


@pytest.mark.parametrize("task", [
    "how does the journal rebuild runs after a restart?",
    "where is the shadow created",
    "Can you explain what promote_edit is for?",
    "should we migrate to uv?",  # names a migration, but asks whether
])
def test_questions_without_a_change_are_ask(task: str) -> None:
    guess = route(task)
    assert guess.route == "ask"
    assert guess.confidence >= 0.8
    assert "question" in guess.reason


@pytest.mark.parametrize("task,sel,diag", [
    ("add type hints", True, False),
    ("can you make this async?", True, False),  # a request phrased as a question
    ("why does this throw? fix it", True, False),  # a question, then a request
    ("fix", False, True),
    ("Fix: Undefined name 'json'", False, True),
])
def test_short_change_on_selection_or_diagnostic_is_edit(task: str, sel: bool, diag: bool) -> None:
    assert route(task, sel=sel, diag=diag).route == "edit"


@pytest.mark.parametrize("task,sel", [
    ("rename foo everywhere", False),
    ("rename this class everywhere", True),  # a selection does not bound "everywhere"
    ("update a.py, b.py and tests/test_c.py to support paging", False),
    ("move this function into its own module and update all callers", True),
    ("migrate the tests from nose to pytest", False),
])
def test_work_reaching_past_one_place_is_plan(task: str, sel: bool) -> None:
    assert route(task, sel=sel).route == "plan"


@pytest.mark.parametrize("task", [
    "the signup form accepts empty emails, fix it",  # a fix, but where and how big?
    "",
    "?!",
])
def test_unsure_defers_to_the_model(task: str) -> None:
    guess = route(task)
    assert guess.route is None
    assert guess.confidence == 0.0
    assert guess.reason


def test_files_named_overrides_the_count_in_the_text() -> None:
    task = "fix the typo in the readme"
    assert route(task).route is None  # nothing bounds it
    assert fast_route(task, has_selection=False, has_diagnostic=False, files_named=1).route == "edit"
    assert fast_route(task, has_selection=False, has_diagnostic=False, files_named=3).route == "plan"


def test_count_files_named() -> None:
    assert count_files_named("edit a.py, src/b.ts and .gitignore; see Dockerfile") == 4
    assert count_files_named("use os.path, e.g. v1.2.3, not the /users endpoint") == 0
    assert count_files_named("a.py and A.py and a.py") == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.booleans(), st.booleans())
def test_any_text_gives_a_valid_guess(task: str, sel: bool, diag: bool) -> None:
    guess = fast_route(task, has_selection=sel, has_diagnostic=diag)
    assert guess.route in ("ask", "edit", "plan", None)
    assert 0.0 <= guess.confidence <= 1.0 and guess.reason
    assert guess == fast_route(task, has_selection=sel, has_diagnostic=diag)  # deterministic


# --- promote_edit

def test_promote_when_the_change_leaves_the_selected_file() -> None:
    why = promote_edit(2, 6, "src/a.py", ["src/a.py", "src/b.py"], 40)
    assert why is not None and "src/b.py" in why and "src/a.py" in why


def test_promote_when_more_lines_than_allowed() -> None:
    why = promote_edit(1, 41, "a.py", ["a.py"], 40)
    assert why is not None and "41" in why and "40" in why


def test_promote_without_selection_when_several_files() -> None:
    assert promote_edit(2, 3, None, ["a.py", "b.py"], 40) is not None
    assert promote_edit(1, 3, None, ["a.py"], 40) is None


def test_no_promotion_for_a_small_change_to_the_selected_file() -> None:
    assert promote_edit(1, 40, "./src/a.py", ["src/a.py"], 40) is None  # path spelling does not matter
    assert promote_edit(0, 0, "a.py", [], 40) is None


def test_promotion_names_at_most_three_other_files() -> None:
    why = promote_edit(6, 6, "a.py", ["a.py", "b.py", "c.py", "d.py", "e.py", "f.py"], 40)
    assert why is not None and "2 more" in why


# --- the labelled set and its goal

def test_labelled_set_is_large_and_varied() -> None:
    tasks = load_tasks(DATA)
    assert len(tasks) >= 100
    assert len({t.task for t in tasks}) == len(tasks), "duplicate tasks"
    routes = {r: sum(t.route == r for t in tasks) for r in ("ask", "edit", "plan")}
    assert min(routes.values()) >= 25, routes
    assert sum(t.has_selection for t in tasks) >= 20
    assert sum(t.has_diagnostic for t in tasks) >= 10
    assert sum(t.split != "dev" for t in tasks) >= 40  # written after the rules, never tuned on


def test_fast_path_meets_its_goal_on_the_labelled_set() -> None:
    report = evaluate(DATA)
    assert report.accuracy >= GOAL_ACCURACY, format_report(report, DATA)
    assert report.decided_share >= GOAL_DECIDED, format_report(report, DATA)


def test_evaluator_counts_and_lists_misroutes(tmp_path: Path) -> None:
    rows = [
        {"task": "what does this do?", "has_selection": True, "has_diagnostic": False, "route": "ask"},
        {"task": "rename foo everywhere", "has_selection": False, "has_diagnostic": False,
         "route": "edit"},  # deliberately mislabelled
        {"task": "the login page is broken, fix it", "route": "edit"},  # deferred
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = evaluate(path)
    assert (report.total, report.decided, report.correct) == (3, 2, 1)
    assert [m.task for m in report.misrouted] == ["rename foo everywhere"]
    assert report.accuracy == 0.5 and not report.meets_goal
    assert main([str(path)]) == 1


def test_evaluator_rejects_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"task": "x", "route": "maybe"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        evaluate(path)


def test_main_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DATA)]) == 0
    out = capsys.readouterr().out
    assert "where it decides" in out and "goal met" in out
    assert DEFAULT_DATA == DATA
