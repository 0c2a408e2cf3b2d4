"""What the editor declared it can do, read once from `initialize` into flat flags.

Baton sends a client only what it declared (PROTOCOL §4, docs/protocol.md "What a client
must and may support"): workspace edits in the shape its `workspaceEdit` capabilities
allow, progress only with `window.workDoneProgress`, `window/showDocument` only with
`window.showDocument.support`. Both processes use these flags: the editor's process for
progress, documents and messages (lsp/bridge.py), the engine's for the shape of each
edit (lsp/workspace_edit.py); they travel between them as JSON.

Two clients do something other than what they declare, and are taken at their deeds:
- Neovim 0.11 declares `resourceOperations` but not `documentChanges`, and applies both.
  Resource operations exist only inside `documentChanges`, so declaring them declares it.
- lsp-mode 8.0 (clientInfo name "emacs") offers no position encoding and counts columns
  in code points, which is utf-32: it gets utf-32 unless it offers encodings of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lsprotocol import types as t

TRANSACTIONAL = ("transactional", "undo")  # failureHandling kinds that leave nothing half-applied


@dataclass(frozen=True)
class ClientSupport:
    apply_edit: bool = False
    document_changes: bool = False
    resource_operations: frozenset[str] = field(default_factory=frozenset)
    change_annotations: bool = False
    failure_handling: str | None = None
    show_document: bool = False
    work_done_progress: bool = False
    # `experimental.batonPrompts`: the client shows Baton's questions and permissions from
    # runChanged and answers them by command, so no window/showMessageRequest duplicates them.
    baton_prompts: bool = False

    @property
    def transactional(self) -> bool:
        """A refused edit left nothing applied (otherwise a part of it may have landed)."""
        return self.failure_handling in TRANSACTIONAL

    def can(self, operation: str) -> bool:
        """Whether this client applies a file operation: "create", "rename" or "delete"."""
        return self.apply_edit and self.document_changes and operation in self.resource_operations

    @classmethod
    def of(cls, caps: t.ClientCapabilities | None) -> ClientSupport:
        ws = caps.workspace if caps else None
        we = ws.workspace_edit if ws else None
        window = caps.window if caps else None
        ops = frozenset(str(getattr(o, "value", o)) for o in (we.resource_operations or [])) if we else frozenset()
        failure = we.failure_handling if we else None
        experimental = caps.experimental if caps else None
        return cls(
            apply_edit=bool(ws and ws.apply_edit),
            document_changes=bool(we and (we.document_changes or ops)),
            resource_operations=ops,
            change_annotations=bool(we and we.change_annotation_support is not None),
            failure_handling=None if failure is None else str(getattr(failure, "value", failure)),
            show_document=bool(window and window.show_document and window.show_document.support),
            work_done_progress=bool(window and window.work_done_progress),
            baton_prompts=isinstance(experimental, dict) and experimental.get("batonPrompts") is True)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["resource_operations"] = sorted(self.resource_operations)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ClientSupport:
        raw = dict(raw or {})
        raw["resource_operations"] = frozenset(raw.get("resource_operations") or ())
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in known})


def reads_in_chunks(params: t.InitializeParams) -> bool:
    """Whether the client may be one of Emacs's, whose JSON-RPC readers stop at the response
    a synchronous request waits for (lsp/stdio.py): lsp-mode ("emacs"), Eglot ("Eglot",
    "Emacs (eglot)"; 1.9 sends no clientInfo at all)."""
    name = (params.client_info.name if params.client_info else "").lower()
    return name in ("", "emacs") or "eglot" in name


def settle_encodings(params: t.InitializeParams) -> None:
    """Make the offered position encodings say what a known client really counts (module
    docstring), before pygls negotiates from them."""
    info = params.client_info
    general = params.capabilities.general
    if info is not None and info.name == "emacs" and not (general and general.position_encodings):
        if general is None:
            general = params.capabilities.general = t.GeneralClientCapabilities()
        general.position_encodings = [t.PositionEncodingKind.Utf32]
