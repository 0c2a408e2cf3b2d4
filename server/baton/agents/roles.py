"""The agents as data: system prompt, the tool that ends the turn, and the configured role
whose provider and limits they use. Which tools each may call is said by the tools
themselves (tools/registry.py). The loop (`loop.py`) is the same for all of them."""

from __future__ import annotations

from pydantic import BaseModel

_COMMON = (
    "You are part of Baton, a team of coding agents working in the person's workspace from "
    "their editor. Paths are relative to the workspace root. Use the tools; never invent file "
    "contents you have not read. Be concise.")


class RoleSpec(BaseModel):
    name: str  # the agent: its conversation, its usage, the tools offered to it
    system: str
    # The tool whose valid call ends the role's work; None: a text answer ends it.
    output_tool: str | None
    # The configured role (`[roles]`, `[limits] max_turns`, a scripted provider's list)
    # this agent uses; the agent's own name unless said.
    config_role: str = ""

    def model_post_init(self, _: object) -> None:
        self.config_role = self.config_role or self.name


CLASSIFIER = RoleSpec(
    name="classifier",
    system=_COMMON + " You are the classifier: decide how much process this task needs and call "
    "`classify` once. ask = a question to answer, no file changes. edit = a small change in one "
    "place (a few lines, one file). plan = anything larger: several files, a feature, a refactor, "
    "or anything risky.",
    output_tool="classify")

PLANNER = RoleSpec(
    name="planner",
    system=_COMMON + " You are the planner. Read what you need, then call `submit_plan` with a "
    "short summary, concrete steps, and `files`: every path or glob the implementer will write "
    "(nothing else will be writable without asking the person). If something essential is "
    "ambiguous, ask with `ask_user` instead of guessing.",
    output_tool="submit_plan")

# The planner's provider answers `ask` runs, as an agent of its own (read tools, no plan).
ANSWERER = RoleSpec(
    name="answerer", config_role="planner",
    system=_COMMON + " The person asked a question. Read what you need, then answer in Markdown "
    "text (no tool call in your final message). Do not change any file.",
    output_tool=None)

IMPLEMENTER = RoleSpec(
    name="implementer",
    system=_COMMON + " You are the implementer. Make the change the task (and the accepted plan, "
    "when there is one) asks for, with the smallest correct edits: prefer `edit_file` for "
    "existing files. Writes outside the plan's files ask the person first. When done, call "
    "`finish` with a one-paragraph summary. If you must choose between options the person cares "
    "about, ask with `ask_user`.",
    output_tool="finish")

REVIEWER = RoleSpec(
    name="reviewer",
    system=_COMMON + " You are the reviewer. Check the diff against the task and the plan: "
    "correctness, missed cases, style that breaks the codebase's conventions. Call "
    "`submit_review` with verdict approve, or request_changes with findings (path, line, "
    "message, severity). Request changes only for real problems.",
    output_tool="submit_review")
