"""Attacks on the file tools (issue 13, items 3 and 7): a hostile model, and a hostile
repository that planted links, FIFOs and huge files, try to read, list, search, write or
delete something outside the workspace (or in `.git/`), to stall the engine with a regex,
or to fill the disk through the run's shadow.

Every attempt goes through `FileTools` built as the runtime builds it (the run's path
policy and shadow; a write grant that allows everything, so only the path policy and the
shadow stand in the way) and calls each tool the way the session does (reads off the loop).
Each asserts that the marker of a file outside never appears in any output, that no file
outside changed, and that a refusal is a clear ToolRefused, never an internal error.

Out of scope: hard links. A hard link in the workspace *is* the file (there is no "outside"
to detect); whoever can create one in the workspace could as well have copied the file.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from baton.config import LimitsConfig
from baton.errors import ToolRefused
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow
from baton.tools.builtin import BUILTIN
from baton.tools.files import FileTools

MARK = "TOP-SECRET"


def _snapshot(*dirs: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under `dirs` with its type and content (or link target)."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for d in dirs:
        if not os.path.lexists(d):
            continue
        for folder, subdirs, files in os.walk(d):
            for name in subdirs + files:
                p = Path(folder) / name
                st = p.lstat()
                if p.is_symlink():
                    out[str(p)] = (st.st_mode, os.readlink(p))
                elif p.is_file():
                    out[str(p)] = (st.st_mode, p.read_bytes())
                else:
                    out[str(p)] = (st.st_mode, b"")
    return out


@pytest.fixture
def guard(outside: Path, ws: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Checks, after the attempt, that nothing outside the workspace (nor its .git/)
    changed."""
    evil = tmp_path / (ws.name + "-evil")
    evil.mkdir()
    (evil / "secret.txt").write_text(f"{MARK}-SIBLING\n")
    (ws / ".git" / "config").write_text(f"[core]\n\t# {MARK}-GITDIR\n")
    watched = (outside, evil, ws / ".git")
    before = _snapshot(*watched)
    yield
    assert _snapshot(*watched) == before, "a file outside the workspace (or in .git/) changed"


def _tools(shadow: Shadow) -> FileTools:
    async def permit(rel: str) -> bool:
        return True  # the widest grant: only the path policy may stop the attempt
    return FileTools(shadow.policy, shadow, permit)


@pytest.fixture
def tools(shadow: Shadow, guard: None) -> FileTools:
    return _tools(shadow)


async def call(tools: FileTools, name: str, **args: Any) -> str:
    """One tool call as the session makes it; a refusal is returned as its message (what
    the model sees). Any other exception fails the test: it would be an internal error."""
    parsed = BUILTIN.get(name).parse(args)  # type: ignore[union-attr]
    try:
        if name in ("read_file", "list_files", "search"):
            out = await asyncio.to_thread(getattr(tools, name), parsed)
        else:
            out = await getattr(tools, name)(parsed)
    except ToolRefused as e:
        out = f"refused: {e}"
    assert MARK not in out, f"{name}({args}) leaked: {out!r}"
    return out


def _refused(out: str) -> bool:
    return out.startswith("refused: ")


# -- reading through links ------------------------------------------------------------

async def test_search_does_not_follow_a_file_symlink(tools: FileTools, ws: Path, outside: Path) -> None:
    """A repository's file symlink to a secret outside: `search` over the workspace must not
    return its lines (it did: the walker listed the link as a file and the read followed it)."""
    os.symlink(outside / "secret.txt", ws / "notes.txt")
    assert await call(tools, "search", pattern="SECRET") == "(no matches)"
    assert _refused(await call(tools, "search", pattern=".", path="notes.txt"))


async def test_read_file_refuses_a_file_symlink_leading_out(tools: FileTools, ws: Path,
                                                            outside: Path) -> None:
    """read_file of a workspace symlink to a file outside is refused."""
    os.symlink(outside / "secret.txt", ws / "notes.txt")
    assert _refused(await call(tools, "read_file", path="notes.txt"))


async def test_relative_link_chain_is_not_followed(tools: FileTools, ws: Path) -> None:
    """A link to a link to a relative `../outside` target is refused by read and search."""
    os.symlink("../outside/secret.txt", ws / "hop1")
    os.symlink("hop1", ws / "src" / "hop2")
    assert _refused(await call(tools, "read_file", path="src/hop2"))
    assert await call(tools, "search", pattern="SECRET", path="src") == "(no matches)"


async def test_symlinked_directory_is_neither_listed_nor_searched(tools: FileTools, ws: Path,
                                                                  outside: Path) -> None:
    """A directory symlink to outside: its files are not listed, searched or readable."""
    os.symlink(outside, ws / "vendor")
    listed = await call(tools, "list_files")
    assert "vendor/" not in listed and "secret.txt" not in listed
    assert await call(tools, "search", pattern="SECRET") == "(no matches)"
    assert _refused(await call(tools, "search", pattern="SECRET", path="vendor"))
    assert _refused(await call(tools, "list_files", path="vendor"))
    assert _refused(await call(tools, "read_file", path="vendor/secret.txt"))


async def test_link_into_dot_git_is_not_followed(tools: FileTools, ws: Path) -> None:
    """A workspace link into `.git/` (whose config a repository could fill with anything)
    is neither read nor searched."""
    os.symlink(".git/config", ws / "gitconfig")
    os.symlink(".git", ws / "gitdir")
    assert _refused(await call(tools, "read_file", path="gitconfig"))
    assert _refused(await call(tools, "read_file", path="gitdir/config"))
    assert await call(tools, "search", pattern="SECRET") == "(no matches)"
    assert "config" not in await call(tools, "list_files")


async def test_file_swapped_for_a_link_after_the_check_is_not_read(tools: FileTools, ws: Path,
                                                                   outside: Path) -> None:
    """TOCTOU: the path passes the policy, then the file is replaced by a link to the
    secret before the read. The read walks by fd with O_NOFOLLOW, so it is refused."""
    check = tools.policy.relative

    def check_then_swap(raw: str) -> str:
        rel = check(raw)
        target = ws / rel
        if target.is_file() and not target.is_symlink():
            target.unlink()
            os.symlink(outside / "secret.txt", target)
        return rel

    tools.policy.relative = check_then_swap  # type: ignore[method-assign]
    assert _refused(await call(tools, "read_file", path="src/app.py"))


async def test_directory_swapped_for_a_link_after_the_check_is_not_read(
        tools: FileTools, ws: Path, outside: Path) -> None:
    """TOCTOU on a directory: `src/` is swapped for a link to outside between the check
    and the read of `src/secret.txt`."""
    check = tools.policy.relative

    def check_then_swap(raw: str) -> str:
        rel = check(raw)
        if (ws / "src").is_dir() and not (ws / "src").is_symlink():
            (ws / "src" / "app.py").unlink()
            (ws / "src").rmdir()
            os.symlink(outside, ws / "src")
        return rel

    tools.policy.relative = check_then_swap  # type: ignore[method-assign]
    assert _refused(await call(tools, "read_file", path="src/secret.txt"))


async def test_gitignore_symlink_is_not_read_by_the_walker(tools: FileTools, ws: Path,
                                                           tmp_path: Path) -> None:
    """A `.gitignore` linked to a file outside would make listing an oracle for its lines:
    the walker does not read it through the link (src/app.py stays listed)."""
    (tmp_path / "patterns").write_text("src/\n")
    os.symlink(tmp_path / "patterns", ws / ".gitignore")
    assert "src/app.py" in (await call(tools, "list_files")).splitlines()


async def test_open_buffer_of_a_linked_file_outside_is_not_read(ws: Path, outside: Path,
                                                                guard: None) -> None:
    """An editor with the outside file open, and a host that resolves links to find a
    buffer: read_file through a workspace link, or by the outside absolute path, must not
    return that buffer."""
    buffers = {os.path.realpath(outside / "secret.txt"): f"{MARK}-BUFFER\n"}
    shadow = Shadow(PathPolicy(ws), ws / ".baton" / "runs" / "r1" / "shadow",
                    lambda p: buffers.get(os.path.realpath(p)))
    tools = _tools(shadow)
    os.symlink(outside / "secret.txt", ws / "buffer.txt")
    assert _refused(await call(tools, "read_file", path="buffer.txt"))
    assert _refused(await call(tools, "read_file", path=str(outside / "secret.txt")))
    assert await call(tools, "search", pattern="SECRET") == "(no matches)"


async def test_fifo_hangs_neither_read_nor_search(tools: FileTools, ws: Path) -> None:
    """A FIFO planted in the workspace: opening it for reading would block forever. read_file
    is refused and search skips it, both promptly."""
    os.mkfifo(ws / "src" / "pipe.py")
    done: list[str] = []

    def attempt() -> None:
        done.append(asyncio.run(call(tools, "search", pattern="x")))
        done.append(asyncio.run(call(tools, "read_file", path="src/pipe.py")))

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader so the test process can end
        fd = os.open(ws / "src" / "pipe.py", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("a FIFO in the workspace hung the file tools")
    assert len(done) == 2 and _refused(done[1])


async def test_file_swapped_for_a_fifo_after_the_check_does_not_hang(tools: FileTools,
                                                                      ws: Path) -> None:
    """TOCTOU with a FIFO: the file passes the policy, then is replaced by a FIFO before the
    read. The read opens with O_NONBLOCK and checks the type on the open fd: refused, at once."""
    check = tools.policy.relative

    def check_then_swap(raw: str) -> str:
        rel = check(raw)
        (ws / rel).unlink()
        os.mkfifo(ws / rel)
        return rel

    tools.policy.relative = check_then_swap  # type: ignore[method-assign]
    started = time.monotonic()
    assert _refused(await asyncio.wait_for(call(tools, "read_file", path="README.md"), 10))
    assert time.monotonic() - started < 5


async def test_symlink_loops_neither_hang_nor_fail(tools: FileTools, ws: Path) -> None:
    """Link loops (a link to itself, two links to each other, a folder link to its parent):
    every tool answers promptly with a refusal or a listing without them."""
    os.symlink("self", ws / "self")
    os.symlink("pong", ws / "ping")
    os.symlink("ping", ws / "pong")
    os.symlink("..", ws / "src" / "up")
    for path in ("self", "ping/x", "src/up/src/up/README.md"):
        assert _refused(await call(tools, "read_file", path=path))
    listed = (await call(tools, "list_files")).splitlines()
    assert listed == ["README.md", "src/app.py"]


async def test_dot_git_is_not_read_listed_or_searched(tools: FileTools) -> None:
    """`.git/` itself, by path, glob or search root: its config (a repository can put
    anything there) is never returned."""
    assert _refused(await call(tools, "read_file", path=".git/config"))
    assert _refused(await call(tools, "list_files", path=".git"))
    assert _refused(await call(tools, "search", pattern="SECRET", path=".git"))
    assert await call(tools, "search", pattern="SECRET", glob=".git/*") == "(no matches)"
    assert await call(tools, "list_files", glob="**/config") == "(no files)"


async def test_huge_sparse_file_is_refused_without_being_read(tools: FileTools, ws: Path) -> None:
    """A 64 GiB sparse file (costs no disk): reading or searching it must not try to load it."""
    with open(ws / "huge.log", "wb") as f:
        f.truncate(64 * 2**30)
    started = time.monotonic()
    assert _refused(await call(tools, "read_file", path="huge.log"))
    assert await call(tools, "search", pattern="x") == "(no matches)"
    assert time.monotonic() - started < 5


async def test_proc_through_a_link_is_refused(tools: FileTools, ws: Path) -> None:
    """Links to /proc (the daemon's own environment and memory maps) are refused."""
    os.symlink("/proc/self", ws / "me")
    os.symlink("/proc/self/environ", ws / "env")
    for path in ("me/environ", "env", "me/root/etc/hostname", "/proc/self/environ"):
        assert _refused(await call(tools, "read_file", path=path))


# -- path spellings ---------------------------------------------------------------------

SPELLINGS = [
    "../outside/secret.txt",
    "./../outside/secret.txt",
    "src/../../outside/secret.txt",
    "src/./../.././outside/secret.txt",
    "src//..//..//outside//secret.txt",
    "..\\outside\\secret.txt",  # a backslash is a name character on POSIX
    "%2e%2e/outside/secret.txt",
    "\uff0e\uff0e/outside/secret.txt",  # fullwidth dots
    "\u2025/outside/secret.txt",  # two-dot leader
    "....//outside/secret.txt",
    "src/app.py/../../../outside/secret.txt",
    "~/../outside/secret.txt",
]


@pytest.mark.parametrize("raw", SPELLINGS)
async def test_dotdot_spellings_do_not_leave_the_workspace(tools: FileTools, raw: str) -> None:
    """Each spelling of `..` (and lookalikes) is refused or names a file inside the
    workspace that does not exist: never the secret."""
    out = await call(tools, "read_file", path=raw)
    assert _refused(out)


async def test_absolute_paths_outside_are_refused(tools: FileTools, ws: Path, outside: Path) -> None:
    """Absolute paths: the secret, /etc/passwd, and a sibling folder whose name starts with
    the workspace's (`ws-evil` next to `ws`), which a string-prefix check would let in."""
    evil = ws.parent / (ws.name + "-evil")
    for raw in (str(outside / "secret.txt"), "/etc/passwd", str(evil / "secret.txt"),
                str(ws) + "-evil/secret.txt", f"{ws}/../{ws.name}-evil/secret.txt"):
        assert _refused(await call(tools, "read_file", path=raw))
        assert _refused(await call(tools, "search", pattern="SECRET", path=raw))
        assert _refused(await call(tools, "write_file", path=raw, content="x"))


async def test_nul_and_overlong_paths_are_clear_refusals(tools: FileTools) -> None:
    """A NUL byte, a 100,000-character path and a 300-byte component are refused by the
    policy (no ValueError or OSError from the OS escapes as an internal error)."""
    for raw in ("src/app.py\x00../../outside/secret.txt", "a/" * 50_000, "a/" + "b" * 300):
        for name in ("read_file", "list_files", "search", "write_file", "delete_file"):
            args: dict[str, Any] = {"path": raw}
            if name == "search":
                args["pattern"] = "x"
            if name == "write_file":
                args["content"] = "x"
            assert _refused(await call(tools, name, **args))


@pytest.mark.parametrize("raw", [
    ".GIT/hooks/pre-commit",
    ".Git/config",
    ".git./hooks/pre-commit",  # NTFS drops trailing dots
    ".git /hooks/pre-commit",  # and trailing spaces
    ".g\u200cit/hooks/pre-commit",  # HFS+ ignores zero-width non-joiner
    ".\ufeffgit/hooks/pre-commit",  # and the byte order mark
    "\uff0egit/hooks/pre-commit",  # fullwidth full stop
    "\uff0e\uff27\uff29\uff34/hooks/pre-commit",  # fullwidth .GIT
    "GIT~1/hooks/pre-commit",  # NTFS short name
    "src/.git/hooks/pre-commit",  # a nested repository's hooks run code too
    ".BATON/config.toml",
])
async def test_dot_git_lookalikes_are_refused(tools: FileTools, ws: Path, raw: str) -> None:
    """Names a case-insensitive, NTFS or HFS+ filesystem (or a person reading the diff)
    would take for `.git`/`.baton`: writes are refused, so no hook can be planted."""
    out = await call(tools, "write_file", path=raw, content="#!/bin/sh\ntouch /tmp/pwned\n")
    assert _refused(out)
    assert not list((ws / ".git" / "hooks").iterdir())


async def test_a_directory_as_path_is_a_clear_refusal(tools: FileTools) -> None:
    """A directory given where a file is expected: every tool refuses with a message, no
    IsADirectoryError."""
    assert _refused(await call(tools, "read_file", path="src"))
    assert _refused(await call(tools, "write_file", path="src", content="x"))
    assert _refused(await call(tools, "edit_file", path="src", old="x", new="y"))
    assert _refused(await call(tools, "delete_file", path="src"))
    assert _refused(await call(tools, "read_file", path="."))
    assert _refused(await call(tools, "write_file", path="README.md/x", content="x"))


async def test_list_files_glob_cannot_climb(tools: FileTools) -> None:
    """A glob such as `../**` filters workspace paths only; it never lists outside."""
    for glob in ("../**", "../outside/*", "/**", "**/secret.txt", "*"):
        out = await call(tools, "list_files", glob=glob)
        assert "outside" not in out and "ws-evil" not in out
    assert _refused(await call(tools, "list_files", path="..", glob="**"))


# -- writing and deleting through links --------------------------------------------------

async def test_write_through_a_dangling_link_is_refused(tools: FileTools, ws: Path,
                                                        outside: Path) -> None:
    """A dangling link to a file not yet existing outside: writing it is refused, so no
    delivery could later create the file outside."""
    os.symlink(outside / "planted.sh", ws / "setup.sh")
    assert _refused(await call(tools, "write_file", path="setup.sh", content="x"))
    assert not (outside / "planted.sh").exists()


async def test_create_under_a_linked_directory_is_refused(tools: FileTools, ws: Path,
                                                          outside: Path) -> None:
    """Creating `ext/new.txt` where `ext` links to a directory outside is refused."""
    os.symlink(outside, ws / "ext")
    assert _refused(await call(tools, "write_file", path="ext/new.txt", content="x"))
    assert _refused(await call(tools, "write_file", path="ext/secret.txt", content="x"))


async def test_edit_and_delete_through_a_link_are_refused(tools: FileTools, ws: Path,
                                                          outside: Path, shadow: Shadow) -> None:
    """edit_file and delete_file on a link to the secret: refused, and the secret is not
    copied into the run's shadow (where a diff would show it) either."""
    os.symlink(outside / "secret.txt", ws / "notes.txt")
    assert _refused(await call(tools, "edit_file", path="notes.txt", old="TOP", new="x"))
    assert _refused(await call(tools, "delete_file", path="notes.txt"))
    assert os.path.lexists(ws / "notes.txt")
    stored = _snapshot(shadow.store)
    assert not any(isinstance(v, bytes) and MARK.encode() in v for v in stored.values())
    assert shadow.changes() == []


# -- search cannot stall the engine ------------------------------------------------------

async def test_catastrophic_regex_does_not_stall_the_loop(tools: FileTools, ws: Path) -> None:
    """`(a+)+$` over 27 `a`s and `!` backtracks exponentially in a backtracking engine,
    which holds the GIL: the engine's loop would stall for seconds. With linear-time
    matching, a heartbeat on the loop is never more than 0.5 s late."""
    (ws / "src" / "evil.txt").write_text("a" * 27 + "!\n")
    late = 0.0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal late
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            late = max(late, time.perf_counter() - t - 0.01)

    beat = asyncio.create_task(heartbeat())
    try:
        await asyncio.wait_for(call(tools, "search", pattern="(a+)+$"), 30)
    finally:
        stop.set()
        await beat
    assert late < 0.5, f"the event loop stalled for {late:.2f} s"


async def test_unsupported_regex_is_a_clear_refusal(tools: FileTools) -> None:
    """Backreferences and lookaround cannot be matched in linear time: the model is told
    which feature is unsupported instead of getting an internal error."""
    for pattern, feature in ((r"(a)\1", "backreference"), (r"foo(?=bar)", "lookahead"),
                             (r"(?<!x)y", "lookbehind")):
        out = await call(tools, "search", pattern=pattern)
        assert _refused(out) and feature in out


async def test_search_output_is_bounded(tools: FileTools, ws: Path) -> None:
    """A match on a 4 MB line, and thousands of matching lines: the output stays small."""
    (ws / "src" / "long.txt").write_text("x" * 4_000_000 + "\n" + "y\n" * 10_000)
    out = await call(tools, "search", pattern="x|y")
    assert len(out) < 100_000


# -- the shadow's budget -----------------------------------------------------------------

async def test_writes_past_the_shadow_budget_are_refused(ws: Path, guard: None) -> None:
    """A model writing file after file (or one huge file) to fill the disk is stopped at
    the run's shadow budget, with the config key named."""
    shadow = Shadow(PathPolicy(ws), ws / ".baton" / "runs" / "r1" / "shadow", lambda p: None,
                    LimitsConfig(shadow_max_bytes=100_000, shadow_max_files=20))
    tools = _tools(shadow)
    for i in range(20):
        await call(tools, "write_file", path=f"gen/{i}.txt", content="x\n")
    out = await call(tools, "write_file", path="gen/20.txt", content="x\n")
    assert _refused(out) and "shadow_max_files" in out
    big = await call(tools, "write_file", path="gen/0.txt", content="y" * 200_000)
    assert _refused(big) and "shadow_max_bytes" in big
    stored = sum(p.stat().st_size for p in shadow.store.rglob("*") if p.is_file()
                 and p.name != "index.json")
    assert stored <= 100_000
