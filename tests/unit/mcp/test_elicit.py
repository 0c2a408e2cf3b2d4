"""A server's form as questions on the run's question path (mcp/elicit.py)."""

from __future__ import annotations

from mcp import types

from baton.mcp.elicit import answer


def form(properties: dict, required: list[str] | None = None, message: str = "Settings?") -> types.ElicitRequestFormParams:
    return types.ElicitRequestFormParams(message=message, requested_schema={
        "type": "object", "properties": properties, "required": required or list(properties)})


def replies(*answers: str | None):
    asked: list[tuple[str, list[str] | None]] = []
    queue = list(answers)

    async def ask(text: str, options: list[str] | None) -> str | None:
        asked.append((text, options))
        return queue.pop(0)
    return ask, asked


async def test_each_field_is_asked_and_typed() -> None:
    ask, asked = replies("Ada", "3", "Yes", "blue")
    result = await answer("srv", form({"name": {"type": "string"}, "n": {"type": "integer"},
                                       "ok": {"type": "boolean"},
                                       "colour": {"type": "string", "enum": ["red", "blue"]}}), ask)
    assert result.action == "accept"
    assert result.content == {"name": "Ada", "n": 3, "ok": True, "colour": "blue"}
    assert asked[2][1] == ["Yes", "No", "Decline"] and asked[3][1] == ["red", "blue", "Decline"]
    assert asked[0][0].startswith("The MCP server srv asks: Settings? — name")


async def test_decline_cancel_and_bad_answers() -> None:
    ask, _ = replies("Decline")
    assert (await answer("s", form({"c": {"type": "string", "enum": ["a"]}}), ask)).action == "decline"
    ask, _ = replies(None)
    assert (await answer("s", form({"x": {"type": "string"}}), ask)).action == "cancel"
    ask, _ = replies("many")
    assert (await answer("s", form({"n": {"type": "number"}}), ask)).action == "decline"
    ask, _ = replies("")
    assert (await answer("s", form({"x": {"type": "string"}}), ask)).action == "decline"


async def test_hidden_characters_in_the_message_are_shown() -> None:
    ask, asked = replies("x")
    await answer("s", form({"x": {"type": "string"}}, message="Allow\u202e once"), ask)
    assert "\u202e" not in asked[0][0] and "\\u202e" in asked[0][0]


async def test_url_mode_is_always_declined_without_asking() -> None:
    ask, asked = replies()
    params = types.ElicitRequestURLParams(message="log in", url="https://evil.example/", elicitation_id="1")
    assert (await answer("s", params, ask)).action == "decline" and asked == []


async def test_too_many_fields_are_declined() -> None:
    ask, asked = replies()
    fields = {f"f{i}": {"type": "string"} for i in range(11)}
    assert (await answer("s", form(fields), ask)).action == "decline" and asked == []
