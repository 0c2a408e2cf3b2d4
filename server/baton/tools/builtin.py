"""Baton's own tools (PROTOCOL §5) in the registry: who may call each, what it needs, and
the handler that carries it out on the run's shadow. Registration order is the order
models see them in (stable, so provider prompt caches hold)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ..display import code, visible
from ..errors import ToolRefused
from . import specs
from .registry import Bound, Pause, Tool, ToolEnv, ToolRegistry

COMMAND_TIMEOUT_S = 120.0
QUESTION_LIMIT = 2000
OPTION_LIMIT = 200
MAX_OPTIONS = 10

READERS = frozenset({"planner", "answerer", "implementer", "reviewer"})


async def _read_file(env: ToolEnv, a: specs.ReadFile) -> str:
    return await asyncio.to_thread(env.files.read_file, a)


async def _list_files(env: ToolEnv, a: specs.ListFiles) -> str:
    return await asyncio.to_thread(env.files.list_files, a)


async def _search(env: ToolEnv, a: specs.Search) -> str:
    return await asyncio.to_thread(env.files.search, a)


async def _write_file(env: ToolEnv, a: specs.WriteFile) -> str:
    return await env.files.write_file(a)


async def _edit_file(env: ToolEnv, a: specs.EditFile) -> str:
    return await env.files.edit_file(a)


async def _delete_file(env: ToolEnv, a: specs.DeleteFile) -> str:
    return await env.files.delete_file(a)


async def _run_command(env: ToolEnv, a: specs.RunCommand) -> str:
    from ..sandbox.commands import run_command
    command, grants = a.command.strip(), env.grants
    if not grants.allows_command(command):
        allowed = await env.ask_permission(
            command, f"Baton run {env.run_id} wants to run {code(command)} (in its sandbox).",
            kind="command")
        if not allowed:
            raise ToolRefused(f"`{command}` is not allowed by `[permissions] commands`, and "
                              "the person did not allow it")
    perms = env.permissions()
    result = await run_command(command, shadow=env.shadow, workspace=env.root,
                               timeout_s=a.timeout_s or COMMAND_TIMEOUT_S, network=perms.network,
                               allow_unsandboxed=perms.allow_unsandboxed_commands,
                               may_write=grants.allows, env_allow=perms.env,
                               provider_keys=env.provider_keys())
    status = "timed out and was killed" if result.timed_out else f"exited with {result.exit_code}"
    parts = [f"$ {command}\n({status}, {result.duration_s}s, isolation: {result.layer})"]
    if result.stdout:
        parts.append(f"stdout:\n{result.stdout}")
    if result.stderr:
        parts.append(f"stderr:\n{result.stderr}")
    if result.changed_paths:
        parts.append("files changed (now part of your changes): " + ", ".join(result.changed_paths))
    if result.denied_paths:
        parts.append("changes discarded (outside the write grant): " + ", ".join(result.denied_paths))
    if result.note:
        parts.append(f"note: {result.note}")
    return "\n".join(parts)


def shown_question(args: specs.AskUser) -> Pause:
    """The question as the person will see it, or ToolRefused: one line, hidden characters
    shown as escapes, every option whole and told apart from the others. Built once here,
    so the journal, `baton/runChanged` and every host carry the same safe text."""
    text = visible(args.question)
    if len(text) > QUESTION_LIMIT:
        raise ToolRefused(f"the question is {len(text)} characters long; ask in at most "
                          f"{QUESTION_LIMIT}")
    options = [visible(o.strip()) for o in args.options or []]
    if len(options) > MAX_OPTIONS:
        raise ToolRefused(f"{len(options)} options; offer at most {MAX_OPTIONS}")
    for o in options:
        if not o or len(o) > OPTION_LIMIT:
            raise ToolRefused(f"each option must be 1 to {OPTION_LIMIT} characters long")
    if len(set(options)) < len(options):
        raise ToolRefused("two options read the same; make each option distinct")
    return Pause(question=text, options=options or None)


async def _ask_user(env: ToolEnv, a: specs.AskUser) -> str | Pause:
    answer = env.answer()
    if answer is not None:
        return f"The person answered: {answer}"
    return shown_question(a)


def _read_on(kept: str) -> str:
    """read_file's note: the line to go on from (its lines are numbered `     N\t…`)."""
    last = kept.rsplit("\n", 1)[-1].split("\t", 1)[0].strip()
    return (f"read on with start_line={int(last) + 1}, or read the lines you need with "
            "start_line/end_line" if last.isdigit() else "read a smaller line range")


READ_BOUND = Bound(chars=40_000, narrow=_read_on)
LIST_BOUND = Bound(chars=16_000, narrow="narrow with path= (one of the folders above) or glob=")
SEARCH_BOUND = Bound(chars=16_000, narrow="narrow the pattern, or give path= or glob=")
COMMAND_BOUND = Bound(chars=24_000, keep="ends", narrow="run a narrower command (select the "
                      "tests, filter the output through grep, head or tail)")


def _tool(name: str, args: Any, description: str, roles: Iterable[str], handler: Any = None,
          **needs: Any) -> Tool:
    return Tool(name=name, description=description, roles=frozenset(roles), handler=handler,
                args=args, **needs)


BUILTIN = ToolRegistry([
    _tool("read_file", specs.ReadFile, "Read a text file (with line numbers), optionally a line "
          "range. Paths are relative to the workspace root.", READERS, _read_file,
          bound=READ_BOUND),
    _tool("list_files", specs.ListFiles, "List files under a folder, honouring .gitignore; "
          "optional glob.", READERS, _list_files, bound=LIST_BOUND),
    _tool("search", specs.Search, "Search files for a regular expression, line by line (RE2 "
          "syntax: no backreferences or lookaround); returns path:line: text matches.",
          READERS, _search, bound=SEARCH_BOUND),
    _tool("write_file", specs.WriteFile, "Create or overwrite a file with the given content.",
          {"implementer"}, _write_file, writes=True),
    _tool("edit_file", specs.EditFile, "Replace the exact text `old` (which must occur exactly "
          "once) with `new`.", {"implementer"}, _edit_file, writes=True),
    _tool("delete_file", specs.DeleteFile, "Delete a file.", {"implementer"}, _delete_file,
          writes=True),
    _tool("run_command", specs.RunCommand, "Run a shell command in an isolated sandbox on the "
          "workspace as you changed it; files it changes become part of your changes.",
          {"implementer"}, _run_command, writes=True, bound=COMMAND_BOUND),
    _tool("ask_user", specs.AskUser, "Ask the person a question and wait for the answer; give "
          "options when the choice is between a few.", {"planner", "implementer"}, _ask_user),
    # Output tools: a valid call ends the role's turn; the workflow reads it.
    _tool("classify", specs.Classify, "Choose the route for the task: ask (a question, no "
          "edits), edit (a small, local change), plan (several files, a feature, a refactor).",
          {"classifier"}),
    _tool("submit_plan", specs.SubmitPlan, "Submit the plan for the person to approve. `files` "
          "lists every path or glob the implementer will need to write: it becomes the write "
          "grant.", {"planner"}),
    _tool("submit_review", specs.SubmitReview, "Submit your review of the changes: approve, or "
          "request changes with findings.", {"reviewer"}),
    _tool("finish", specs.Finish, "Call when the implementation is complete, with a short "
          "summary.", {"implementer"}),
])
