"""The file tools (read_file, list_files, search, write_file, edit_file, delete_file),
executed on a run's shadow. Every path passes the path policy; every write the grant."""

from __future__ import annotations

import asyncio
import fnmatch
import re
from collections.abc import Awaitable, Callable

from ..errors import ToolRefused
from ..sandbox.paths import PathPolicy
from ..sandbox.shadow import Shadow
from .listing import iter_files
from .specs import DeleteFile, EditFile, ListFiles, ReadFile, Search, WriteFile

MAX_READ_CHARS = 100_000
MAX_LIST = 2_000
MAX_MATCHES = 200

# Asks whether the run may write `rel` (the grant, else the person); False means refused.
PermitWrite = Callable[[str], Awaitable[bool]]


class FileTools:
    def __init__(self, policy: PathPolicy, shadow: Shadow, permit_write: PermitWrite) -> None:
        self.policy = policy
        self.shadow = shadow
        self.permit_write = permit_write

    def _text(self, rel: str) -> str:
        text = self.shadow.read(rel)
        if text is None:
            raise ToolRefused(f"{rel}: no such file")
        return text

    def read_file(self, a: ReadFile) -> str:
        rel = self.policy.relative(a.path)
        lines = self._text(rel).splitlines()
        start = (a.start_line or 1) - 1
        end = a.end_line or len(lines)
        if start >= max(len(lines), 1) and lines:
            raise ToolRefused(f"{rel} has {len(lines)} lines; start_line {start + 1} is past the end")
        numbered = "\n".join(f"{i + 1:6}\t{line}" for i, line in enumerate(lines[start:end], start))
        if len(numbered) > MAX_READ_CHARS:
            numbered = numbered[:MAX_READ_CHARS] + "\n… (truncated: read a smaller line range)"
        return numbered or f"({rel} is empty)"

    def _files(self, sub: str, glob: str | None) -> list[str]:
        rel = self.policy.relative(sub)
        if rel != "." and not self.policy.absolute(rel).is_dir() and not any(
                p.startswith(rel + "/") for p in self.shadow.created_paths()):
            raise ToolRefused(f"{sub}: no such folder")
        deleted = self.shadow.deleted_paths()
        files = set(p for p in iter_files(self.policy.root, rel) if p not in deleted)
        prefix = "" if rel == "." else rel + "/"
        files.update(p for p in self.shadow.created_paths() if p.startswith(prefix))
        if glob:
            files = {p for p in files if fnmatch.fnmatch(p, glob)
                     or fnmatch.fnmatch(p.rsplit("/", 1)[-1], glob)}
        return sorted(files)

    def list_files(self, a: ListFiles) -> str:
        files = self._files(a.path, a.glob)
        shown = files[:MAX_LIST]
        more = f"\n… and {len(files) - MAX_LIST} more" if len(files) > MAX_LIST else ""
        return "\n".join(shown) + more if shown else "(no files)"

    def search(self, a: Search) -> str:
        try:
            regex = re.compile(a.pattern)
        except re.error as e:
            raise ToolRefused(f"pattern is not a valid regular expression: {e}") from None
        out: list[str] = []
        for rel in self._files(a.path, a.glob):
            try:
                text = self.shadow.read(rel)
            except ToolRefused:  # binary or too large: not searchable
                continue
            for n, line in enumerate((text or "").splitlines(), 1):
                if regex.search(line):
                    out.append(f"{rel}:{n}: {line[:300]}")
                    if len(out) >= MAX_MATCHES:
                        return "\n".join(out) + f"\n… stopped at {MAX_MATCHES} matches"
        return "\n".join(out) or "(no matches)"

    async def _writable(self, raw: str) -> str:
        rel = self.policy.relative(raw)
        if rel == ".":
            raise ToolRefused("cannot write the workspace root")
        if self.policy.absolute(rel).is_dir():
            raise ToolRefused(f"{rel} is a folder")
        if not await self.permit_write(rel):
            raise ToolRefused(f"{rel}: not in this run's write grant, and the person did not allow it")
        return rel

    async def write_file(self, a: WriteFile) -> str:
        rel = await self._writable(a.path)
        existed = self.shadow.exists(rel)
        await asyncio.to_thread(self.shadow.write, rel, a.content)
        return f"{'overwrote' if existed else 'created'} {rel} ({len(a.content.splitlines())} lines)"

    async def edit_file(self, a: EditFile) -> str:
        rel = self.policy.relative(a.path)
        text = self._text(rel)
        old, new = a.old, a.new
        if "\r\n" in text and "\r\n" not in old and text.count(old) == 0:
            # Models write \n; a CRLF file keeps its line endings.
            old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
        count = text.count(old)
        if count == 0:
            raise ToolRefused(f"{rel}: `old` does not occur in the file; read it again and copy "
                              "the text exactly (whitespace included)")
        if count > 1:
            raise ToolRefused(f"{rel}: `old` occurs {count} times; include more surrounding text "
                              "so it matches exactly once")
        rel = await self._writable(a.path)
        await asyncio.to_thread(self.shadow.write, rel, text.replace(old, new, 1))
        return f"edited {rel}"

    async def delete_file(self, a: DeleteFile) -> str:
        rel = await self._writable(a.path)
        await asyncio.to_thread(self.shadow.delete, rel)
        return f"deleted {rel}"
