"""A bare pygls server answering the requests the benchmarks send, as Baton answers them
with no run in sight: the floor Baton is compared against.

Same sync kind, same code-action options and the same selection actions built the same
way, one `baton.runs` command (the readiness ping), stdio only. `python -m
benchmarks.bare_server` starts it.
"""

from __future__ import annotations

import logging
import sys

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer


def build() -> LanguageServer:
    ls = LanguageServer("bare", "0", text_document_sync_kind=t.TextDocumentSyncKind.Incremental)

    def cmd(title: str, command: str, arg: dict) -> t.CodeAction:
        return t.CodeAction(title=title, kind=t.CodeActionKind.QuickFix,
                            command=t.Command(title=title, command=command, arguments=[arg]))

    @ls.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(
        code_action_kinds=[t.CodeActionKind.QuickFix], resolve_provider=False))
    def code_action(ls_: LanguageServer, params: t.CodeActionParams) -> list[t.CodeAction] | None:
        r = params.range
        if r.start == r.end:
            return None
        rng = {"start": {"line": r.start.line, "character": r.start.character},
               "end": {"line": r.end.line, "character": r.end.character}}
        sel = {"uri": params.text_document.uri, "range": rng}
        return [cmd("Ask Baton about this selection", "baton.selection.ask", sel),
                cmd("Baton: edit this selection…", "baton.selection.edit", sel)]

    @ls.command("baton.runs")
    def runs(ls_: LanguageServer, *args: object) -> list:
        return []

    return ls


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    logging.getLogger("pygls").setLevel(logging.WARNING)
    build().start_io()


if __name__ == "__main__":
    main()
