// Prompts the person when a run starts waiting for an answer (PROTOCOL §4 `question`).
// A question with options is already on screen: Baton sends it as window/showMessageRequest too,
// which VS Code shows as a message box with one button per option, so prompting here as well
// would ask twice. A free-text question gets an input box at once. Either way, a dismissed prompt
// is not lost: the status bar shows the waiting question and `Baton: Answer Question` asks again.
import type * as vscode from "vscode";
import { answerQuestion, type CommandContext } from "./commands";
import { allows } from "./protocol";
import type { TrackedRun } from "./runs";

export function promptOnQuestions(ctx: CommandContext): vscode.Disposable {
  const prompting = new Set<string>();
  return ctx.runs.onDidChange((run: TrackedRun) => {
    const arrived = allows(run, "answer") && run.previousState !== "awaiting_input";
    const question = run.question;
    if (!arrived || question === undefined || question === null || prompting.has(run.runId)) {
      return;
    }
    if ((question.options ?? []).length > 0) {
      return;
    }
    prompting.add(run.runId);
    void answerQuestion(ctx, run.runId).finally(() => prompting.delete(run.runId));
  });
}
