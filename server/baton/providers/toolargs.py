"""Tool-call arguments as providers send them: JSON text that may be cut off or sloppy.

A call truncated at the output limit, or arguments that are not a JSON object, must never
be executed with guessed values. `parse_arguments` repairs only what has one reading
(trailing commas, a ```json fence around the object) and otherwise says what is wrong, for
`ToolCall.invalid`, so the loop can hand the error back to the model to re-issue the call.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def _strip_trailing_commas(text: str) -> str:
    """Drop commas directly before `}` or `]`, outside strings (a scanner, not a regex,
    so a string value containing ",}" is left alone)."""
    out: list[str] = []
    in_string = escaped = False
    pending_comma: list[str] = []  # a comma plus the whitespace after it, held back
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if pending_comma:
            if ch.isspace():
                pending_comma.append(ch)
                continue
            if ch in "}]":
                out.extend(pending_comma[1:])  # keep the whitespace, lose the comma
            else:
                out.extend(pending_comma)
            pending_comma = []
        if ch == ",":
            pending_comma = [ch]
        else:
            out.append(ch)
            if ch == '"':
                in_string = True
    out.extend(pending_comma)
    return "".join(out)


class Brackets:
    """JSON text read in pieces: how deep in brackets it is and whether inside a string
    (a scanner, so brackets and quotes inside strings are left alone)."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = self.opened = False
        self._escaped = False

    def feed(self, text: str) -> None:
        for ch in text:
            if self.in_string:
                if self._escaped:
                    self._escaped = False
                elif ch == "\\":
                    self._escaped = True
                elif ch == '"':
                    self.in_string = False
            elif ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
                self.opened = True
            elif ch in "}]":
                self.depth -= 1

    def closed(self) -> bool:
        """An object or array was opened and everything opened is closed again."""
        return self.opened and self.depth <= 0 and not self.in_string


def looks_truncated(text: str) -> bool:
    """True when the text ends inside a string or with brackets still open."""
    brackets = Brackets()
    brackets.feed(text)
    return brackets.in_string or brackets.depth > 0


def parse_arguments(raw: str | dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """(arguments, None) when usable, else ({}, why not) for `ToolCall.invalid`."""
    if raw is None:
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    text = raw.strip()
    if not text:
        return {}, None  # a tool without parameters: providers send "" or nothing
    try:
        value = json.loads(text)
    except json.JSONDecodeError as first_error:
        value = _repaired(text)
        if value is None:
            if looks_truncated(text):
                return {}, ("the arguments were cut off before they were complete (probably the "
                            "output token limit); nothing was run. Issue the call again, with "
                            "smaller arguments if they were large.")
            return {}, (f"the arguments are not valid JSON ({first_error.msg} at character "
                        f"{first_error.pos}); nothing was run. Issue the call again with a JSON "
                        "object.")
    if not isinstance(value, dict):
        return {}, (f"the arguments must be a JSON object, got {type(value).__name__}; nothing "
                    "was run. Issue the call again with a JSON object.")
    return value, None


def _repaired(text: str) -> Any | None:
    """The one reading of slightly sloppy JSON, or None when there is no single reading."""
    candidates = []
    fenced = _FENCE.match(text)
    if fenced:
        candidates.append(fenced.group(1))
    candidates.append(text)
    for candidate in candidates:
        for attempt in (candidate, _strip_trailing_commas(candidate)):
            try:
                return json.loads(attempt)
            except json.JSONDecodeError:
                continue
    return None
