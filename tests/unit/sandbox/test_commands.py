"""run_command on each isolation layer: the view, the fold, the limits, the refusals."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from baton.errors import ToolRefused
from baton.sandbox.commands import SandboxUnavailable, run_command
from baton.sandbox.nofollow import force_rmtree
from baton.sandbox.shadow import Shadow

from .conftest import require_layer

SANDBOXED = ["bwrap", "landlock"]


async def run(shadow: Shadow, command: str, layer: str, **kw) -> object:
    kw.setdefault("timeout_s", 20)
    kw.setdefault("network", False)
    kw.setdefault("allow_unsandboxed", layer == "none")
    return await run_command(command, shadow=shadow, workspace=shadow.policy.root, layer=layer, **kw)


@pytest.mark.parametrize("layer", [*SANDBOXED, "none"])
async def test_view_shows_shadow_and_changes_fold_back(ws: Path, shadow: Shadow, layer: str) -> None:
    if layer != "none":
        require_layer(layer)
    shadow.write("by_agent.txt", "agent\n")
    shadow.write("keep.txt", "agent edit\n")
    shadow.delete("del.txt")
    r = await run(shadow, "cat by_agent.txt keep.txt; test -e del.txt && echo DEL-VISIBLE; "
                  "echo changed > src/app.py; echo made > made.txt; mkdir -p d/e && echo deep > d/e/x.txt; "
                  "rm by_agent.txt; rm -r olddir; printf '\\000\\001' > blob.bin; "
                  "mkdir -p build && echo ignored > build/out.txt", layer)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["agent", "agent edit"]
    assert r.layer == layer
    assert set(r.changed_paths) >= {"src/app.py", "made.txt", "d/e/x.txt", "by_agent.txt",
                                    "olddir/a.txt", "olddir/b.txt"}
    assert any(s.startswith("blob.bin:") for s in r.skipped_paths)
    changes = {c.path: c.new for c in shadow.changes()}
    assert changes == {"keep.txt": "agent edit\n", "del.txt": None, "src/app.py": "changed\n",
                       "made.txt": "made\n", "d/e/x.txt": "deep\n", "olddir/a.txt": None,
                       "olddir/b.txt": None}
    # The real workspace never changed.
    assert (ws / "src/app.py").read_text() == "print('hi')\n"
    assert (ws / "del.txt").exists() and (ws / "olddir/a.txt").exists()
    assert not (ws / "made.txt").exists() and not (ws / "build").exists()
    assert not (ws / "by_agent.txt").exists()


@pytest.mark.parametrize("layer", SANDBOXED)
async def test_second_command_sees_first_and_agent_edits_in_between(
        ws: Path, shadow: Shadow, layer: str) -> None:
    require_layer(layer)
    await run(shadow, "echo one > gen.txt; mkdir -p build && echo artefact > build/o", layer)
    shadow.write("gen.txt", "edited by agent\n")
    r = await run(shadow, "cat gen.txt build/o", layer)
    assert r.stdout.splitlines() == ["edited by agent", "artefact"]
    assert r.changed_paths == []
    shadow.delete("gen.txt")
    r = await run(shadow, "test -e gen.txt; echo $?", layer)
    assert r.stdout.strip() == "1"


@pytest.mark.parametrize("layer", SANDBOXED)
async def test_writes_outside_the_view_are_denied(ws: Path, shadow: Shadow, layer: str,
                                                  tmp_path: Path) -> None:
    require_layer(layer)
    target = tmp_path / "outside.txt"
    r = await run(shadow, f"echo x > {target}; echo x > $HOME/.baton-test-escape; "
                  f"touch .git/hooks/pre-commit; echo done", layer)
    assert r.stdout.strip().endswith("done")
    assert not target.exists()
    assert not (Path.home() / ".baton-test-escape").exists()
    assert not (ws / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.parametrize("layer", SANDBOXED)
async def test_symlink_out_is_not_folded(ws: Path, shadow: Shadow, layer: str, tmp_path: Path) -> None:
    require_layer(layer)
    (tmp_path / "secret").write_text("s\n")
    r = await run(shadow, f"ln -s {tmp_path / 'secret'} link.txt", layer)
    assert r.changed_paths == [] and any(s.startswith("link.txt:") for s in r.skipped_paths)
    assert not os.path.lexists(ws / "link.txt") and shadow.changes() == []


async def test_bwrap_hides_baton_and_network(ws: Path, shadow: Shadow) -> None:
    require_layer("bwrap")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        probe = (f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2)\" "
                 "&& echo NET || echo NONET")
        r = await run(shadow, f"ls -A .baton | wc -l; touch /usr/x 2>/dev/null || echo RO; {probe}", "bwrap")
        assert r.stdout.split() == ["0", "RO", "NONET"], r.stderr
        r = await run(shadow, probe, "bwrap", network=True)
        assert r.stdout.strip() == "NET"
    finally:
        server.close()


@pytest.mark.parametrize("layer", [*SANDBOXED, "none"])
async def test_timeout_kills_the_process_group(shadow: Shadow, layer: str) -> None:
    if layer != "none":
        require_layer(layer)
    t0 = time.monotonic()
    r = await run(shadow, "sleep 30 & sleep 30; echo never", layer, timeout_s=0.5)
    assert r.timed_out and r.exit_code is None and "never" not in r.stdout
    assert time.monotonic() - t0 < 10


async def test_output_is_capped_keeping_head_and_tail(shadow: Shadow) -> None:
    r = await run(shadow, "echo START; yes filler | head -c 300000; echo; echo END", "none",
                  output_cap=2000)
    assert len(r.stdout) < 2200 and r.stdout.startswith("START") and r.stdout.rstrip().endswith("END")
    assert "bytes elided" in r.stdout


async def test_environment_is_allow_listed(shadow: Shadow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "t")
    monkeypatch.setenv("HARMLESS_SETTING", "not listed")
    monkeypatch.setenv("LISTED_SETTING", "kept")
    monkeypatch.setenv("LC_TIME", "C")
    r = await run(shadow, "env", "none", env_allow=["LISTED_SETTING"])
    assert "sk-test-not-real" not in r.stdout and "MY_SERVICE_TOKEN" not in r.stdout
    assert "HARMLESS_SETTING" not in r.stdout
    assert "LISTED_SETTING=kept" in r.stdout and "LC_TIME=C" in r.stdout
    assert "PATH=" in r.stdout


async def test_no_isolation_without_opt_in_is_refused(shadow: Shadow, ws: Path) -> None:
    with pytest.raises(SandboxUnavailable) as e:
        await run_command("echo hi > x", shadow=shadow, workspace=ws, timeout_s=5, network=False,
                          allow_unsandboxed=False, layer="none")
    msg = str(e.value)
    assert "allow_unsandboxed_commands = true" in msg or "apt-get install bubblewrap" in msg
    assert isinstance(e.value, ToolRefused)
    assert not (ws / "x").exists() and shadow.changes() == []


async def test_probe_reports_none_and_refuses(shadow: Shadow, ws: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_SANDBOX_FORCE", "none")
    with pytest.raises(SandboxUnavailable) as e:
        await run_command("true", shadow=shadow, workspace=ws, timeout_s=5, network=False,
                          allow_unsandboxed=False)
    assert "allow_unsandboxed_commands = true" in str(e.value)
    r = await run_command("echo ok", shadow=shadow, workspace=ws, timeout_s=5, network=False,
                          allow_unsandboxed=True)
    assert r.layer == "none" and r.stdout == "ok\n" and "WITHOUT isolation" in r.note


async def test_wrong_workspace_is_refused(shadow: Shadow, tmp_path: Path) -> None:
    with pytest.raises(ToolRefused):
        await run_command("true", shadow=shadow, workspace=tmp_path, timeout_s=5, network=False,
                          allow_unsandboxed=True, layer="none")


async def test_commands_run_concurrently_in_separate_runs(ws: Path) -> None:
    from baton.sandbox.paths import PathPolicy
    shadows = [Shadow(PathPolicy(ws), ws / ".baton/runs" / f"c{i}" / "shadow", lambda p: None)
               for i in range(2)]
    rs = await asyncio.gather(*(run(s, f"echo {i} > mine.txt", "none") for i, s in enumerate(shadows)))
    assert all(r.exit_code == 0 for r in rs)
    assert [s.read("mine.txt") for s in shadows] == ["0\n", "1\n"]


@pytest.mark.parametrize("layer", [*SANDBOXED, "none"])
async def test_writes_outside_the_grant_are_discarded(ws: Path, shadow: Shadow, layer: str) -> None:
    if layer != "none":
        require_layer(layer)
    allowed = {"src/app.py"}
    r = await run(shadow, "echo ok > src/app.py; echo no > keep.txt; rm del.txt; echo new > new.txt",
                  layer, may_write=lambda rel: rel in allowed)
    assert r.changed_paths == ["src/app.py"]
    assert r.denied_paths == ["del.txt", "keep.txt", "new.txt"]
    assert [c.path for c in shadow.changes()] == ["src/app.py"]
    r = await run(shadow, "cat keep.txt del.txt src/app.py; test -e new.txt || echo NONEW", layer)
    assert r.stdout.split() == ["old", "gone", "ok", "NONEW"]


@pytest.mark.parametrize("layer", [*SANDBOXED, "none"])
async def test_link_left_in_the_view_never_carries_a_write_out(
        ws: Path, shadow: Shadow, layer: str, tmp_path: Path) -> None:
    # A command swaps a directory for a link to the outside; the agent then writes a file
    # under that directory with its file tools; bringing the next view up to date runs
    # with the person's full rights, and must not follow the link.
    if layer != "none":
        require_layer(layer)
    outside = tmp_path / "outside"
    outside.mkdir()
    await run(shadow, f"rm -rf src && ln -s {outside} src", layer)
    shadow.write("src/app.py", "agent\n")
    shadow.write("src/new/deep.py", "deep\n")
    r = await run(shadow, "cat src/app.py src/new/deep.py", layer)
    assert r.stdout.split() == ["agent", "deep"], r.stderr
    assert list(outside.iterdir()) == []


async def test_overlay_upper_moves_out_when_the_store_cannot_hold_it(ws: Path, shadow: Shadow) -> None:
    require_layer("bwrap")
    shadow.store.mkdir(parents=True)
    (shadow.store / "overlay").write_text("not a directory")  # upper cannot be created here
    shadow.write("keep.txt", "agent\n")
    r = await run(shadow, "cat keep.txt; echo x > made.txt", "bwrap")
    assert r.exit_code == 0 and r.stdout == "agent\n", r.stderr
    assert (shadow.store / "overlay-location").is_file() and r.changed_paths == ["made.txt"]
    r = await run(shadow, "cat made.txt", "bwrap")  # the moved upper persists for the run
    assert r.stdout == "x\n"
    external = Path((shadow.store / "overlay-location").read_text())
    force_rmtree(external)
    force_rmtree(shadow.store)
    assert not external.exists() and not shadow.store.exists()


async def test_commands_of_one_run_take_turns(shadow: Shadow) -> None:
    # They share the run's view: the second starts after the first has been folded.
    a, b = await asyncio.gather(run(shadow, "echo 1 > n.txt; sleep 0.2; cat n.txt", "none"),
                                run(shadow, "echo 2 > n.txt; cat n.txt", "none"))
    assert a.stdout == "1\n" and b.stdout == "2\n"
    assert shadow.read("n.txt") == "2\n"


async def test_unsandboxed_commands_still_end_what_they_start(shadow: Shadow) -> None:
    # With no isolation (the workspace's explicit opt-in) a daemonised child still dies
    # with the command: the reaper supervises it.
    mark = f"{4000 + os.getpid() % 1000}.{time.time_ns() % 10**6:06d}"
    r = await run(shadow, f"setsid sleep {mark} </dev/null >/dev/null 2>&1 & echo ok", "none")
    assert r.stdout == "ok\n"
    want = b"sleep\x00" + mark.encode() + b"\x00"

    def alive() -> bool:
        for name in os.listdir("/proc"):
            try:
                if name.isdigit() and Path(f"/proc/{name}/cmdline").read_bytes() == want:
                    return True
            except OSError:
                pass
        return False

    deadline = time.monotonic() + 3
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive()
