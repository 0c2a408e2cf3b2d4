"""The file tools (read_file, list_files, search, write_file, edit_file, delete_file),
executed on a run's shadow. Every path passes the path policy (no symlink is followed, see
sandbox/paths.py), every read goes through the shadow's no-follow reads, every write the
grant and the shadow's budget. Search matches in linear time (search.py)."""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Awaitable, Callable, Iterator

from ..errors import ToolRefused
from ..sandbox.nofollow import tree_kind
from ..sandbox.paths import PathPolicy
from ..sandbox.shadow import Shadow
from .listing import iter_files, summarize
from .search import TimeUp, compile_pattern, matching_lines
from .specs import DeleteFile, EditFile, ListFiles, ReadFile, Search, WriteFile

MAX_LIST = 300  # lines of a listing; a bigger one names folders with their file counts
MAX_GLOB = 1_000
MAX_MATCHES = 200
MAX_SEARCH_CHARS = 50_000
SEARCH_SECONDS = 5.0

# Asks whether the run may write `rel` (the grant, else the person); False means refused.
PermitWrite = Callable[[str], Awaitable[bool]]


class FileTools:
    def __init__(self, policy: PathPolicy, shadow: Shadow, permit_write: PermitWrite) -> None:
        self.policy = policy
        self.shadow = shadow
        self.permit_write = permit_write

    def _text(self, rel: str) -> str:
        if rel == ".":
            raise ToolRefused("the workspace root is a folder; list_files lists it")
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
        # Bounded where every result is (tools/registry.py), with the line to read on from.
        numbered = "\n".join(f"{i + 1:6}\t{line}" for i, line in enumerate(lines[start:end], start))
        return numbered or f"({rel} is empty)"

    def _files(self, sub: str, glob: str | None) -> list[str]:
        """The files under folder `sub` (or `sub` itself if it is a file), as the run sees
        them: the workspace's regular files, less the run's deletions, plus its creations."""
        rel = self.policy.relative(sub)
        if glob is not None and len(glob) > MAX_GLOB:
            raise ToolRefused(f"glob is longer than {MAX_GLOB} characters")
        created = self.shadow.created_paths()
        deleted = self.shadow.deleted_paths()
        kind = "dir" if rel == "." else tree_kind(self.policy.root, rel)
        if kind == "file" or rel in created:
            files = {rel} - deleted
        elif kind == "dir" or any(p.startswith(rel + "/") for p in created):
            files = set(p for p in iter_files(self.policy.root, rel) if p not in deleted)
            prefix = "" if rel == "." else rel + "/"
            files.update(p for p in created if p.startswith(prefix))
        else:
            raise ToolRefused(f"{sub}: no such folder")
        if glob:
            files = {p for p in files if fnmatch.fnmatch(p, glob)
                     or fnmatch.fnmatch(p.rsplit("/", 1)[-1], glob)}
        return sorted(files)

    def list_files(self, a: ListFiles) -> str:
        """Every file when they fit in MAX_LIST lines; else the files of the top levels and
        the folders below with their file counts, and how to look into one."""
        files = self._files(a.path, a.glob)
        if not files:
            return "(no files)"
        rel = self.policy.relative(a.path)
        lines, level = summarize(files, MAX_LIST, "" if rel == "." else rel + "/")
        if level is not None and level < 0:
            return "\n".join(lines)
        what = f"{len(files):,} files" + (f" matching {a.glob}" if a.glob else "")
        how = ("the first ones are shown: narrow with a glob=" if level is None else
               f"folders {level + 1} level{'s' * (level > 0)} down are shown with their file "
               "counts: list_files with path= one of them, or a glob=, lists their files")
        return f"{what}, too many to list; {how}.\n" + "\n".join(lines)

    def search(self, a: Search) -> str:
        """Matching lines, bounded in count, size and time. Files that are binary, not
        UTF-8 or too large to read are not searched."""
        regex = compile_pattern(a.pattern)
        files = self._files(a.path, a.glob)
        deadline = time.monotonic() + SEARCH_SECONDS
        out: list[str] = []
        size = 0
        try:
            for entry in self._matches(regex, files, deadline):
                out.append(entry)
                size += len(entry) + 1
                if len(out) >= MAX_MATCHES or size >= MAX_SEARCH_CHARS:
                    out.append(f"… stopped at {len(out)} matches: narrow the pattern, path or glob")
                    break
        except TimeUp:
            out.append(f"… stopped after {SEARCH_SECONDS:g} s with {len(out)} matches so far: "
                       "narrow the path or glob")
        return "\n".join(out) or "(no matches)"

    def _matches(self, regex: object, files: list[str], deadline: float) -> Iterator[str]:
        for rel in files:
            if time.monotonic() > deadline:
                raise TimeUp
            try:
                text = self.shadow.read(rel)
            except ToolRefused:  # binary, too large, or no longer a regular file
                continue
            if text:
                for n, line in matching_lines(regex, text.encode("utf-8", "surrogatepass"), deadline):
                    yield f"{rel}:{n}: {line}"

    async def _writable(self, raw: str) -> str:
        rel = self.policy.relative(raw)
        if rel == ".":
            raise ToolRefused("cannot write the workspace root")
        if tree_kind(self.policy.root, rel) == "dir":
            raise ToolRefused(f"{rel} is a folder, not a file")
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
