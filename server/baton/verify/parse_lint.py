"""Linters' and type checkers' messages: one `Diagnostic` per `path:line:col` report.

Formats read, each an anchored line pattern:
- `path:line:col: CODE message`: ruff (concise), flake8, mypy with columns, eslint's unix
  formatter (`[Error/rule]` at the end);
- `path:line: error: message  [code]`: mypy (notes are left out: they explain an error);
- `CODE message` then ` --> path:line:col`: ruff's default (full) format;
- `path(line,col): error TS1234: message`: tsc; `path:line:col - error TS1234: message`:
  tsc --pretty; `  path:line:col - error: message (rule)`: pyright;
- eslint's stylish format: a file's path alone on a line, then `  line:col  error  message  rule`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .outcome import MAX_DIAGNOSTICS, MAX_ID, MAX_MESSAGE, Diagnostic, Parsed, bounded, workspace_path

_COLON = re.compile(r"^(?P<path>[^\s:|][^:|]*):(?P<line>\d+):(?P<col>\d+):? (?P<msg>\S.*)$")
_MYPY = re.compile(r"^(?P<path>[^\s:|][^:|]*):(?P<line>\d+):(?:(?P<col>\d+):)? "
                   r"(?P<sev>error|warning|note): (?P<msg>.+?)(?:  \[(?P<code>[\w-]+)\])?$")
_FULL_HEAD = re.compile(r"^(?P<code>[A-Z]+[0-9]+|[a-z][a-z-]+)(?: \[\*\])?:? (?P<msg>\S.*)$")
_FULL_WHERE = re.compile(r"^\s*--> (?P<path>.+?):(?P<line>\d+):(?P<col>\d+)$")
_TSC = re.compile(r"^(?P<path>[^\s(][^(]*)\((?P<line>\d+),(?P<col>\d+)\): "
                  r"(?P<sev>error|warning) (?P<code>TS\d+): (?P<msg>.+)$")
_DASH = re.compile(r"^(?P<indent>\s*)(?P<path>\S[^:]*?):(?P<line>\d+):(?P<col>\d+) - "
                   r"(?P<sev>error|warning|information)(?: (?P<code>TS\d+))?: (?P<msg>.*)$")
_STYLISH_FILE = re.compile(r"^(?P<path>(?:/|[A-Za-z]:\\|\.{0,2}/?)\S[^\s:]*\.\w+)$")
_STYLISH = re.compile(r"^\s+(?P<line>\d+):(?P<col>\d+)\s+(?P<sev>error|warning)\s+"
                      r"(?P<msg>\S.*?)(?:\s{2,}(?P<code>[\w@/.-]+))?$")
_CODE_FIRST = re.compile(r"^(?P<code>[A-Z]+[0-9]+)\b(?: \[\*\])? ?(?P<msg>.*)$")
_CODE_LAST = re.compile(r"^(?P<msg>.*?)\s*\[(?:Error|Warning)/(?P<code>[\w@/.-]+)\]$")
_PYRIGHT_RULE = re.compile(r"\((?P<code>report\w+)\)$")


def parse_lint(lines: Sequence[str], roots: Sequence[Path]) -> Parsed | None:
    """The messages in `lines`, or None when none of the formats is there."""
    found: list[Diagnostic] = []
    more = False

    def add(path: str, line: str, col: str | None, code: str | None, msg: str, sev: str = "error") -> None:
        nonlocal more
        if len(found) >= MAX_DIAGNOSTICS:
            more = True
            return
        found.append(Diagnostic(path=workspace_path(path, roots), line=int(line),
                                col=int(col) if col else None, code=bounded(code or "", MAX_ID),
                                message=bounded(msg.strip(), MAX_MESSAGE), severity=sev))

    stylish_file: str | None = None
    for i, line in enumerate(lines):
        if m := _MYPY.match(line):
            if m["sev"] != "note":
                add(m["path"], m["line"], m["col"], m["code"], m["msg"], m["sev"])
        elif m := _DASH.match(line):
            if m["sev"] == "information":
                continue
            msg, code = m["msg"], m["code"]
            if not code:  # pyright: the rule ends the message's last continuation line
                msg, code = _pyright_rest(lines, i, len(m["indent"]), msg)
            add(m["path"], m["line"], m["col"], code, msg, m["sev"])
        elif m := _COLON.match(line):
            msg, code = m["msg"], None
            if (c := _CODE_FIRST.match(msg)) or (c := _CODE_LAST.match(msg)):
                msg, code = c["msg"], c["code"]
            add(m["path"], m["line"], m["col"], code, msg)
        elif m := _TSC.match(line):
            add(m["path"], m["line"], m["col"], m["code"], m["msg"], m["sev"])
        elif m := _FULL_WHERE.match(line):
            head = _full_head(lines, i)
            if head:
                add(m["path"], m["line"], m["col"], head["code"], head["msg"])
        elif m := _STYLISH.match(line):
            if stylish_file:
                add(stylish_file, m["line"], m["col"], m["code"], m["msg"], m["sev"])
        elif (m := _STYLISH_FILE.match(line)):
            stylish_file = m["path"]
        elif not line.strip():
            stylish_file = None
    if not found:
        return None
    return Parsed(kind="lint", diagnostics=found, truncated=more)


def _full_head(lines: Sequence[str], i: int) -> re.Match[str] | None:
    """The `CODE message` line right above a ` --> path:line:col` line."""
    return _FULL_HEAD.match(lines[i - 1]) if i > 0 else None


def _pyright_rest(lines: Sequence[str], i: int, indent: int, msg: str) -> tuple[str, str]:
    parts = [msg]
    for line in lines[i + 1:i + 20]:
        if len(line) - len(line.lstrip()) <= indent or not line.strip():
            break
        parts.append(line.strip())
    text = " ".join(p for p in parts if p)
    rule = _PYRIGHT_RULE.search(text)
    if rule:
        return text[:rule.start()].rstrip(), rule["code"]
    return text, ""
