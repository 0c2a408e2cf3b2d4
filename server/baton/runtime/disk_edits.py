"""Applying a delivery's file edits straight to disk, for when no editor can.

The terminal host (`baton run`) has no editor at all; the LSP host uses this only for what
the editor declared it cannot do (docs/protocol.md "Edits a client cannot apply"), and
only for files the editor has no buffer of. Every edit is checked against the disk before
anything is written, so a file that moved under Baton fails the whole delivery (which is
then rebased and tried again) instead of being overwritten. Every access goes through the
no-follow path policy.
"""

from __future__ import annotations

from ..errors import BatonError
from ..sandbox.paths import PathPolicy, delete_workspace_file, write_workspace_file
from ..sandbox.shadow import read_text_file
from .host import ApplyResult, FileEdit


def stale(policy: PathPolicy, edits: list[FileEdit]) -> str | None:
    """Why `edits` cannot be applied to the disk as it is now (None: they can): a file
    changed meanwhile, or one the path policy refuses (a link, a folder swapped in)."""
    try:
        for e in edits:
            source = e.rename_from if e.rename_from is not None else e.path
            if read_text_file(policy.absolute(policy.relative(source))) != e.before:
                return f"{source} changed on disk meanwhile"
            if e.rename_from is not None and read_text_file(policy.absolute(policy.relative(e.path))) is not None:
                return f"{e.path} exists already, so {e.rename_from} cannot be moved there"
    except BatonError as refused:
        return str(refused)
    return None


def apply_on_disk(policy: PathPolicy, edits: list[FileEdit]) -> ApplyResult:
    """Apply `edits` (create, change, delete, move) to the disk; nothing if any is stale."""
    if (why := stale(policy, edits)) is not None:
        return ApplyResult(applied=False, reason=why)
    try:
        for e in edits:
            if e.after is None:
                delete_workspace_file(policy, e.path)
                continue
            write_workspace_file(policy, e.path, e.after)
            if e.rename_from is not None:
                delete_workspace_file(policy, e.rename_from)
    except BatonError as refused:  # swapped for a link since the check: what is left stays
        return ApplyResult(applied=False, reason=str(refused))
    return ApplyResult(applied=True)
