"""Running `[verify] commands` on a run's change and on its base, and keeping the outcomes.

Each command runs in the command sandbox (sandbox/commands.py) on a view of a shadow,
with its own time limit (`[verify] timeout_s`, never past the run's deadline) after which
it is killed with every process it started. Nothing a verify command writes is kept: the
change stays what the implementer made it.

The change view is the run's shadow. The base view is a second shadow over the same
workspace holding the base of every file the run touched (what the agent found), kept in
`base_store` so its command view persists between rounds like the run's own. Commands run
on the change first, and on the base only when the change did not pass cleanly: a clean
change has nothing to compare, so the usual case costs one run per command. Outcomes are
cached by the content key of their view (content_key.py), in memory: a cache file in the
workspace could be shipped by a repository to pass its failures off as already there.
The journal keeps a run's own outcomes (`record`), and `OutcomeCache.seed` puts them back
after a restart, so a command that completed is not run again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

from ..config import PermissionsConfig, VerifyConfig
from ..errors import ToolRefused
from ..sandbox.commands import CommandResult, run_command
from ..sandbox.isolation import Layer
from ..sandbox.shadow import Shadow
from ..sandbox.views import CopyView
from .compare import compare
from .content_key import tree_state, view_key
from .outcome import Outcome, Parsed, Side, clean_lines, share_excerpts, tail
from .parse_lint import parse_lint
from .parse_tests import parse_tests
from .report import VerifyResult

Starting = Callable[[str, Side], Awaitable[None]]  # (command, side) about to run
OUTPUT_CAP = 512_000  # bytes kept per stream (head and tail) for the parsers
MIN_TIME_S = 1.0      # a command is not started with less of the run's time left


class OutcomeCache:
    """Outcomes by content key, the most recently used kept. Outcomes of commands that did
    not run (refused, no time left) are never cached: they say nothing about the content."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, Outcome] = OrderedDict()

    def get(self, key: str | None) -> Outcome | None:
        if key is None or key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, outcome: Outcome) -> None:
        if outcome.key is None or outcome.error is not None:
            return
        self._items[outcome.key] = outcome
        self._items.move_to_end(outcome.key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def seed(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self.put(outcome)


def parse(command: str, side: Side, key: str | None, result: CommandResult,
          roots: Sequence[Path]) -> Outcome:
    text = f"{result.stdout}\n{result.stderr}"
    lines = clean_lines(text)
    parsed = parse_tests(lines, roots) or parse_lint(lines, roots) or Parsed()
    share_excerpts(parsed.failed)
    return Outcome(**parsed.model_dump(), command=command, side=side, key=key,
                   exit_code=result.exit_code, timed_out=result.timed_out,
                   duration_s=result.duration_s, tail=tail(text))


def base_view(shadow: Shadow, store: Path) -> Shadow:
    """A shadow over `shadow`'s workspace showing every file `shadow` touched at its base.
    Raises ToolRefused when a base cannot be laid over what is on disk now."""
    base = Shadow(shadow.policy, store, lambda _path: None, shadow.limits)
    for rel in sorted(shadow.touched):
        text = shadow.base(rel)
        if text is None:
            if base.exists(rel):
                base.delete(rel)
        elif base.read(rel) != text:
            base.write(rel, text)
    return base


class Verifier:
    def __init__(self, config: VerifyConfig, permissions: PermissionsConfig, *,
                 provider_keys: Sequence[str | None] = (), cache: OutcomeCache | None = None,
                 layer: Layer | None = None, bwrap: str = "bwrap") -> None:
        self.config = config
        self.permissions = permissions
        self.provider_keys = list(provider_keys)
        self.cache = cache if cache is not None else OutcomeCache()
        self.layer = layer  # tests force one; else the probed layer
        self.bwrap = bwrap

    async def verify(self, shadow: Shadow, base_store: Path, *, deadline: float | None = None,
                     record: Callable[[Outcome], None] | None = None,
                     starting: Starting | None = None) -> VerifyResult:
        """Every command on the change, and on the base where the change did not pass;
        `deadline` (time.monotonic) bounds them all; `record` gets each outcome a command
        produced (not those taken from the cache); `starting` is awaited before a command
        runs (not for one taken from the cache)."""
        reports = []
        base: Shadow | None = None
        for command in self.config.commands:
            change = await self.outcome(command, "change", shadow, deadline, record, starting)
            before = None
            if not change.clean and change.error is None:
                if base is None:
                    try:
                        base = await asyncio.to_thread(base_view, shadow, base_store)
                    except ToolRefused as e:
                        before = Outcome(command=command, side="base",
                                         error=f"the base could not be laid out: {e}")
                if base is not None:
                    before = await self.outcome(command, "base", base, deadline, record, starting)
            reports.append(compare(change, before))
        return VerifyResult.of(reports)

    def _spec(self, command: str) -> list[str]:
        p = self.permissions
        return [command, f"timeout={self.config.timeout_s}", f"network={p.network}",
                f"env={','.join(sorted(p.env))}", f"layer={self.layer or 'probed'}"]

    async def outcome(self, command: str, side: Side, view: Shadow, deadline: float | None,
                      record: Callable[[Outcome], None] | None = None,
                      starting: Starting | None = None) -> Outcome:
        root = view.policy.root
        tree = await asyncio.to_thread(tree_state, root)
        key = view_key(view, tree, self._spec(command)) if tree is not None else None
        cached = self.cache.get(key)
        if cached is not None:
            return cached.model_copy(update={"side": side})
        timeout = self.config.timeout_s
        if deadline is not None:
            left = deadline - time.monotonic()
            if left < MIN_TIME_S:
                return Outcome(command=command, side=side, error="the run's time is used up")
            timeout = min(timeout, left)
        if starting is not None:
            await starting(command, side)
        p = self.permissions
        try:
            result = await run_command(
                command, shadow=view, workspace=root, timeout_s=timeout, network=p.network,
                allow_unsandboxed=p.allow_unsandboxed_commands, output_cap=OUTPUT_CAP,
                layer=self.layer, bwrap=self.bwrap, may_write=lambda _rel: False,
                env_allow=p.env, provider_keys=self.provider_keys)
        except ToolRefused as e:
            return Outcome(command=command, side=side, error=str(e))
        if result.timed_out and timeout < self.config.timeout_s:
            key = None  # cut short by the run's deadline: not what the command does
        # Off the loop: up to OUTPUT_CAP per stream through every pattern.
        outcome = await asyncio.to_thread(parse, command, side, key, result,
                                          [root, CopyView(view).root])
        self.cache.put(outcome)
        if record is not None:
            record(outcome)
        return outcome
