"""What a client declared, read once: the two clients that do other than they declare are
taken at their deeds (Neovim's resource operations without documentChanges, lsp-mode's code
point columns)."""

from __future__ import annotations

from lsprotocol import types as t
from pytest_lsp import client_capabilities

from baton.lsp.client_support import ClientSupport, settle_encodings


def test_vscode_declares_everything():
    s = ClientSupport.of(client_capabilities("visual-studio-code"))
    assert s.apply_edit and s.document_changes and s.change_annotations
    assert s.resource_operations == {"create", "rename", "delete"}
    assert s.show_document and s.work_done_progress
    assert s.failure_handling == "textOnlyTransactional" and not s.transactional


def test_neovim_resource_operations_imply_document_changes():
    s = ClientSupport.of(client_capabilities("neovim@v0.11.0"))
    assert s.document_changes and s.can("delete") and not s.change_annotations


def test_eglot_29_can_edit_but_not_create_or_delete_files():
    s = ClientSupport.of(client_capabilities("emacs@v29.1"))
    assert s.apply_edit and s.document_changes
    assert not s.can("create") and not s.can("delete") and not s.show_document


def test_nothing_declared_is_nothing_supported():
    s = ClientSupport.of(t.ClientCapabilities())
    assert s == ClientSupport() and not s.can("create")
    caps = t.ClientCapabilities(workspace=t.WorkspaceClientCapabilities(
        workspace_edit=t.WorkspaceEditClientCapabilities(
            document_changes=True, resource_operations=[t.ResourceOperationKind.Create])))
    assert not ClientSupport.of(caps).can("create")  # without applyEdit nothing is applied


def test_it_travels_as_json_and_ignores_unknown_fields():
    s = ClientSupport.of(client_capabilities("visual-studio-code"))
    assert ClientSupport.from_json({**s.to_json(), "later": 1}) == s
    assert ClientSupport.from_json(None) == ClientSupport()


def params(name: str | None, encodings: list[str] | None) -> t.InitializeParams:
    general = t.GeneralClientCapabilities(position_encodings=encodings) if encodings else None
    return t.InitializeParams(capabilities=t.ClientCapabilities(general=general),
                              client_info=t.ClientInfo(name=name) if name else None)


def test_lsp_mode_offering_nothing_counts_code_points():
    p = params("emacs", None)
    settle_encodings(p)
    assert p.capabilities.general.position_encodings == ["utf-32"]


def test_what_a_client_offers_is_left_alone():
    for p in (params("emacs", ["utf-16"]), params("Emacs (eglot)", None), params(None, None)):
        before = p.capabilities.general and list(p.capabilities.general.position_encodings or [])
        settle_encodings(p)
        assert (p.capabilities.general and list(p.capabilities.general.position_encodings or [])) == before


def test_emacs_clients_read_in_chunks():
    from baton.lsp.client_support import reads_in_chunks
    assert reads_in_chunks(params("emacs", None)) and reads_in_chunks(params("Emacs (eglot)", None))
    assert reads_in_chunks(params("Eglot", None)) and reads_in_chunks(params(None, None))  # eglot 1.9
    assert not reads_in_chunks(params("Neovim", None)) and not reads_in_chunks(params("Visual Studio Code", None))


def test_a_client_that_shows_batons_prompts_says_so_in_experimental():
    assert not ClientSupport.of(client_capabilities("visual-studio-code")).baton_prompts
    for experimental in ({"batonPrompts": "yes"}, ["batonPrompts"], None):
        assert not ClientSupport.of(t.ClientCapabilities(experimental=experimental)).baton_prompts
    s = ClientSupport.of(t.ClientCapabilities(experimental={"batonPrompts": True}))
    assert s.baton_prompts and ClientSupport.from_json(s.to_json()) == s
