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

Every result, built-in or MCP, error or not, reaches a model through `ToolRegistry.bounded`
(the loop calls it before the result is journaled, so a resumed run sees what the model
saw): each tool's `Bound` says how much it may be, which end to keep, and how the model can
ask for the rest. A result is also never more than a tenth of the model's context window,
and the results of one turn's calls together never more than about a third of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from ..providers.base import ToolSpec
from ..providers.schemas import tool_parameters
from ..wire import PermissionKind

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
    kind: PermissionKind | None = None  # a permission's: write, command or mcp
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

RESULT_CHARS = 24_000  # a result's default bound (~6k tokens)
WINDOW_SHARE = 10  # a result is at most 1/WINDOW_SHARE of the model's context window…
TURN_SHARE = 3  # …and the results of one turn's calls together at most 3/WINDOW_SHARE…
MIN_RESULT_CHARS = 2_000  # …but a result never less than this


@dataclass(frozen=True)
class Bound:
    """How much of a tool's result reaches the model: at most `chars` characters, its head
    (a listing, a file) or both ends (a command's output, whose errors come last), and what
    the model is told to do to see the rest. `narrow` may be a function of the text that
    was kept, for a note that says where to go on (read_file: the next line)."""
    chars: int = RESULT_CHARS
    keep: Literal["head", "ends"] = "head"
    narrow: str | Callable[[str], str] = "ask for less"

    def apply(self, text: str, limit: int | None = None) -> str:
        chars = min(self.chars, limit) if limit is not None else self.chars
        if len(text) <= chars:
            return text
        if self.keep == "ends":
            half = chars // 2
            head, tail = _cut_head(text, half), _cut_tail(text, half)
            cut = len(text) - len(head) - len(tail)
            return f"{head}\n[… {cut:,} characters left out here: {self._note(head)}]\n{tail}"
        head = _cut_head(text, chars)
        rest = text[len(head):]
        lines = len(rest.splitlines()) - rest.startswith("\n")
        return (f"{head}\n[… {len(rest):,} more characters ({lines:,} lines) not shown: "
                f"{self._note(head)}]")

    def _note(self, kept: str) -> str:
        return self.narrow(kept) if callable(self.narrow) else self.narrow


def _cut_head(text: str, chars: int) -> str:
    """At most `chars` of the start, ending at a line break when one is in its second half."""
    kept = text[:chars]
    nl = kept.rfind("\n")
    return kept[:nl] if nl >= chars // 2 else kept


def _cut_tail(text: str, chars: int) -> str:
    kept = text[-chars:] if chars else ""
    nl = kept.find("\n")
    return kept[nl + 1:] if 0 <= nl < chars // 2 else kept


def result_limit(context_window: int | None, calls: int = 1) -> int | None:
    """The most characters one result may take in a model's context window (tokens), when
    the model's turn made `calls` calls: ten parallel reads must not fill the window
    between them, which no compaction could then undo (the last turn stays whole)."""
    if not context_window:
        return None
    share = context_window * 4 // WINDOW_SHARE  # ~4 characters a token
    return max(min(share, share * TURN_SHARE // max(calls, 1)), MIN_RESULT_CHARS)


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
    bound: Bound = Bound()

    def __post_init__(self) -> None:
        if self.asks and self.prompt is None:
            raise ValueError(f"tool {self.name} asks the person but has no prompt")
        if not self.parameters and self.args is None:
            raise ValueError(f"tool {self.name} has neither an argument model nor a schema")

    def parse(self, arguments: dict[str, Any]) -> Any:
        """The arguments as the handler takes them; raises pydantic's ValidationError."""
        return arguments if self.args is None else self.args.model_validate(arguments)

    def spec(self) -> ToolSpec:
        parameters = dict(self.parameters) if self.parameters or self.args is None \
            else tool_parameters(self.args.model_json_schema())
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

    def bounded(self, name: str, text: str, context_window: int | None = None,
                calls: int = 1) -> str:
        """`text`, a result of the tool `name` (or an error about a call to it), as the model
        may see it: within the tool's bound and a share of the model's context window (of
        a turn that made `calls` calls)."""
        tool = self._tools.get(name)
        limit = result_limit(context_window, calls)
        return (tool.bound if tool is not None else Bound()).apply(text, limit)
