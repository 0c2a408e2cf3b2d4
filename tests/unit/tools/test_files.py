"""The file tools on a shadow: reads through, writes captured, rules enforced."""

from __future__ import annotations

import pytest

from baton.errors import ToolRefused
from baton.sandbox.paths import PathPolicy
from baton.sandbox.shadow import Shadow
from baton.tools.files import FileTools
from baton.tools.specs import DeleteFile, EditFile, ListFiles, ReadFile, Search, WriteFile


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("one\ntwo\nthree\n")
    (root / "crlf.txt").write_bytes(b"alpha\r\nbeta\r\n")
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("x")
    (root / "debug.log").write_text("x")
    (root / "bin.dat").write_bytes(b"\x00\x01")
    return root


def tools(ws, open_buffers=None, allow=lambda rel: True):
    policy = PathPolicy(ws)
    buffers = open_buffers or {}
    shadow = Shadow(policy, ws / ".baton" / "runs" / "r" / "shadow",
                    lambda p: buffers.get(p.relative_to(ws.resolve()).as_posix()))

    async def permit(rel):
        return allow(rel)
    return FileTools(policy, shadow, permit), shadow


async def test_read_prefers_open_buffer_and_numbers_lines(ws):
    t, _ = tools(ws, {"pkg/a.py": "unsaved\nbuffer\n"})
    assert t.read_file(ReadFile(path="pkg/a.py")) == "     1\tunsaved\n     2\tbuffer"
    t2, _ = tools(ws)
    assert t2.read_file(ReadFile(path="pkg/a.py", start_line=2, end_line=2)) == "     2\ttwo"


async def test_writes_go_to_the_shadow_not_the_workspace(ws):
    t, shadow = tools(ws)
    await t.edit_file(EditFile(path="pkg/a.py", old="two", new="TWO"))
    await t.write_file(WriteFile(path="new/b.py", content="b\n"))
    await t.delete_file(DeleteFile(path="crlf.txt"))
    assert (ws / "pkg" / "a.py").read_text() == "one\ntwo\nthree\n"
    assert not (ws / "new").exists() and (ws / "crlf.txt").exists()
    changes = {c.path: (c.base, c.new) for c in shadow.changes()}
    assert changes == {"pkg/a.py": ("one\ntwo\nthree\n", "one\nTWO\nthree\n"),
                       "new/b.py": (None, "b\n"), "crlf.txt": ("alpha\r\nbeta\r\n", None)}
    listed = t.list_files(ListFiles()).splitlines()
    assert "new/b.py" in listed and "crlf.txt" not in listed


async def test_edit_keeps_crlf(ws):
    t, shadow = tools(ws)
    await t.edit_file(EditFile(path="crlf.txt", old="alpha\nbeta", new="alpha\ngamma"))
    assert shadow.read("crlf.txt") == "alpha\r\ngamma\r\n"


async def test_edit_needs_exactly_one_match(ws):
    (ws / "dup.txt").write_text("x\nx\n")
    t, _ = tools(ws)
    with pytest.raises(ToolRefused, match="occurs 2 times"):
        await t.edit_file(EditFile(path="dup.txt", old="x", new="y"))
    with pytest.raises(ToolRefused, match="does not occur"):
        await t.edit_file(EditFile(path="dup.txt", old="zzz", new="y"))


async def test_list_and_search_honour_gitignore(ws):
    t, _ = tools(ws)
    listed = t.list_files(ListFiles()).splitlines()
    assert "build/out.py" not in listed and "debug.log" not in listed and "pkg/a.py" in listed
    assert t.search(Search(pattern="^t")) == "pkg/a.py:2: two\npkg/a.py:3: three"
    assert t.list_files(ListFiles(glob="*.py")) == "pkg/a.py"


async def test_rules(ws):
    t, _ = tools(ws, allow=lambda rel: rel == "pkg/a.py")
    for bad in ("../x", "/etc/passwd", ".git/config", ".baton/journal.sqlite3"):
        with pytest.raises(ToolRefused):
            t.read_file(ReadFile(path=bad))
    with pytest.raises(ToolRefused, match="binary"):
        t.read_file(ReadFile(path="bin.dat"))
    with pytest.raises(ToolRefused, match="write grant"):
        await t.write_file(WriteFile(path="other.py", content="x"))
    with pytest.raises(ToolRefused, match="regular expression"):
        t.search(Search(pattern="("))


async def test_a_large_tree_is_listed_as_folders_with_counts(tmp_path) -> None:
    root = tmp_path / "big"
    for p in range(40):
        d = root / "packages" / f"p{p:02d}" / "src"
        d.mkdir(parents=True)
        for k in range(10):
            (d / f"f{k}.ts").write_text("x")
    (root / "README.md").write_text("r")
    t, _ = tools(root)
    out = t.list_files(ListFiles())
    assert out.startswith("401 files, too many to list; folders 3 levels down are shown with "
                          "their file counts: list_files with path= one of them, or a glob=")
    assert "README.md" in out.splitlines() and "packages/p07/src/ (10 files)" in out.splitlines()
    inside = t.list_files(ListFiles(path="packages/p07"))
    assert inside.splitlines() == [f"packages/p07/src/f{k}.ts" for k in range(10)]
