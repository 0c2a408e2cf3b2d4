"""`RunContext`: one run's working state beside its journaled `Run` (its shadow, grants,
driver task, the decision it waits for), shared by the workflow and its collaborators."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..sandbox.grants import Grants
from ..sandbox.shadow import Shadow
from ..wire import Question
from .runs import Run

if TYPE_CHECKING:
    from ..mcp.servers import RunServers


class EditStream(Protocol):
    """Stream mode's listener (runtime/streaming.py): told of each file a tool changed in
    the shadow (None: a command, any file) and of each model turn whose calls are done."""

    def written(self, rel: str | None) -> None: ...

    def turn_done(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class RunContext:
    run: Run
    folder: Path  # its documents, in the workspace (plan.md, changes.diff, …)
    state: Path  # its state, out of the workspace (shadow/, landed/): state_dir.py
    shadow: Shadow
    grants: Grants
    task: asyncio.Task[None] | None = None  # the driver (workflow.drive)
    revert_task: asyncio.Task[None] | None = None  # a revert of a finished run
    # Resolved by a command (accept, reject, revise, apply, answer) while the run waits.
    decision: asyncio.Future[Any] | None = None
    # A decision that arrived after the state changed but before the driver waited for it.
    early: Any = None
    # A question Baton asks outside awaiting_input (a conflict), while it waits: the host's
    # prompt or `baton.run.answer` (which resolves the future) answers it.
    asking: tuple[Question, asyncio.Future[str]] | None = None
    resumed: bool = False  # rebuilt from the journal by a restarted daemon
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stream: EditStream | None = None  # while the implementer works in stream mode
    declined: bool = False  # the editor declined a streamed edit: the rest waits for the end
    held: int = 0  # the agent's hunks held back after a conflict or a declined edit
    servers: RunServers | None = None  # its MCP servers, once an agent needed them

    def new_decision(self) -> asyncio.Future[Any]:
        self.decision = asyncio.get_running_loop().create_future()
        if self.early is not None:
            self.decision.set_result(self.early)
            self.early = None
        return self.decision

    def decide(self, value: Any) -> bool:
        """Hand the driver a decision; False if one is already pending or taken."""
        if self.decision is None:
            if self.early is not None:
                return False
            self.early = value  # the driver picks it up as soon as it waits
        elif self.decision.done():
            return False
        else:
            self.decision.set_result(value)
        return True
