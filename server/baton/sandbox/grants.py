"""What a run may write and run: the accepted plan's files (paths or globs),
`[permissions] write` and `[permissions] commands` from config, and what the person
allowed during the run. Only the person widens a grant: nothing here is reachable from a
model's tool call, and `allow_for_run` / `allow_command_for_run` are called by the engine
after the host's permission prompt answered `Allow for this run`.
"""

from __future__ import annotations

import re
import shlex
from functools import lru_cache

# -- path grants ---------------------------------------------------------------------


def _normalise(pattern: str) -> str | None:
    p = pattern.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    p = p.lstrip("/")
    if not p or ".." in p.split("/"):
        return None  # never matches: a grant cannot reach outside the workspace
    return p


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob anchored at the workspace root: `*` and `?` stay within one directory,
    `**` crosses directories, `**/` may match no directory at all (as in git)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


def path_matches(pattern: str, path: str) -> bool:
    """Whether a grant `pattern` covers the workspace-relative `path`. A plain path grants
    that file, or everything under it when it names a directory (`src/utils`)."""
    p = _normalise(pattern)
    if p is None:
        return False
    if p.endswith("/"):
        return path.startswith(p)
    if any(c in p for c in "*?["):
        return _glob_regex(p).match(path) is not None
    return path == p or path.startswith(p + "/")


# -- command grants ------------------------------------------------------------------

_SEPARATORS = {"|", "||", "&&", ";", "&"}
_OPERATOR_CHARS = set("();<>|&")


def _unquoted_dollar_or_backtick(command: str) -> bool:
    """Command substitution, parameter expansion or arithmetic anywhere but inside single
    quotes: what it expands to is unknown, so the command cannot be said to match."""
    quote = None
    escaped = False
    for ch in command:
        if escaped:
            escaped = False
            continue
        if quote == "'":
            if ch == "'":
                quote = None
            continue
        if ch == "\\":
            escaped = True
        elif ch == "`" or ch == "$":
            return True
        elif ch == '"':
            quote = None if quote == '"' else '"'
        elif ch == "'" and quote is None:
            quote = "'"
    return False


def split_command(command: str) -> list[list[str]] | None:
    """The simple commands of a pipeline / `&&` / `||` / `;` chain as word lists, or None
    when the command uses anything this cannot judge: substitution, expansion, subshells,
    here-docs, redirection into files, newlines, unbalanced quotes."""
    if not command.strip() or "\n" in command or "\r" in command:
        return None
    if _unquoted_dollar_or_backtick(command):
        return None
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    segments: list[list[str]] = [[]]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok and set(tok) <= _OPERATOR_CHARS:
            if tok in _SEPARATORS:
                if not segments[-1]:
                    return None  # `&& pytest`, `a ; ; b`
                segments.append([])
            elif tok in (">", ">>", ">|", "&>", "&>>"):
                # Output only to /dev/null; files written by redirection are decided by
                # asking, not by the prefix of the command that produced the output.
                if i + 1 >= len(tokens) or tokens[i + 1] != "/dev/null":
                    return None
                i += 1
            elif tok in (">&", "<&"):
                if i + 1 >= len(tokens) or not re.fullmatch(r"\d|-", tokens[i + 1]):
                    return None
                if segments[-1] and re.fullmatch(r"\d", segments[-1][-1]):
                    segments[-1].pop()  # the fd number of `2>&1`, not an argument
                i += 1
            elif tok == "<":
                if i + 1 >= len(tokens):
                    return None
                i += 1  # reading a file inside the sandbox changes nothing
            else:
                return None  # subshells, here-docs, `<<<`, `;;`, anything else
        else:
            segments[-1].append(tok)
        i += 1
    if not segments[-1]:
        if len(segments) > 1 and tokens[-1] == ";":
            segments.pop()  # a trailing `;` is harmless
        else:
            return None
    return segments


def command_allowed(command: str, prefixes: list[str]) -> bool:
    """True when every simple command of `command` starts with one of `prefixes`, compared
    word by word (`pytest` does not cover `pytest-evil`). Anything not clearly matching is
    False, which means: ask the person."""
    segments = split_command(command)
    if not segments:
        return False
    parsed = []
    for prefix in prefixes:
        try:
            words = shlex.split(prefix)
        except ValueError:
            continue
        if words:
            parsed.append(words)
    return all(any(seg[:len(w)] == w for w in parsed) for seg in segments)


class Grants:
    def __init__(self, plan_files: list[str], config_globs: list[str],
                 allowed: list[str] | None = None, command_prefixes: list[str] | None = None,
                 allowed_commands: list[str] | None = None) -> None:
        self.plan_files = list(plan_files)
        self.config_globs = list(config_globs)
        self.allowed = list(allowed or [])  # granted by the person during the run
        self.command_prefixes = list(command_prefixes or [])
        self.allowed_commands = list(allowed_commands or [])  # exact commands, by the person

    def allows(self, path: str) -> bool:
        return any(path_matches(p, path)
                   for p in (*self.plan_files, *self.config_globs, *self.allowed))

    def allow_for_run(self, path: str) -> None:
        if path not in self.allowed:
            self.allowed.append(path)

    def allows_command(self, command: str) -> bool:
        return command.strip() in self.allowed_commands or command_allowed(
            command, self.command_prefixes)

    def allow_command_for_run(self, command: str) -> None:
        if command.strip() not in self.allowed_commands:
            self.allowed_commands.append(command.strip())

    def describe(self) -> list[str]:
        """What accepting the plan grants, one line each, for plan.md."""
        def what(p: str) -> str:
            n = _normalise(p)
            if n is None:
                return f"`{p}` (matches nothing: outside the workspace)"
            if n.endswith("/"):
                return f"`{n}` and everything under it"
            if any(c in n for c in "*?["):
                return f"files matching `{n}`"
            return f"`{n}` (or everything under it if it is a directory)"
        lines = [f"write {what(p)} (from the plan)" for p in self.plan_files]
        lines += [f"write {what(p)} (from `[permissions] write`)" for p in self.config_globs]
        lines += [f"write {what(p)} (allowed by you for this run)" for p in self.allowed]
        lines += [f"run commands starting with `{c}` (from `[permissions] commands`)"
                  for c in self.command_prefixes]
        lines += [f"run `{c}` (allowed by you for this run)" for c in self.allowed_commands]
        return lines
