"""Base → change: only what the change brought counts; and how the result is said."""

from __future__ import annotations

from baton.verify.compare import compare
from baton.verify.outcome import Counts, Diagnostic, FailedTest, Outcome
from baton.verify.report import MESSAGE_CHARS, VerifyResult


def ran_tests(side: str, failing: list[str], passed: int, exit_code: int | None = None, **kw) -> Outcome:
    return Outcome(command="pytest -q", side=side, kind="tests",
                   exit_code=(1 if failing else 0) if exit_code is None else exit_code,
                   counts=Counts(passed=passed, failed=len(failing)),
                   failed=[FailedTest(id=i, message="assert 1 == 2", path="tests/test_a.py", line=3,
                                      excerpt=f"E   assert 1 == 2 ({i})") for i in failing], **kw)


def lint(side: str, diags: list[tuple[str, int, str, str]], exit_code: int | None = None) -> Outcome:
    return Outcome(command="ruff check .", side=side, kind="lint",
                   exit_code=(1 if diags else 0) if exit_code is None else exit_code,
                   diagnostics=[Diagnostic(path=p, line=n, col=1, code=c, message=m) for p, n, c, m in diags])


def plain(side: str, exit_code: int | None, *, timed_out: bool = False, error: str | None = None) -> Outcome:
    return Outcome(command="make check", side=side, exit_code=exit_code, timed_out=timed_out,
                   error=error, tail="check: step 3 failed\n")


def test_new_failing_tests_only() -> None:
    r = compare(ran_tests("change", ["t::old", "t::new"], 10), ran_tests("base", ["t::old", "t::gone"], 10))
    assert [f.label for f in r.new] == ["t::new"]
    assert (r.before, r.fixed) == (1, 1)
    [f] = r.new
    assert (f.kind, f.path, f.line) == ("test", "tests/test_a.py", 3)
    assert "assert 1 == 2" in f.detail


def test_pre_existing_failures_alone_are_not_new() -> None:
    r = compare(ran_tests("change", ["t::old"], 11), ran_tests("base", ["t::old"], 10))
    assert r.new == [] and r.before == 1 and r.problem is None


def test_lint_messages_compared_modulo_moved_lines_as_a_multiset() -> None:
    base = lint("base", [("a.py", 1, "F401", "`os` imported but unused"),
                         ("a.py", 7, "E501", "Line too long (120 > 88)"),
                         ("a.py", 9, "E501", "Line too long (120 > 88)"),
                         ("b.py", 2, "F841", "Local variable `x` is assigned to but never used")])
    change = lint("change", [("a.py", 4, "F401", "`os` imported but unused"),     # moved down 3 lines
                             ("a.py", 10, "E501", "Line too long (120 > 88)"),
                             ("a.py", 12, "E501", "Line too long (120 > 88)"),
                             ("a.py", 13, "E501", "Line too long (120 > 88)"),   # a third one: new
                             ("b.py", 2, "F841", "Local variable `y` is assigned to but never used")])
    r = compare(change, base)
    assert [(f.path, f.line, f.label) for f in r.new] == [("a.py", 13, "a.py:13 E501"),
                                                          ("b.py", 2, "b.py:2 F841")]
    assert r.before == 3


def test_line_numbers_inside_messages_are_blurred() -> None:
    base = lint("base", [("a.py", 5, "F811", "Redefinition of unused `f` from line 2")])
    change = lint("change", [("a.py", 8, "F811", "Redefinition of unused `f` from line 5")])
    assert compare(change, base).new == []


def test_a_command_that_passed_and_now_fails_is_new_even_unparsed() -> None:
    r = compare(plain("change", 2), plain("base", 0))
    [f] = r.new
    assert f.kind == "command" and "exits 2" in f.message and "step 3 failed" in f.detail
    assert compare(plain("change", 2), plain("base", 1)).new == []  # failing before too
    assert compare(plain("change", 2), plain("base", 1)).before == 1


def test_exit_status_judges_not_output_that_claims_success() -> None:
    """The output says 12 passed and names no failure; the exit status says it failed."""
    change = ran_tests("change", [], 12, exit_code=1)
    r = compare(change, ran_tests("base", [], 12))
    assert [f.kind for f in r.new] == ["command"]
    assert not VerifyResult.of([r]).passed


def test_timeouts() -> None:
    r = compare(plain("change", None, timed_out=True), plain("base", 0))
    assert [f.message for f in r.new] == ["`make check` timed out"]
    both = compare(plain("change", None, timed_out=True), plain("base", None, timed_out=True))
    assert both.new == [] and "timed out" in both.problem
    assert not VerifyResult.of([both]).passed  # no verdict is no pass


def test_without_a_usable_base_every_failure_counts() -> None:
    r = compare(ran_tests("change", ["t::a"], 3), plain("base", None, error="the run's time is used up"))
    assert [f.label for f in r.new] == ["t::a"]
    r = compare(plain("change", None, error="no sandbox"), None)
    assert r.problem == "not run: no sandbox" and r.new == []


def test_summaries() -> None:
    passed = VerifyResult.of([compare(ran_tests("change", [], 212), None),
                              compare(lint("change", []), None)])
    assert passed.passed and passed.summary == "212 passed, 0 new lint messages"
    before = VerifyResult.of([compare(ran_tests("change", ["t::old"], 211), ran_tests("base", ["t::old"], 211)),
                              compare(lint("change", [("a.py", 2, "F401", "x")]),
                                      lint("base", [("a.py", 1, "F401", "x")]))])
    assert before.passed
    assert before.summary == "211 passed (1 failing before the change too), 0 new lint messages (1 there before)"
    failing = VerifyResult.of([compare(ran_tests("change", ["t::a", "t::b", "t::c", "t::d"], 5), None)])
    assert not failing.passed
    assert failing.summary == "4 new failures: t::a, t::b, t::c, … (1 more)"
    assert failing.notice() == {"passed": False, "summary": failing.summary}


def test_shown_text_is_escaped_and_bounded() -> None:
    evil = "t::x\x1b[2J\u202eevil"
    out = ran_tests("change", [evil], 1)
    out.failed[0].excerpt = "E   boom\x1b]0;title\x07\n" + "line\n" * 5000
    result = VerifyResult.of([compare(out, None)])
    for text in (result.summary, result.feedback(), result.review_section()):
        assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[2J\\u202eevil" in result.summary
    many = ran_tests("change", [f"t::{i}" for i in range(400)], 1)
    for t in many.failed:
        t.excerpt = "x" * 3000
    text = VerifyResult.of([compare(many, None)]).feedback()
    assert len(text) < MESSAGE_CHARS + 500 and "more not shown" in text
