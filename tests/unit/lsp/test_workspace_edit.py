"""A delivery in the shape the client declared: documentChanges or the changes map, file
operations only where listed, annotations only where supported; what the client cannot do
goes to disk only where the editor has no buffer, and the host applies nothing when either
part cannot be applied."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as t
from pygls.workspace import Workspace

from baton.lsp import workspace_edit as we
from baton.lsp.client_support import ClientSupport
from baton.lsp.channel_host import ChannelHost
from baton.runtime.host import FileEdit

FULL = ClientSupport(apply_edit=True, document_changes=True,
                     resource_operations=frozenset({"create", "rename", "delete"}),
                     change_annotations=True)
EGLOT = ClientSupport(apply_edit=True, document_changes=True)
PLAIN = ClientSupport(apply_edit=True)
NOTHING = ClientSupport()

EDIT = FileEdit(path="a.py", before="x = 'é😀'\n", after="x = 'é😀!'\n", version=3)
CREATE = FileEdit(path="new.txt", before=None, after="hi\n")
DELETE = FileEdit(path="old.txt", before="bye\n", after=None)
MOVE = FileEdit(path="b.txt", before="same\n", after="same\n", rename_from="a.txt")


def test_everything_goes_to_a_client_that_can_do_everything():
    parts = we.split([EDIT, CREATE, DELETE, MOVE], FULL, lambda rel: False)
    assert parts.for_editor == [EDIT, CREATE, DELETE, MOVE] and not parts.on_disk
    edit = we.build("Baton run r", parts.for_editor, FULL, Path("/ws"), "utf-16")
    kinds = [type(c).__name__ for c in edit.document_changes]
    assert kinds == ["TextDocumentEdit", "CreateFile", "TextDocumentEdit", "DeleteFile", "RenameFile"]
    assert edit.change_annotations["baton"].label == "Baton run r"
    assert all(isinstance(e, t.AnnotatedTextEdit) for e in edit.document_changes[0].edits)
    assert edit.document_changes[0].text_document.version == 3


@pytest.mark.parametrize("support", [EGLOT, PLAIN])
def test_file_operations_the_client_lacks_go_to_disk(support):
    parts = we.split([EDIT, CREATE, DELETE, MOVE], support, lambda rel: False)
    assert parts.for_editor == [EDIT] and parts.on_disk == [CREATE, DELETE, MOVE]
    edit = we.build("l", parts.for_editor, support, Path("/ws"), "utf-16")
    assert edit.change_annotations is None
    if support.document_changes:
        [doc] = edit.document_changes
        assert isinstance(doc, t.TextDocumentEdit) and type(doc.edits[0]) is t.TextEdit
    else:
        assert edit.document_changes is None and list(edit.changes) == ["file:///ws/a.py"]
        [e] = edit.changes["file:///ws/a.py"]
        assert e.range.start.character == 8  # after x = 'é😀 in utf-16 code units


def test_a_client_that_cannot_apply_edits_gets_nothing_sent():
    parts = we.split([EDIT, CREATE], NOTHING, lambda rel: False)
    assert not parts.for_editor and parts.on_disk == [EDIT, CREATE] and parts.refused is None


@pytest.mark.parametrize("support, edit, says", [
    (NOTHING, EDIT, "cannot apply edits"),
    (EGLOT, DELETE, 'lack "delete"'),
    (EGLOT, MOVE, 'lack "rename"'),
])
def test_a_file_open_in_the_editor_is_never_changed_under_it(support, edit, says):
    opened = {edit.rename_from or edit.path}
    parts = we.split([edit], support, lambda rel: rel in opened)
    assert parts.refused and says in parts.refused and f"close {opened.pop()}" in parts.refused


class Channel:
    closed = False

    def __init__(self, answer: dict | None = None) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.answer = answer or {"applied": True}

    def notify(self, method, params):
        self.sent.append((method, params))

    async def request(self, method, params):
        self.sent.append((method, params))
        return self.answer


def host(tmp_path: Path, support: ClientSupport, answer: dict | None = None) -> tuple[ChannelHost, Channel]:
    ch = Channel(answer)
    ws = Workspace(tmp_path.as_uri(), position_encoding="utf-16")
    return ChannelHost(ch, tmp_path, ws, support), ch  # type: ignore[arg-type]


def sent(ch: Channel, method: str) -> list[dict]:
    return [p for m, p in ch.sent if m == method]


async def test_the_host_applies_what_the_editor_cannot_on_disk_after_the_editor(tmp_path):
    (tmp_path / "old.txt").write_text("bye\n")
    (tmp_path / "a.py").write_text(EDIT.before)
    h, ch = host(tmp_path, EGLOT)
    result = await h.apply_edits("r", "Baton run r", [EDIT.model_copy(update={"version": None}),
                                                      CREATE, DELETE])
    assert result.applied
    [edit] = sent(ch, "applyEdit")
    assert [c.get("kind", "text") for c in edit["edit"]["documentChanges"]] == ["text"]
    assert (tmp_path / "new.txt").read_text() == "hi\n" and not (tmp_path / "old.txt").exists()
    [log] = sent(ch, "logMessage")
    assert "new.txt" in log["message"] and "old.txt" in log["message"]


async def test_nothing_lands_on_disk_when_the_editor_declines(tmp_path):
    (tmp_path / "a.py").write_text(EDIT.before)
    h, _ = host(tmp_path, EGLOT, {"applied": False, "reason": "no"})
    result = await h.apply_edits("r", "l", [EDIT.model_copy(update={"version": None}), CREATE])
    assert not result.applied and not (tmp_path / "new.txt").exists()


async def test_a_stale_disk_refuses_everything_before_the_editor_is_asked(tmp_path):
    (tmp_path / "old.txt").write_text("changed meanwhile\n")
    h, ch = host(tmp_path, EGLOT)
    result = await h.apply_edits("r", "l", [EDIT, DELETE])
    assert not result.applied and "old.txt changed on disk" in result.reason
    assert not sent(ch, "applyEdit") and (tmp_path / "old.txt").exists()


async def test_without_versions_in_the_edit_the_host_checks_the_buffer_version(tmp_path):
    h, ch = host(tmp_path, PLAIN)
    h.workspace.put_text_document(t.TextDocumentItem(uri=(tmp_path / "a.py").as_uri(),
                                                     language_id="python", version=4, text=EDIT.before))
    result = await h.apply_edits("r", "l", [EDIT])  # computed against version 3
    assert not result.applied and "changed in the editor" in result.reason
    assert not sent(ch, "applyEdit")
    assert (await h.apply_edits("r", "l", [EDIT.model_copy(update={"version": 4})])).applied


async def test_a_client_that_cannot_apply_edits_gets_closed_files_written_and_open_ones_held(tmp_path):
    (tmp_path / "a.py").write_text(EDIT.before)
    h, ch = host(tmp_path, NOTHING)
    closed = EDIT.model_copy(update={"version": None})
    assert (await h.apply_edits("r", "l", [closed, CREATE])).applied
    assert (tmp_path / "a.py").read_text() == EDIT.after and not sent(ch, "applyEdit")
    h.workspace.put_text_document(t.TextDocumentItem(uri=(tmp_path / "a.py").as_uri(),
                                                     language_id="python", version=1, text=EDIT.after))
    back = FileEdit(path="a.py", before=EDIT.after, after=EDIT.before, version=1)
    result = await h.apply_edits("r", "l", [back])
    assert not result.applied and "close a.py" in result.reason
    assert (tmp_path / "a.py").read_text() == EDIT.after


async def test_an_applied_edit_waits_for_the_editor_to_report_its_change(tmp_path, monkeypatch):
    """Neovim answers applyEdit before its (debounced) didChange: the next delivery must not
    be computed against the buffer as it was."""
    from baton.lsp import channel_host as lsp_host
    monkeypatch.setattr(lsp_host, "SETTLE_S", 5.0)
    h, _ = host(tmp_path, FULL)
    uri = (tmp_path / "a.py").as_uri()
    h.workspace.put_text_document(t.TextDocumentItem(uri=uri, language_id="python", version=3,
                                                     text=EDIT.before))
    applying = asyncio.create_task(h.apply_edits("r", "l", [EDIT]))
    await asyncio.sleep(0.05)
    assert not applying.done()  # applied, not yet reported
    h.workspace.update_text_document(t.VersionedTextDocumentIdentifier(uri=uri, version=4),
                                     t.TextDocumentContentChangeWholeDocument(text=EDIT.after))
    h.changed(uri)
    assert (await asyncio.wait_for(applying, 1)).applied


async def test_an_editor_that_reported_before_answering_is_not_waited_for(tmp_path, monkeypatch):
    from baton.lsp import channel_host as lsp_host
    monkeypatch.setattr(lsp_host, "SETTLE_S", 5.0)
    h, _ = host(tmp_path, FULL)
    uri = (tmp_path / "a.py").as_uri()
    h.workspace.put_text_document(t.TextDocumentItem(uri=uri, language_id="python", version=3,
                                                     text=EDIT.before))
    h.workspace.update_text_document(t.VersionedTextDocumentIdentifier(uri=uri, version=4),
                                     t.TextDocumentContentChangeWholeDocument(text=EDIT.after))
    assert (await asyncio.wait_for(h.apply_edits("r", "l", [EDIT]), 1)).applied


async def test_what_baton_writes_itself_never_goes_through_a_link(tmp_path):
    """A repository that swaps the file for a link to one outside: the disk fallback
    refuses it (the same no-follow path policy as every other file access)."""
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").symlink_to(outside)
    h, _ = host(ws, NOTHING)
    result = await h.apply_edits("r", "l", [FileEdit(path="a.py", before="secret\n", after="pwned\n")])
    assert not result.applied
    assert outside.read_text() == "secret\n" and (ws / "a.py").is_symlink()
