"""The path policy: every escape a model (or a command's leftovers) could try is refused."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from baton.errors import ToolRefused
from baton.sandbox.nofollow import delete_tree_file, write_tree_file
from baton.sandbox.paths import PathPolicy, delete_workspace_file, protected_name, write_workspace_file


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "README.md").write_text("hi\n")
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".baton" / "runs").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    # links that lead out, or into protected places
    os.symlink(outside, root / "out_dir")
    os.symlink(outside / "secret.txt", root / "out_file")
    os.symlink("../outside/secret.txt", root / "out_rel")
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink(outside / "not-yet", root / "dangling_out")
    os.symlink(root / ".git", root / "gitlink")
    os.symlink(".git/hooks", root / "hooklink")
    os.symlink(".baton", root / "batonlink")
    os.symlink("src/../../outside", root / "sneaky")
    os.symlink("loop_b", root / "loop_a")
    os.symlink("loop_a", root / "loop_b")
    os.symlink("src/pkg", root / "inside_link")  # refused too, with the path to use instead
    os.symlink("out_dir", root / "chain")  # link to a link that leads out
    os.mkfifo(root / "fifo")
    os.symlink("/dev/null", root / "devnull")
    (root / "src" / "nested").mkdir()
    os.symlink("../../out_dir", root / "src" / "nested" / "deep")
    (root / "sub").mkdir()
    (root / "sub" / ".git").mkdir()
    return root


ESCAPES = [
    "../outside/secret.txt",
    "..",
    "../",
    "src/../../outside/secret.txt",
    "src/pkg/../../../outside",
    "./../outside",
    "a/b/../../../x",
    "/etc/passwd",
    "/",
    "/tmp/x",
    "//etc/passwd",
    "out_dir/secret.txt",
    "out_dir",
    "out_file",
    "out_rel",
    "passwd",
    "dangling_out",
    "dangling_out/new.txt",
    "chain/secret.txt",
    "sneaky/secret.txt",
    "src/nested/deep/secret.txt",
    "loop_a",
    "loop_b/x",
    "inside_link/mod.py",
    "inside_link",
    ".git./config",
    ".git /config",
    ".g\u200cit/config",
    "\uff0egit/config",
    "GIT~1/config",
    "README.md/x",
    ".git",
    ".git/config",
    ".git/hooks/pre-commit",
    "./.git/hooks/post-checkout",
    "src/../.git/config",
    ".GIT/config",
    ".Git/hooks/x",
    "sub/.git/hooks/pre-commit",
    "gitlink/config",
    "gitlink",
    "hooklink/pre-commit",
    ".baton",
    ".baton/runs/x/index.json",
    ".BATON/config.toml",
    "batonlink/config.toml",
    "src/../.baton/journal.sqlite",
    "fifo",
    "devnull",
    "a\x00b",
    "src/pkg/mod.py\x00.txt",
    "x" * 2000,
    "a/" + "y" * 300 + "/b",
    "",
    "   ",
]


@pytest.mark.parametrize("raw", ESCAPES, ids=[repr(e)[:40] for e in ESCAPES])
def test_escape_is_refused(ws: Path, raw: str) -> None:
    with pytest.raises(ToolRefused):
        PathPolicy(ws).relative(raw)


def test_there_are_at_least_forty_distinct_attempts() -> None:
    assert len(set(ESCAPES)) >= 40


def test_non_string_is_refused(ws: Path) -> None:
    with pytest.raises(ToolRefused):
        PathPolicy(ws).relative(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw,expected", [
    ("src/pkg/mod.py", "src/pkg/mod.py"),
    ("./src//pkg/./mod.py", "src/pkg/mod.py"),
    ("src/pkg/../pkg/mod.py", "src/pkg/mod.py"),
    ("new/dir/file.txt", "new/dir/file.txt"),
    (".", "."),
    (".gitignore", ".gitignore"),
    (".github/workflows/ci.yml", ".github/workflows/ci.yml"),
    ("src/.batonrc", "src/.batonrc"),
])
def test_inside_paths_are_normalised(ws: Path, raw: str, expected: str) -> None:
    assert PathPolicy(ws).relative(raw) == expected


def test_absolute_path_inside_is_made_relative(ws: Path) -> None:
    assert PathPolicy(ws).relative(str(ws / "src" / "pkg" / "mod.py")) == "src/pkg/mod.py"


def test_gitdir_file_target_is_protected(tmp_path: Path) -> None:
    root = tmp_path / "wt"
    root.mkdir()
    (root / "gitdata").mkdir()
    (root / ".git").write_text("gitdir: gitdata\n")
    os.symlink("gitdata", root / "alias")
    policy = PathPolicy(root)
    for raw in ("gitdata/HEAD", "gitdata", "alias/hooks/pre-commit"):
        with pytest.raises(ToolRefused):
            policy.relative(raw)
    assert policy.relative("src/x.py") == "src/x.py"


def test_socket_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "w"
    root.mkdir()
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(root / "sock"))
        with pytest.raises(ToolRefused):
            PathPolicy(root).relative("sock")
    finally:
        s.close()


def test_symlinked_root_is_resolved(tmp_path: Path, ws: Path) -> None:
    alias = tmp_path / "alias"
    os.symlink(ws, alias)
    policy = PathPolicy(alias)
    assert policy.relative(str(alias / "README.md")) == "README.md"
    assert policy.relative(str(ws / "README.md")) == "README.md"


# -- symlink-safe writer ----------------------------------------------------------

def test_write_creates_directories_and_keeps_mode(ws: Path) -> None:
    policy = PathPolicy(ws)
    script = ws / "run.sh"
    script.write_text("old")
    script.chmod(0o755)
    write_workspace_file(policy, "run.sh", "new\n")
    assert script.read_text() == "new\n" and (script.stat().st_mode & 0o777) == 0o755
    write_workspace_file(policy, "a/b/c.txt", "é😀\r\n")
    assert (ws / "a/b/c.txt").read_bytes() == "é😀\r\n".encode()


def test_write_never_follows_a_symlink_at_the_last_component(ws: Path, tmp_path: Path) -> None:
    os.symlink("README.md", ws / "inner_link")  # inside, so the policy lets it through
    with pytest.raises(ToolRefused):
        write_workspace_file(PathPolicy(ws), "inner_link", "through")
    assert (ws / "README.md").read_text() == "hi\n"


def test_symlink_planted_after_the_check_is_not_followed(ws: Path, tmp_path: Path) -> None:
    # The race the check cannot see: a directory swapped for a link to the outside.
    policy = PathPolicy(ws)
    rel = policy.relative("later/file.txt")
    os.symlink(tmp_path / "outside", ws / "later")
    with pytest.raises(ToolRefused):
        write_tree_file(policy.root, rel, b"pwned")
    assert not (tmp_path / "outside" / "file.txt").exists()
    os.symlink(tmp_path / "outside" / "secret.txt", ws / "src" / "planted")
    with pytest.raises(ToolRefused):
        write_tree_file(policy.root, "src/planted", b"pwned")
    assert (tmp_path / "outside" / "secret.txt").read_text() == "secret\n"


def test_write_refuses_escapes(ws: Path, tmp_path: Path) -> None:
    for raw in ("out_dir/x", "../outside/secret.txt", ".git/hooks/pre-commit", "fifo"):
        with pytest.raises(ToolRefused):
            write_workspace_file(PathPolicy(ws), raw, "x")
    assert (tmp_path / "outside" / "secret.txt").read_text() == "secret\n"
    assert not (ws / ".git" / "hooks" / "pre-commit").exists()


def test_delete_refuses_links_and_removes_only_files(ws: Path, tmp_path: Path) -> None:
    os.symlink("README.md", ws / "inner_link")
    policy = PathPolicy(ws)
    with pytest.raises(ToolRefused):
        delete_workspace_file(policy, "inner_link")
    # A link planted after the check: the fd walk removes the link, never its target.
    delete_tree_file(policy.root, "inner_link")
    assert not os.path.lexists(ws / "inner_link") and (ws / "README.md").exists()
    delete_workspace_file(policy, "src/pkg/mod.py")
    assert not (ws / "src/pkg/mod.py").exists()
    delete_workspace_file(policy, "never/existed.txt")  # nothing to do
    with pytest.raises(ToolRefused):
        delete_workspace_file(policy, "src")
    with pytest.raises(ToolRefused):
        delete_workspace_file(policy, "out_file")
    assert (tmp_path / "outside" / "secret.txt").exists()


def test_a_link_inside_is_refused_with_the_path_to_use(ws: Path) -> None:
    with pytest.raises(ToolRefused, match="link to src/pkg; .* use src/pkg instead"):
        PathPolicy(ws).relative("inside_link/mod.py")


def test_a_link_leading_out_does_not_say_where(ws: Path, tmp_path: Path) -> None:
    for raw in ("out_file", "out_dir/secret.txt", "gitlink/config", "chain"):
        with pytest.raises(ToolRefused) as e:
            PathPolicy(ws).relative(raw)
        assert str(tmp_path / "outside") not in str(e.value) and "outside the workspace" in str(e.value)


@pytest.mark.parametrize("name,protected", [
    (".git", True), (".GIT", True), (".git.", True), (".git. .", True), (".baton ", True),
    (".g\u200dit", True), ("\uff0e\uff47\uff49\uff54", True), ("git~1", True), ("BATON~1", True),
    (".gitignore", False), (".github", False), ("git", False), (".git~1", False), ("..git", False),
])
def test_protected_names(name: str, protected: bool) -> None:
    assert protected_name(name) is protected
