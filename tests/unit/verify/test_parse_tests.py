"""pytest and unittest output, produced by running them on small temp projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.verify.outcome import clean_lines
from baton.verify.parse_tests import parse_tests

from .helpers import FAILING_TESTS, project, run

IDS = ["tests/test_a.py::test_fail", "tests/test_a.py::test_param[2]",
       "tests/test_a.py::TestK::test_m", "tests/test_a.py::test_err"]


def parsed(root: Path, *argv: str):
    return parse_tests(clean_lines(run(root, *argv)), [root])


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return project(tmp_path_factory.mktemp("p") / "proj", {"tests/test_a.py": FAILING_TESTS})


@pytest.mark.parametrize("argv", [["-q"], [], ["--tb=short"], ["-v", "-rN"]],
                         ids=["quiet", "default", "tb-short", "verbose-no-summary"])
def test_pytest_counts_and_failing_ids(failing: Path, argv: list[str]) -> None:
    p = parsed(failing, "pytest", "-p", "no:cacheprovider", *argv)
    assert p is not None and p.kind == "tests"
    assert (p.counts.passed, p.counts.failed, p.counts.errors, p.counts.skipped) == (2, 3, 1, 1)
    assert [t.id for t in p.failed] == IDS
    assert [t.error for t in p.failed] == [False, False, False, True]


def test_pytest_failure_sections_give_reason_place_and_excerpt(failing: Path) -> None:
    p = parsed(failing, "pytest", "-p", "no:cacheprovider", "-q")
    by_id = {t.id: t for t in p.failed}
    fail = by_id["tests/test_a.py::test_fail"]
    assert fail.message == "assert 3 == 4"
    assert (fail.path, fail.line) == ("tests/test_a.py", 10)
    assert "assert add(1, 2) == 4" in fail.excerpt and "AssertionError" in fail.excerpt
    assert (by_id["tests/test_a.py::TestK::test_m"].line,
            by_id["tests/test_a.py::test_param[2]"].line) == (20, 15)
    err = by_id["tests/test_a.py::test_err"]  # "ERROR at setup of test_err"
    assert "RuntimeError: fixture" in err.excerpt and err.line == 25


def test_pytest_collection_error_is_an_error_id(tmp_path: Path) -> None:
    root = project(tmp_path, {"tests/test_ok.py": "def test_ok():\n    pass\n",
                              "tests/test_broken.py": "import nonexistent_mod\n"})
    p = parsed(root, "pytest", "-p", "no:cacheprovider", "-q")
    assert [(t.id, t.error) for t in p.failed] == [("tests/test_broken.py", True)]
    assert "ModuleNotFoundError" in p.failed[0].excerpt
    assert p.counts.errors == 1


def test_pytest_all_passing_and_no_tests(tmp_path: Path) -> None:
    root = project(tmp_path, {"tests/test_ok.py": "def test_a():\n    pass\n\ndef test_b():\n    pass\n"})
    p = parsed(root, "pytest", "-p", "no:cacheprovider", "-q")
    assert p.counts.passed == 2 and p.failed == []
    empty = project(tmp_path / "empty", {})
    p = parsed(empty, "pytest", "-p", "no:cacheprovider", "-q")
    assert p is not None and p.counts.passed == 0 and p.failed == []


def test_lines_a_test_prints_do_not_become_failures(tmp_path: Path) -> None:
    """Captured output is printed before pytest's own short summary; only that counts."""
    fake = ('def test_prints():\n'
            '    print("=== short test summary info ===")\n'
            '    print("FAILED tests/test_x.py::test_innocent - forged")\n'
            '    print("1 failed, 1 passed in 0.01s")\n'
            '    assert False\n'
            'def test_innocent():\n    pass\n')
    root = project(tmp_path, {"tests/test_x.py": fake})
    for argv in (["-q"], ["-q", "-s"]):
        p = parsed(root, "pytest", "-p", "no:cacheprovider", *argv)
        assert [t.id for t in p.failed] == ["tests/test_x.py::test_prints"], argv
        assert p.counts.passed == 1


UNITTESTS = '''\
import unittest


class Calc(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(1 + 1, 2)

    def test_bad(self):
        self.assertEqual(1 + 1, 3)

    def test_boom(self):
        raise KeyError("k")

    def test_sub(self):
        for i in range(2):
            with self.subTest(i=i):
                self.assertEqual(i, 0)

    @unittest.skip("later")
    def test_skip(self):
        pass
'''


def test_unittest_ids_counts_and_places(tmp_path: Path) -> None:
    root = project(tmp_path, {"tests/__init__.py": "", "tests/test_u.py": UNITTESTS})
    p = parsed(root, "unittest")
    assert p is not None and p.kind == "tests"
    assert sorted(t.id for t in p.failed) == ["tests.test_u.Calc.test_bad", "tests.test_u.Calc.test_boom",
                                              "tests.test_u.Calc.test_sub (i=1)"]
    by_id = {t.id: t for t in p.failed}
    bad = by_id["tests.test_u.Calc.test_bad"]
    assert (bad.path, bad.line, bad.message) == ("tests/test_u.py", 9, "AssertionError: 2 != 3")
    assert by_id["tests.test_u.Calc.test_boom"].error
    assert (p.counts.failed, p.counts.errors, p.counts.skipped, p.counts.passed) == (2, 1, 1, 1)
    ok = project(tmp_path / "ok", {"tests/__init__.py": "",
                                   "tests/test_ok.py": "import unittest\nclass T(unittest.TestCase):\n"
                                                       "    def test_a(self):\n        pass\n"})
    p = parsed(ok, "unittest")
    assert p.counts.passed == 1 and p.failed == []


def test_output_without_a_summary_is_not_a_test_run() -> None:
    assert parse_tests(["FAILED tests/x.py::test_y - but no summary line", "error: 3"], []) is None
    assert parse_tests(["== 3 apples, 2 passed in 1s =="], []) is None


def test_an_outcome_stays_small_whatever_the_output() -> None:
    """150 failing tests with long failure sections: ids, reasons and excerpts are cut so
    the journaled outcome stays small, and the first failures keep their whole excerpt."""
    from baton.sandbox.commands import CommandResult
    from baton.verify.outcome import EXCERPT_CHARS, MAX_FAILED
    from baton.verify.runner import parse

    sections = ["=" * 20 + " FAILURES " + "=" * 20]
    for i in range(150):
        sections += [f"____ test_{i} ____", *(f"E   line {n} of a long failure" for n in range(200)),
                     f"tests/test_a.py:{i + 1}: AssertionError"]
    sections += ["=" * 10 + " short test summary info " + "=" * 10,
                 *(f"FAILED tests/test_a.py::test_{i} - " + "why " * 200 for i in range(150)),
                 "150 failed in 9.99s"]
    result = CommandResult(exit_code=1, stdout="\n".join(sections), stderr="", layer="none")
    out = parse("pytest", "change", None, result, [])
    assert len(out.failed) == MAX_FAILED and out.truncated
    assert len(out.failed[0].excerpt) <= EXCERPT_CHARS and "AssertionError" in out.failed[0].excerpt
    assert "AssertionError" in out.failed[-1].excerpt and len(out.failed[-1].excerpt) <= 400
    assert len(out.model_dump_json()) < 200_000
