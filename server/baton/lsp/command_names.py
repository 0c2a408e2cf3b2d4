"""The names of Baton's workspace/executeCommand commands (PROTOCOL §4), in a module
that imports nothing, so the server can advertise them before loading their handlers.
`tests/unit/lsp/test_command_names.py` checks this list against `commands.handlers`."""

COMMANDS = (
    "baton.run",
    "baton.run.answer",
    "baton.permission.answer",
    "baton.run.steer",
    "baton.plan.accept",
    "baton.plan.reject",
    "baton.plan.revise",
    "baton.edits.apply",
    "baton.edits.reject",
    "baton.edits.applyHunk",
    "baton.edits.rejectHunk",
    "baton.run.cancel",
    "baton.run.revert",
    "baton.runs",
    "baton.run.show",
    "baton.selection.ask",
    "baton.selection.edit",
    "baton.workspace.trust",
)

# Server-defined error codes (JSON-RPC reserves -32000..-32099 for servers).
UNKNOWN_RUN, WRONG_STATE, NOT_READY = -32001, -32002, -32003
CONFIG_INVALID = -32004  # the configuration does not load: the message names file, line and key
