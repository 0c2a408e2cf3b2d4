"""The README's "Provider differences Baton handles" table names, per row, the tests that pin
it. A renamed or deleted test would leave the README claiming a guarantee nothing checks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _cited_tests(section: str) -> list[tuple[str, str | None]]:
    """(file reference, test name) for every backquoted reference in the tables' last column;
    `::name` continues the file named just before it."""
    cited: list[tuple[str, str | None]] = []
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("| ---"):
            continue
        current = None
        for ref in re.findall(r"`([^`]+)`", line.rstrip("|").rsplit("|", 1)[-1]):
            if ref.startswith("::"):
                cited.append((current or "", ref[2:]))
            elif ref.endswith(".py") or ".py::" in ref:
                current, _, name = ref.partition("::")
                cited.append((current, name or None))
    return cited


def _resolve(ref: str) -> list[Path]:
    if "/" in ref:
        return [ROOT / ref] if (ROOT / ref).is_file() else []
    return sorted((ROOT / "tests").rglob(ref))


def test_every_test_the_provider_table_names_exists() -> None:
    cited = _cited_tests(_section("Provider differences Baton handles"))
    assert len(cited) > 20
    problems = []
    for ref, name in cited:
        files = _resolve(ref)
        if len(files) != 1:
            problems.append(f"{ref}: {'no such file' if not files else 'ambiguous, give its path'}")
        elif name and not re.search(rf"^\s*(async )?def {re.escape(name)}\b", files[0].read_text(),
                                    re.MULTILINE):
            problems.append(f"{ref}::{name}: no such test")
    assert not problems, "\n".join(problems)
