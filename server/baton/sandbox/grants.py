"""What a run may write and run: the accepted plan's files (paths or globs),
`[permissions] write` and `[permissions] commands` from config, and what the person
allowed during the run. Only the person widens a grant: nothing here is reachable from a
model's tool call, and `allow_for_run` / `allow_command_for_run` are called by the engine
after the host's permission prompt answered `Allow for this run`.

A path the person allows during the run is that literal path, matched by equality: a file
named `**` grants that file, not the workspace. Only the plan's and the config's entries
are patterns. The glob language is deliberately smaller than gitignore's (no negation, no
comments, a file pattern never grants what is under a folder of that name): wcmatch's glob
with `**` (globstar), dot files matched and case kept. What wcmatch would quietly read
some other way (an empty range, a bracket that matches `/`) is refused first, as a
`BadPattern` with the reason for the model, never a matcher error.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from functools import lru_cache

from wcmatch import glob as wcglob

from ..display import code, visible
from .paths import PROTECTED

MAX_PLAN_FILES = 200  # a grant the person cannot read in one look is not a grant they gave
MAX_PATTERN = 1024
_GLOB_CHARS = frozenset("*?[")


class BadPattern(ValueError):
    """A grant pattern that cannot be parsed; the message says why, for the model."""


# -- path grants ---------------------------------------------------------------------


def _normalise(pattern: str) -> str | None:
    p = pattern.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    p = p.lstrip("/")
    if not p or ".." in p.split("/"):
        return None  # never matches: a grant cannot reach outside the workspace
    return p


def is_glob(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


GLOB_FLAGS = wcglob.GLOBSTAR | wcglob.DOTGLOB | wcglob.CASE


def _bracket(pattern: str, i: int) -> int | None:
    """Checks the bracket expression opening at `pattern[i]` and returns the index after
    it, or None when no `]` closes it (then `[` is literal). `[!ab]` and `[^ab]` negate, a
    `]` first in the set is literal, `a-z` is a range; a set must not reach `/`."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    start = j
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 1
    if j >= len(pattern):
        return None
    body = pattern[start:j]
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            lo, hi = body[k], body[k + 2]
            if lo > hi:
                raise BadPattern(f"the range {lo}-{hi} in [{body}] is empty (it must go "
                                 "from the lower character to the higher)")
            if lo <= "/" <= hi:
                raise BadPattern(f"the range {lo}-{hi} in [{body}] includes /; a bracket "
                                 "expression matches one character of a name")
            k += 3
        else:
            if body[k] == "/":
                raise BadPattern(f"[{body}] includes /; a bracket expression matches one "
                                 "character of a name")
            k += 1
    return j + 1


def _check(pattern: str) -> None:
    """BadPattern for a glob whose bracket expressions cannot be read as the person reads them."""
    i = 0
    while i < len(pattern):
        i = (_bracket(pattern, i) or i + 1) if pattern[i] == "[" else i + 1


def compile_grant(pattern: str) -> Callable[[str], bool]:
    """A matcher for one plan or config entry. A plain path grants that file, or everything
    under it when it names a directory (`src/utils`); a trailing `/` only what is under it.
    Raises BadPattern for a glob that cannot be parsed."""
    p = _normalise(pattern)
    if p is None:
        return lambda path: False
    if p.endswith("/"):
        return lambda path: path.startswith(p)
    if is_glob(p):
        _check(p)
        matcher = wcglob.compile(p, flags=GLOB_FLAGS)
        return lambda path: matcher.match(path)
    return lambda path: path == p or path.startswith(p + "/")


@lru_cache(maxsize=512)
def _matcher(pattern: str) -> Callable[[str], bool] | None:
    try:
        return compile_grant(pattern)
    except BadPattern:
        return None  # matches nothing; describe() says so


def path_matches(pattern: str, path: str) -> bool:
    """Whether a grant `pattern` covers the workspace-relative `path`; never raises (a
    pattern that cannot be parsed matches nothing)."""
    m = _matcher(pattern)
    return m is not None and m(path)


def literal(path: str) -> str:
    """A pattern matching exactly `path`, glob characters in its name included: the file a
    person chose to edit is that file, even one a repository named `**`."""
    return re.sub(r"[*?\[]", lambda m: f"[{m.group()}]", path)


def _as_literal(pattern: str) -> str | None:
    """The path a `literal` pattern stands for, or None if it is a real glob."""
    if not re.fullmatch(r"(?:[^*?\[]|\[[*?\[]\])*", pattern):
        return None
    return re.sub(r"\[([*?\[])\]", r"\1", pattern)


def check_plan_file(raw: str) -> str:
    """A `submit_plan` files entry as the grant will hold it, or BadPattern saying what to
    fix. Stricter than matching: the entry is shown to the person in plan.md exactly as
    written, so it must read as what it is."""
    if not raw or not raw.strip():
        raise BadPattern("an entry is empty; list workspace-relative paths or globs")
    shown = code(raw, limit=80)
    if visible(raw) != raw or "`" in raw:
        raise BadPattern(f"{shown} contains characters that cannot be shown as they are "
                         "(control or invisible characters, backticks, or a long run of spaces)")
    if raw != raw.strip():
        raise BadPattern(f"{shown} starts or ends with a space")
    if len(raw) > MAX_PATTERN:
        raise BadPattern(f"{shown} is longer than {MAX_PATTERN} characters")
    if "\\" in raw:
        raise BadPattern(f"{shown} contains a backslash; separate folders with /")
    if raw.startswith("/"):
        raise BadPattern(f"{shown} is absolute; paths are relative to the workspace root")
    p = _normalise(raw)
    if p is None:
        raise BadPattern(f"{shown} leaves the workspace")
    if any(part.casefold() in PROTECTED for part in p.split("/")):
        raise BadPattern(f"{shown}: .git/ and .baton/ are off limits to agents")
    try:
        compile_grant(p)
    except BadPattern as e:
        raise BadPattern(f"{shown} is not a valid pattern: {e}") from None
    return p


def glob_note(pattern: str, files: Iterable[str] | None = None) -> str:
    """How much a glob covers, for the person: counted against `files` (the workspace as
    listed now, git-ignored files left out) when given."""
    if files is None:
        return "(a pattern)"
    n = sum(1 for f in files if path_matches(pattern, f))
    count = "1 file matches" if n == 1 else f"{n} files match"
    return f"(a pattern: {count} it now, and any created later)"


def describe_pattern(pattern: str, files: Iterable[str] | None = None) -> str:
    """What one plan or config entry grants, for the person: a glob is shown as one, with
    what it covers."""
    p = _normalise(pattern)
    if p is None:
        return f"{code(pattern)} (matches nothing: outside the workspace)"
    if _matcher(pattern) is None:
        return f"{code(pattern)} (not a valid pattern: grants nothing)"
    if p.endswith("/"):
        return f"{code(p)} and everything under it"
    if is_glob(p) and (path := _as_literal(p)) is not None:
        return f"{code(path)}, this exact path"
    if is_glob(p):
        return f"files matching {code(p)} {glob_note(p, files)}"
    return f"{code(p)} (or everything under it if it is a directory)"


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
                 allowed_commands: list[str] | None = None,
                 allowed_tools: list[str] | None = None) -> None:
        self.plan_files = list(plan_files)
        self.config_globs = list(config_globs)
        self.allowed = list(allowed or [])  # literal paths, granted by the person during the run
        self.command_prefixes = list(command_prefixes or [])
        self.allowed_commands = list(allowed_commands or [])  # exact commands, by the person
        self.allowed_tools = list(allowed_tools or [])  # tools that ask, allowed for the run

    def allows(self, path: str) -> bool:
        return path in self.allowed or any(
            path_matches(p, path) for p in (*self.plan_files, *self.config_globs))

    def allow_for_run(self, path: str) -> None:
        """The person allowed this exact path for the rest of the run; never a pattern."""
        if path not in self.allowed:
            self.allowed.append(path)

    def allows_command(self, command: str) -> bool:
        return command.strip() in self.allowed_commands or command_allowed(
            command, self.command_prefixes)

    def allow_command_for_run(self, command: str) -> None:
        if command.strip() not in self.allowed_commands:
            self.allowed_commands.append(command.strip())

    def allow_tool_for_run(self, name: str) -> None:
        """The person allowed every call of the tool `name` for the rest of the run."""
        if name not in self.allowed_tools:
            self.allowed_tools.append(name)

    def describe(self, files: Iterable[str] | None = None) -> list[str]:
        """What the run may do, one line each; `files` (the workspace's listing) lets a
        glob say how many files it covers."""
        listed = list(files) if files is not None else None
        lines = [f"write {describe_pattern(p, listed)} (from the plan)" for p in self.plan_files]
        lines += [f"write {describe_pattern(p, listed)} (from `[permissions] write`)"
                  for p in self.config_globs]
        lines += [f"write {code(p)}, this exact path (allowed by you for this run)"
                  for p in self.allowed]
        lines += [f"run commands starting with {code(c)} (from `[permissions] commands`)"
                  for c in self.command_prefixes]
        lines += [f"run {code(c)} (allowed by you for this run)" for c in self.allowed_commands]
        lines += [f"call the tool {code(t)} (allowed by you for this run)" for t in self.allowed_tools]
        return lines
