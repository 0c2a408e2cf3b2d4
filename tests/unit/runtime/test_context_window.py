"""A run whose implementer reads more than its model's window holds completes: the
conversation is compacted before it would not fit, the provider (the scripted one, with a
real window that refuses what does not fit) never sees more than its window, and the
compaction is journaled, so a run resumed after a restart goes on from the same history."""

from __future__ import annotations

import asyncio
from pathlib import Path

from baton.runtime.journal import Journal

from .harness import plan_script, start, turn, workspace

WINDOW = 12_000  # tokens: the scripted provider refuses a prompt over 9,000 (3,000 for output)
BIG_FILES = 6


def _workspace(tmp_path: Path, *, delay_ms: int = 0) -> tuple[Path, Path]:
    reads = [turn("read_file", {"path": f"big{i}.py"}) for i in range(BIG_FILES)]
    edit = turn("edit_file", {"path": "hello.py", "old": "def hello():", "new": "def hello(name):"},
                delay_ms=delay_ms)
    ws, config = workspace(tmp_path, [plan_script(implementer=[*reads, edit,
                                                               turn("finish", {"summary": "done"})])])
    for i in range(BIG_FILES):  # 30 KB each: together several times the window
        (ws / f"big{i}.py").write_text("".join(f"def f{i}_{k}(x):\n    return x * {k}\n"
                                               for k in range(1_000)))
    config.write_text(f'[providers.offline]\nkind = "scripted"\nscript = "script.json"\n'
                      f'context_window = {WINDOW}\n')
    return ws, config


async def test_a_run_that_reads_more_than_the_window_completes(tmp_path: Path) -> None:
    ws, config = _workspace(tmp_path)
    engine, host = await start(ws, config)
    try:
        run_id = engine.create("Greet by name")
        await host.state(run_id, "awaiting_approval")
        engine.accept(run_id)
        done = await host.state(run_id, "done", "failed")
        assert done.state == "done", done.error
        provider = engine.settings.providers.provider("offline")
        room = WINDOW - provider.capabilities.max_output_tokens
        # Without compaction the last implementer turn would have needed this much:
        whole = sum(len((ws / f"big{i}.py").read_text()) for i in range(BIG_FILES)) // 4
        assert whole > room and max(provider.prompts) <= room
        run = engine.contexts[run_id].run
        seen = run.conversations["implementer"]
        compacted = [r for m in seen for r in m.tool_results if r.content.startswith("[Compacted")]
        assert compacted and seen[-1].tool_results[-1].name == "finish"
        shown = engine.show(run_id)["events"]  # baton.run.show says so
        assert any("older message(s) compacted to fit the model's context window" in e
                   for e in shown)
    finally:
        await engine.close()
    # The journal rebuilds the history the model saw, compaction included.
    journal = Journal(engine.journal.path, engine.journal.runs_dir)
    try:
        assert journal.load()[run_id].conversations["implementer"] == seen
    finally:
        journal.close()


async def test_a_run_restarted_after_a_compaction_goes_on_from_the_compacted_history(
        tmp_path: Path) -> None:
    ws, config = _workspace(tmp_path, delay_ms=60_000)  # the edit turn waits: restart there
    engine, host = await start(ws, config)
    run_id = engine.create("Greet by name")
    await host.state(run_id, "awaiting_approval")
    engine.accept(run_id)

    async def compacted() -> None:
        while not any(r.content.startswith("[Compacted") for m in
                      engine.contexts[run_id].run.conversations.get("implementer", [])
                      for r in m.tool_results):
            await asyncio.sleep(0.02)
    await asyncio.wait_for(compacted(), 20)
    await engine.close()

    ws, config = _workspace(tmp_path)  # the same script without the wait
    engine, host = await start(ws, config)
    try:
        done = await host.state(run_id, "done", "failed")
        assert done.state == "done", done.error
        provider = engine.settings.providers.provider("offline")
        room = WINDOW - provider.capabilities.max_output_tokens
        assert provider.prompts and max(provider.prompts) <= room
        assert (ws / "hello.py").read_text().startswith("def hello(name):")
    finally:
        await engine.close()
