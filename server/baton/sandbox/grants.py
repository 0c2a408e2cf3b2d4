"""What a run may write: the accepted plan's files (paths or globs), `[permissions] write`
from config, and what the person allowed for this run. Only the person widens a grant."""

from __future__ import annotations

import fnmatch


def _matches(pattern: str, path: str) -> bool:
    pattern = pattern.strip().lstrip("./") if pattern.startswith("./") else pattern.strip()
    if pattern.endswith("/"):
        return path.startswith(pattern)
    if any(c in pattern for c in "*?["):
        # `**/` may match no directory at all, as in git.
        return fnmatch.fnmatchcase(path, pattern) or (
            "**/" in pattern and fnmatch.fnmatchcase(path, pattern.replace("**/", "")))
    return path == pattern


class Grants:
    def __init__(self, plan_files: list[str], config_globs: list[str],
                 allowed: list[str] | None = None) -> None:
        self.plan_files = list(plan_files)
        self.config_globs = list(config_globs)
        self.allowed = list(allowed or [])  # granted by the person during the run

    def allows(self, path: str) -> bool:
        return any(_matches(p, path) for p in (*self.plan_files, *self.config_globs, *self.allowed))

    def allow_for_run(self, path: str) -> None:
        if path not in self.allowed:
            self.allowed.append(path)

    def describe(self) -> list[str]:
        lines = [f"`{p}` (from the plan)" for p in self.plan_files]
        lines += [f"`{p}` (from `[permissions] write`)" for p in self.config_globs]
        return lines
