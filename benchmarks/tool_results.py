"""What tools hand a model, and what a long run sends it (issue 20, long runs).

1. Tool results on a generated 50,000-file workspace (a monorepo: 100 packages of 500
   small files, and one 20,000-line generated file): the characters `list_files`,
   `search` and `read_file` return as the model sees them (after `ToolRegistry.bounded`,
   for a 200,000-token window), and the time each takes (the best of three).
2. A long agent loop on a 32,000-token window: the implementer reads 30 files of 12,800
   characters (~120k tokens in all) and finishes. Reported: the largest request sent,
   the compactions, and the calls to the provider's counting endpoint; without context
   management the same loop would need the total.

Characters, and tokens as characters / 4 (no provider's tokenizer).

    python -m benchmarks.tool_results
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from baton.agents.compaction import apply_edits, request_chars
from baton.agents.loop import run_agent
from baton.agents.roles import IMPLEMENTER
from baton.providers.base import (Capabilities, Message, StopReason, ToolCall, ToolResult, Turn,
                                  TurnRequest, Usage)
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow
from baton.tools.builtin import BUILTIN
from baton.tools.files import FileTools
from baton.tools.specs import ListFiles, ReadFile, Search

WINDOW = 200_000


def make_tree(root: Path, n_files: int = 50_000) -> None:
    """`n_files` files: README.md, big/generated.py (20,000 lines), and
    packages/pNNN/src/components/mMM/file_KK.tsx, 500 to a package."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("# generated\n")
    (root / "big").mkdir(exist_ok=True)
    (root / "big" / "generated.py").write_text(
        "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(10_000)))
    made, p = 2, 0
    while made < n_files:
        for m in range(10):
            folder = root / "packages" / f"p{p:03d}" / "src" / "components" / f"m{m:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(50):
                if made >= n_files:
                    return
                (folder / f"file_{k:02d}.tsx").write_text(f"export const v{k} = {k};\n")
                made += 1
        p += 1


def measure_tools(root: Path) -> list[dict[str, Any]]:
    policy = PathPolicy(root)
    shadow = Shadow(policy, root.parent / "shadow", lambda p: None)

    async def permit(rel: str) -> bool:
        return False
    tools = FileTools(policy, shadow, permit)
    cases = [("list_files", "list_files", lambda: tools.list_files(ListFiles())),
             ("list_files path=packages/p010", "list_files",
              lambda: tools.list_files(ListFiles(path="packages/p010"))),
             ("list_files glob=*_07.tsx", "list_files",
              lambda: tools.list_files(ListFiles(glob="*_07.tsx"))),
             ("search 'def '", "search", lambda: tools.search(Search(pattern="def "))),
             ("read_file big/generated.py", "read_file",
              lambda: tools.read_file(ReadFile(path="big/generated.py")))]
    rows = []
    for label, name, call in cases:
        took = []
        for _ in range(3):  # the best of three: the file system's caches warm
            started = time.perf_counter()
            shown = BUILTIN.bounded(name, call(), WINDOW)
            took.append(time.perf_counter() - started)
        rows.append({"call": label, "chars": len(shown), "ms": round(min(took) * 1000)})
    return rows


class _Reader:
    """A model that reads `n` files, one a turn, then finishes; it reports usage as a
    provider does (the prompt's characters / 4), and counts when asked."""

    def __init__(self, n: int, window: int) -> None:
        self.name = "bench"
        self.capabilities = Capabilities(context_window=window, max_output_tokens=window // 8)
        self.n, self.sent, self.counted = n, [], 0

    async def complete(self, request: TurnRequest, on_delta: Any = None) -> Turn:
        self.sent.append(request_chars(request) // 4)
        i = sum(1 for m in request.messages if m.role == "assistant")
        name, args = (("read_file", {"path": f"f{i}.py"}) if i < self.n
                      else ("finish", {"summary": "read them all"}))
        return Turn(tool_calls=[ToolCall(id=f"c{i}", name=name, arguments=args)],
                    stop=StopReason.TOOL_USE, usage=Usage(input_tokens=self.sent[-1]))

    async def count_tokens(self, request: TurnRequest) -> int | None:
        self.counted += 1
        return request_chars(request) // 4


class _Session:
    run_id, task, on_delta = "bench", "read every file", None

    def __init__(self) -> None:
        self.conv = [Message(role="user", text="Read every file, then finish.")]
        self.compactions = 0
        self.read = 0

    def conversation(self) -> list[Message]:
        return self.conv

    def record(self, message: Message, **_: Any) -> None:
        self.conv.append(message)

    async def record_result(self, result: ToolResult) -> None:
        if self.conv[-1].role == "tool":
            self.conv[-1].tool_results.append(result)
        else:
            self.conv.append(Message(role="tool", tool_results=[result]))

    def compacted(self, edits: Any, tokens: int) -> None:
        self.compactions += 1
        self.conv = apply_edits(self.conv, edits)

    def pending_steers(self) -> list[str]:
        return []

    async def execute(self, tool: Any, call: ToolCall, args: Any) -> str:
        self.read += len(FILE)
        return FILE


FILE = "x = compute(1)  # a line of a file\n" * 376  # 12,784 characters


async def measure_loop(files: int = 30, window: int = 32_000) -> dict[str, Any]:
    provider, session = _Reader(files, window), _Session()
    await run_agent(IMPLEMENTER, provider, session, BUILTIN, max_turns=files + 5)
    return {"files": files, "window": window, "turns": len(provider.sent),
            "largest_request": max(provider.sent), "compactions": session.compactions,
            "counted": provider.counted, "read_tokens": session.read // 4}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="baton-bench-tools-") as d:
        root = Path(d) / "ws"
        started = time.perf_counter()
        make_tree(root)
        print(f"generated 50,000 files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        rows = measure_tools(root)
    print("| call, 50,000-file workspace | characters to the model | ~tokens | time |")
    print("| --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| `{r['call']}` | {r['chars']:,} | {r['chars'] // 4:,} | {r['ms']} ms |")
    loop = asyncio.run(measure_loop())
    print()
    print(f"Reading {loop['files']} files (~{loop['read_tokens']:,} tokens) on a "
          f"{loop['window']:,}-token window: {loop['turns']} turns, largest request "
          f"~{loop['largest_request']:,} tokens, {loop['compactions']} compactions, "
          f"{loop['counted']} calls to the counting endpoint.")


if __name__ == "__main__":
    main()
