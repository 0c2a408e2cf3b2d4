"""A delivery in the shape this editor declared it can apply (lsp/client_support.py).

- `documentChanges` (each open document's version, `null` for closed files) when the client
  declares them, else the plain `changes` map (no versions: the host checks the buffer's
  version itself just before sending).
- create / rename / delete operations only as far as `resourceOperations` lists them.
- a change annotation naming the run only with `changeAnnotationSupport`.

What the client cannot apply (every file edit without `workspace.applyEdit`, a file
operation it does not list) is the nearest correct thing: Baton applies it to the disk
itself (runtime/disk_edits.py), since no editor can, but only while the editor has no
buffer of that file, so nothing the person sees can disagree with the disk. A file the
editor has open is never written under it: the delivery is refused with what to do, and
the run holds those changes in changes.diff.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types as t

from ..edits.diff import text_edits
from ..runtime.host import FileEdit
from .client_support import ClientSupport

ANNOTATION = "baton"
VERBS = {"create": "create", "rename": "move", "delete": "delete"}


def operation(e: FileEdit) -> str:
    """What the editor must be able to do for `e`: "text", "create", "rename" or "delete"."""
    if e.rename_from is not None:
        return "rename"
    if e.after is None:
        return "delete"
    return "create" if e.before is None else "text"


@dataclass
class Split:
    for_editor: list[FileEdit] = field(default_factory=list)
    on_disk: list[FileEdit] = field(default_factory=list)
    refused: str | None = None  # why none of it can be applied now


def split(edits: list[FileEdit], support: ClientSupport,
          is_open: Callable[[str], bool]) -> Split:
    out = Split()
    for e in edits:
        op = operation(e)
        if support.apply_edit and (op == "text" or support.can(op)):
            out.for_editor.append(e)
            continue
        opened = [p for p in (e.rename_from, e.path) if p is not None and is_open(p)]
        if opened:
            cannot = ("cannot apply edits (it does not declare workspace.applyEdit)"
                      if not support.apply_edit else
                      f"cannot {VERBS[op]} files (its workspaceEdit.resourceOperations "
                      f"lack \"{op}\")")
            out.refused = (f"your editor {cannot} and has {opened[0]} open, so Baton does "
                           f"not change it under the editor: close {opened[0]}, then apply the "
                           "held changes (the code action Apply changes in changes.diff, or "
                           "the command baton.edits.apply)")
            return out
        out.on_disk.append(e)
    return out


def build(label: str, edits: list[FileEdit], support: ClientSupport, root: Path,
          encoding: str) -> t.WorkspaceEdit:
    """The workspace edit for `edits`, all of which the client can apply (see `split`).

    Its change annotation names the run and never asks the editor to confirm: an edit is
    sent when the person already decided (accepted the plan, pressed Apply changes), and
    VS Code shows a confirmed annotation's edits unticked in its Refactor Preview, where
    pressing Apply applied nothing (issue 19)."""
    if not support.document_changes:
        changes: dict[str, list[t.TextEdit]] = {}
        for e in edits:
            changes[(root / e.path).as_uri()] = text_edits(e.before or "", e.after or "", encoding)
        return t.WorkspaceEdit(changes=changes)
    annotate = support.change_annotations
    ann_id = ANNOTATION if annotate else None
    doc_changes: list[t.TextDocumentEdit | t.CreateFile | t.RenameFile | t.DeleteFile] = []
    for e in edits:
        uri = (root / e.path).as_uri()
        op = operation(e)
        before = e.before
        if e.rename_from is not None:  # operation "rename"
            doc_changes.append(t.RenameFile(
                old_uri=(root / e.rename_from).as_uri(), new_uri=uri, annotation_id=ann_id,
                options=t.RenameFileOptions(overwrite=False, ignore_if_exists=False)))
            if e.before == e.after:
                continue
        elif op == "delete":
            doc_changes.append(t.DeleteFile(uri=uri, annotation_id=ann_id,
                                            options=t.DeleteFileOptions(ignore_if_not_exists=True)))
            continue
        elif op == "create":
            doc_changes.append(t.CreateFile(uri=uri, annotation_id=ann_id,
                                            options=t.CreateFileOptions(overwrite=False,
                                                                        ignore_if_exists=True)))
            before = ""
        plain = text_edits(before or "", e.after or "", encoding)
        edits_: Sequence[t.TextEdit | t.AnnotatedTextEdit] = [
            t.AnnotatedTextEdit(range=x.range, new_text=x.new_text, annotation_id=ANNOTATION)
            for x in plain] if annotate else plain
        doc_changes.append(t.TextDocumentEdit(
            text_document=t.OptionalVersionedTextDocumentIdentifier(uri=uri, version=e.version),
            edits=edits_))
    return t.WorkspaceEdit(
        document_changes=doc_changes,
        change_annotations={ANNOTATION: t.ChangeAnnotation(
            label=label, needs_confirmation=False, description="Edits made by a Baton run")}
        if annotate else None)
