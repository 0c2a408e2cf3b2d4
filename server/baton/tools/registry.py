"""The one tool registry: every tool a model can be offered, built-in or from an MCP server.

A `Tool` is `name → (argument model or JSON schema, handler, the roles that may call it,
what it needs)`. The agent loop looks a call up here, checks the caller's role, parses the
arguments once (a malformed call is an error result for the model, never an exception in
the daemon) and hands the parsed arguments to the handler through the session; nothing
dispatches on a tool's name anywhere else.

Adding tools from outside (MCP): build a `Tool` with `parameters` (the schema, already
adapted by providers/schemas.py), `handler`, `roles`, `writes=True` if it may change the
run's files (they land in the shadow, checked against the grant), `asks=True` with a
`prompt` if the person must allow each call (*Allow once*, *Allow for this run*, *Deny*),
and `annotations` (the server's hints, shown, never trusted); then `registry.with_tools([...])`
gives the run's registry. A name already taken is refused: no tool can pass for another.

A handler gets the session (`ToolEnv`) and the parsed arguments and returns the result
text, raises `ToolRefused` for an error result, or returns `Pause` when the call cannot be
answered before the person is (an agent's question): the loop stops, the workflow moves
the run to waiting, and once the person answered the loop calls the handler again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from ..providers.base import ToolSpec
from ..providers.schemas import tool_parameters

if TYPE_CHECKING:
    from ..config import PermissionsConfig
    from ..sandbox.grants import Grants
    from ..sandbox.shadow import Shadow
    from .files import FileTools


@dataclass(frozen=True)
class Pause:
    """The call waits for the person: the question (already made visible, as
    tools/builtin.shown_question does) the workflow puts to them."""
    question: str
    options: list[str] | None = None
    permission: str | None = None  # a permission prompt's subject (a path, command, tool)
    kind: str | None = None  # a permission's: write, command or mcp (wire.PermissionKind)
    diff: str | None = None  # a permission's: what would be written, run or called


class AskFirst(Exception):
    """Raised inside a call that needs the person's permission they have not given yet
    (runtime/session.py ask_permission): the call pauses, and runs again once they answered."""

    def __init__(self, pause: Pause) -> None:
        super().__init__(pause.question)
        self.pause = pause


class ToolEnv(Protocol):
    """What a handler may use: one agent of one run, on that run's shadow."""

    run_id: str
    agent: str
    root: Path
    files: FileTools
    shadow: Shadow
    grants: Grants

    def permissions(self) -> PermissionsConfig: ...

    def provider_keys(self) -> list[str | None]: ...

    async def ask_permission(self, subject: str, prompt: str, *, kind: str = "path") -> bool:
        """Ask the person; True when they allowed it (once or for the run)."""

    def answer(self) -> str | None:
        """The person's answer to the question this agent asked, once they gave it."""

    async def ask_person(self, question: str, options: list[str] | None) -> str | None:
        """Ask the person while the call goes on (an MCP server's question mid-call): the
        run waits in awaiting_input meanwhile, as for `ask_user`. `question` is already
        made visible. None: there is no one to ask."""

    def report(self, text: str) -> None:
        """Show how the call is getting on as the run's progress (already made visible)."""


Handler = Callable[[ToolEnv, Any], Awaitable["str | Pause"]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    roles: frozenset[str]
    # None: an output tool; its valid call ends the role's turn and the workflow reads it.
    handler: Handler | None = None
    # Parses the arguments; None: they reach the handler as the JSON object the model sent
    # (an MCP tool, whose server validates against `parameters`).
    args: type[BaseModel] | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    writes: bool = False  # may change the run's files (within its grant): streamed after
    asks: bool = False  # each call needs the person's permission unless allowed for the run
    prompt: Callable[[str, dict[str, Any]], str] | None = None  # (run id, arguments) → question
    annotations: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.asks and self.prompt is None:
            raise ValueError(f"tool {self.name} asks the person but has no prompt")
        if not self.parameters and self.args is None:
            raise ValueError(f"tool {self.name} has neither an argument model nor a schema")

    def parse(self, arguments: dict[str, Any]) -> Any:
        """The arguments as the handler takes them; raises pydantic's ValidationError."""
        return arguments if self.args is None else self.args.model_validate(arguments)

    def spec(self) -> ToolSpec:
        parameters = dict(self.parameters) or tool_parameters(self.args.model_json_schema())  # type: ignore[union-attr]
        return ToolSpec(name=self.name, description=self.description, parameters=parameters)


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._specs: dict[str, ToolSpec] = {}  # built once: every model turn sends them
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name} is already registered")
        self._tools[tool.name] = tool
        self._specs[tool.name] = tool.spec()

    def with_tools(self, tools: Iterable[Tool]) -> ToolRegistry:
        """This registry and `tools` (a run's MCP tools), leaving this one as it is."""
        out = ToolRegistry()
        out._tools, out._specs = dict(self._tools), dict(self._specs)
        for tool in tools:
            out.add(tool)
        return out

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def for_role(self, role: str) -> list[Tool]:
        """The tools `role` may call, in registration order (stable: prompt caching)."""
        return [t for t in self._tools.values() if role in t.roles]

    def specs(self, role: str) -> list[ToolSpec]:
        return [self._specs[t.name] for t in self.for_role(role)]
