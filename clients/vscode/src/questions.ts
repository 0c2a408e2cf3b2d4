// Prompts the person when a run starts waiting on them for an answer (PROTOCOL §4 `question`,
// and the `permission` of issue 19). The extension declares `experimental.batonPrompts`, so the
// server does not also send window/showMessageRequest: each permission and question is prompted
// here, once: a permission as a modal dialog (permissions.ts), a question as a quick pick of its
// options or an input box that stays open when focus moves. Dismissed, neither is lost nor
// answered: the status item says "waiting for you" and brings the prompt back.
import type * as vscode from "vscode";
import { answerQuestion, type CommandContext } from "./commands";
import type { Permissions } from "./permissions";
import type { TrackedRun } from "./runs";

/** What the run waits for, as a key: a prompt is shown once per permission or question. */
function waitingFor(run: TrackedRun): string | undefined {
  if (run.permission) {
    return `permission:${run.permission.id}`;
  }
  if (run.state === "awaiting_input" && run.question) {
    return `question:${run.question.text}`;
  }
  return undefined;
}

export function promptOnQuestions(ctx: CommandContext, permissions: Permissions): vscode.Disposable {
  const prompted = new Map<string, string>();
  return ctx.runs.onDidChange((run: TrackedRun) => {
    const key = waitingFor(run);
    if (key === undefined) {
      prompted.delete(run.runId);
      return;
    }
    if (prompted.get(run.runId) === key) {
      return;
    }
    prompted.set(run.runId, key);
    void (run.permission ? permissions.ask(run.runId) : answerQuestion(ctx, run.runId));
  });
}
