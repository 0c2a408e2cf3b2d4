"""A server's elicitation (it asks the person something during a tool call) as questions
on the run's question path, the one `ask_user` takes.

A form is asked one field at a time: a choice (enum, boolean) with its options and
*Decline*, anything else as free text, where “decline” declines. The server's message and
choices are shown through `display.visible` and bounded; a form with more than MAX_FIELDS
fields, nested fields or an answer that does not fit the field's type is declined. URL
mode (open this address) is always declined: Baton never sends the person to an address a
server chose.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import types

from ..display import visible

log = logging.getLogger(__name__)

# (question text, options or None) → the person's answer, None when they dismissed it.
Ask = Callable[[str, list[str] | None], Awaitable[str | None]]

MAX_FIELDS = 10
MAX_OPTIONS = 9  # and Decline
MESSAGE_LIMIT = 1_200
OPTION_LIMIT = 200
DECLINE = "Decline"


class _Declined(Exception):
    pass


def _choices(field: dict[str, Any]) -> list[str] | None:
    if field.get("type") == "boolean":
        return ["Yes", "No"]
    values = field.get("enum")
    if values is None and isinstance(field.get("oneOf"), list):
        values = [o.get("const") for o in field["oneOf"] if isinstance(o, dict)]
    if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
        return values
    return None


def _value(field: dict[str, Any], answer: str, choices: list[str] | None) -> Any:
    kind = field.get("type")
    if choices is not None:
        if kind == "boolean":
            return answer == "Yes"
        if answer not in choices:
            raise _Declined(f"{visible(answer, limit=80)} is not one of the choices")
        return answer
    if kind == "integer":
        try:
            return int(answer)
        except ValueError:
            raise _Declined("not a whole number") from None
    if kind == "number":
        try:
            return float(answer)
        except ValueError:
            raise _Declined("not a number") from None
    if kind == "string":
        return answer
    raise _Declined(f"a field of type {visible(str(kind), limit=40)} cannot be asked")


async def answer(server: str, params: types.ElicitRequestParams, ask: Ask) -> types.ElicitResult:
    if isinstance(params, types.ElicitRequestURLParams):
        log.info("MCP server %s asked to send the person to %s: declined", server,
                 visible(params.url, limit=200))
        return types.ElicitResult(action="decline")
    message = visible(params.message, limit=MESSAGE_LIMIT)
    schema = params.requested_schema if isinstance(params.requested_schema, dict) else {}
    fields = found if isinstance(found := schema.get("properties"), dict) else {}
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    if len(fields) > MAX_FIELDS:
        log.info("MCP server %s asked for %d fields at once: declined", server, len(fields))
        return types.ElicitResult(action="decline")
    content: dict[str, Any] = {}
    try:
        for key, field in fields.items():
            if not isinstance(field, dict):
                raise _Declined("a field without a schema")
            choices = _choices(field)
            label = visible(str(field.get("title") or key), limit=100)
            about = visible(str(field.get("description") or ""), limit=300)
            text = f"The MCP server {server} asks: {message} — {label}" + (f" ({about})" if about else "")
            options = None
            if choices is not None:
                if len(choices) > MAX_OPTIONS:
                    raise _Declined(f"{len(choices)} choices, more than {MAX_OPTIONS}")
                options = [visible(c, limit=OPTION_LIMIT) for c in choices] + [DECLINE]
                if len(set(options)) < len(options):
                    raise _Declined("two choices read the same")
            else:
                text += " (answer “decline” to refuse)"
            reply = await ask(text, options)
            if reply is None:
                return types.ElicitResult(action="cancel")
            reply = reply.strip()
            if reply == DECLINE or (options is None and reply.casefold() == "decline"):
                return types.ElicitResult(action="decline")
            if options is not None and choices is not None and field.get("type") != "boolean":
                reply = choices[options.index(reply)] if reply in options else reply
            if not reply:
                if key in required:
                    return types.ElicitResult(action="decline")
                continue
            content[key] = _value(field, reply, choices)
    except _Declined as e:
        log.info("MCP server %s: elicitation declined: %s", server, e)
        return types.ElicitResult(action="decline")
    return types.ElicitResult(action="accept", content=content)
