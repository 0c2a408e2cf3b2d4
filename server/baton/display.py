"""Text a model or a repository supplies, made safe to show a person: what they read is
what is there.

Control characters (newlines, carriage returns, ANSI escapes), bidi overrides, zero-width
and other invisible or blank-looking characters are shown as Python-style escapes (`\\n`,
`\\x1b`, `\\u202e`), never interpreted by the terminal or message box that shows them.
On a line with such an escape, a backslash that was there is shown doubled, so an escape
Baton made can always be told from text that merely looks like one. Text without any is
shown unchanged. Applying `visible` twice changes nothing, so each layer that shows text
may apply it again.
"""

from __future__ import annotations

import re
import unicodedata

# Letters and marks that render as nothing or as blank, which the category test misses:
# Hangul fillers, the braille blank, the combining grapheme joiner, Khmer inherent vowels,
# Mongolian and Unicode variation selectors.
_BLANK = frozenset([0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F, 0x17B4, 0x17B5,
                    *range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
# Controls, formats (bidi, zero-width), surrogates, private use, unassigned, line and
# paragraph separators; every space but the plain one (U+00A0 looks like a space, is not one).
_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SPACE_RUN = re.compile(r" {9,}")  # enough blank to push the rest of a line out of view


def _hidden(ch: str) -> bool:
    if ch == " ":
        return False
    if " " < ch < "\x7f":
        return False  # printable ASCII: the common case, decided without a lookup
    return ord(ch) in _BLANK or unicodedata.category(ch) in _CATEGORIES


def has_hidden(text: str) -> bool:
    """Whether `text` holds anything `visible` shows as an escape."""
    return any(_hidden(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    n = ord(ch)
    if n < 0x100:
        return f"\\x{n:02x}"
    return f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def _line(line: str, *, keep_tabs: bool, squeeze: bool) -> str:
    def hidden(ch: str) -> bool:
        return _hidden(ch) and not (keep_tabs and ch == "\t")
    if any(hidden(ch) for ch in line):
        line = "".join("\\\\" if ch == "\\" else _escape(ch) if hidden(ch) else ch for ch in line)
    if squeeze:
        line = _SPACE_RUN.sub(lambda m: f"[{len(m.group())} spaces]", line)
    return line


def visible(text: str, *, limit: int | None = None, multiline: bool = False) -> str:
    """`text` as a person should see it. One line by default: newlines are escaped and a long
    run of spaces is shown as `[40 spaces]`. `multiline` keeps newlines (a `\\r\\n` is one)
    and tabs, for documents and error messages. `limit` bounds the result, the marker of
    what was cut included."""
    if multiline:
        lines = text.replace("\r\n", "\n").split("\n")
        out = "\n".join(_line(ln, keep_tabs=True, squeeze=False) for ln in lines)
    else:
        out = _line(text, keep_tabs=False, squeeze=True)
    return out if limit is None else _bounded(out, limit)


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"… [{len(text)} characters, the rest not shown]"
    cut = max(limit - len(marker), 0)
    # Never cut an escape in half: step back over a trailing, incomplete `\uXXXX` or `\\`.
    head = text[:cut]
    tail = re.search(r"\\+[xuU]?[0-9a-f]*$", head)
    if tail:
        head = head[:tail.start()]
    return head + marker


def code(text: str, *, limit: int | None = None) -> str:
    """`text` quoted as a Markdown code span whose fence is longer than any run of backticks
    inside, so nothing in `text` can end the quote early and pass for Baton's own words."""
    shown = visible(text, limit=limit)
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def non_ascii_note(text: str, *, most: int = 3) -> str:
    """Names the non-ASCII characters of a path or command, so `hеllo.py` (a Cyrillic е)
    is not read as `hello.py`; "" when there are none (hidden ones are already escapes)."""
    chars = list(dict.fromkeys(c for c in text if c > "\x7f" and not _hidden(c)))
    if not chars:
        return ""
    named = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in chars[:most])
    more = f" and {len(chars) - most} more" if len(chars) > most else ""
    return f"(non-ASCII characters: {named}{more})"


HIDDEN_NOTE = ("It contains control or invisible characters, shown as escapes such as "
               "\\n (a new line), \\x1b (an escape) or \\u202e (a right-to-left override).")
