"""Where each key of a TOML document is written: `key_lines(text)` maps every key path
(`[table]` and `[[array]]` headers, `key =` lines, dotted keys, keys of inline tables, array
items) to its 1-based line.

tomllib parses but keeps no positions, and a configuration error must name the line a
person edits. The scanner runs only on text tomllib has accepted, so it may assume valid
TOML; should it meet anything else it returns what it found so far (an error then names a
table's line, or no line), never raises.
"""

from __future__ import annotations

import bisect
import re
import tomllib

KeyPath = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n\r#]")


def key_lines(text: str) -> dict[KeyPath, int]:
    scanner = _Scanner(text)
    try:
        scanner.document()
    except (IndexError, ValueError, RecursionError, tomllib.TOMLDecodeError):
        pass  # not valid TOML after all: keep what was found
    return scanner.lines


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.lines: dict[KeyPath, int] = {}
        self._newlines = [m.start() for m in re.finditer("\n", text)]
        self._arrays: dict[KeyPath, int] = {}  # [[name]] → how many so far

    def line(self) -> int:
        return bisect.bisect_left(self._newlines, self.i) + 1

    def mark(self, path: KeyPath, line: int) -> None:
        """`path` and each table above it are written at `line` unless written earlier."""
        for n in range(1, len(path) + 1):
            self.lines.setdefault(path[:n], line)

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.blank(newlines=True)
            if self.i >= len(self.s):
                return
            line = self.line()
            if self.s.startswith("[[", self.i):
                self.i += 2
                name = self.key()
                self.expect("]]")
                n = self._arrays.get(name, 0)
                self._arrays[name] = n + 1
                table = name + (n,)
                self.mark(table, line)
            elif self.s[self.i] == "[":
                self.i += 1
                table = self.key()
                self.expect("]")
                self.mark(table, line)
            else:
                self.pair(table)

    def pair(self, table: KeyPath) -> None:
        line = self.line()
        path = table + self.key()
        self.expect("=")
        self.mark(path, line)
        self.value(path)

    def value(self, path: KeyPath) -> None:
        self.blank()
        c = self.s[self.i]
        if c in "\"'":
            self.string()
        elif c == "[":
            self.i += 1
            index = 0
            while True:
                self.blank(newlines=True)
                if self.s[self.i] == "]":
                    self.i += 1
                    return
                self.mark(path + (index,), self.line())
                self.value(path + (index,))
                index += 1
                self.blank(newlines=True)
                if self.s[self.i] == ",":
                    self.i += 1
        elif c == "{":
            self.i += 1
            while True:
                self.blank(newlines=True)
                if self.s[self.i] == "}":
                    self.i += 1
                    return
                self.pair(path)
                self.blank(newlines=True)
                if self.s[self.i] == ",":
                    self.i += 1
        else:  # a number, boolean or date: up to what ends a value
            end = _SCALAR_END.search(self.s, self.i)
            self.i = end.start() if end else len(self.s)

    def key(self) -> KeyPath:
        parts: list[str] = []
        while True:
            self.blank()
            if self.s[self.i] in "\"'":
                raw = self.string()
                parts.append(next(iter(tomllib.loads(f"{raw} = 0"))))
            else:
                m = _BARE.match(self.s, self.i)
                if m is None:
                    raise ValueError(f"no key at {self.i}")
                parts.append(m.group())
                self.i = m.end()
            self.blank()
            if self.s[self.i] != ".":
                return tuple(parts)
            self.i += 1

    def string(self) -> str:
        """Skips the string at `i` (any of TOML's four kinds); returns its source text."""
        s, start = self.s, self.i
        for fence in ('"""', "'''", '"', "'"):
            if s.startswith(fence, start):
                break
        escapes = fence[0] == '"'
        i = start + len(fence)
        while not s.startswith(fence, i):
            if escapes and s[i] == "\\":
                i += 1
            if i >= len(s):
                raise ValueError("unterminated string")
            i += 1
        i += len(fence)
        if len(fence) == 3:  # up to two quotes may end the content right before the fence
            for _ in range(2):
                if i < len(s) and s[i] == fence[0]:
                    i += 1
        self.i = i
        return s[start:i]

    def blank(self, *, newlines: bool = False) -> None:
        """Skips spaces and tabs; with `newlines`, also line ends and comments."""
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t" or (newlines and c in "\r\n"):
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            else:
                return

    def expect(self, token: str) -> None:
        self.blank()
        if not self.s.startswith(token, self.i):
            raise ValueError(f"expected {token!r} at {self.i}")
        self.i += len(token)
