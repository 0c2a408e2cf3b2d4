// "Bring back what waits": the status item's click (and the Baton view's waiting items) reopen
// whatever a run waits on the person for — the permission prompt, the question, the plan, the
// changes to apply — so a prompt dismissed or hidden is never lost, and never answered by itself.
import * as vscode from "vscode";
import type { CommandContext } from "./commands";
import type { Permissions } from "./permissions";
import { allows } from "./protocol";
import { runFolder, showBeside } from "./runDocuments";

/** A command's run: the id it was given (a string, or a Baton view node carrying one), else undefined. */
export function givenRunId(given: unknown): string | undefined {
  const named = typeof given === "string" ? given : (given as { runId?: unknown } | undefined)?.runId;
  return typeof named === "string" ? named : undefined;
}

export function registerWaiting(ctx: CommandContext, permissions: Permissions): vscode.Disposable[] {
  const runFor = (given: unknown) => {
    const runId = givenRunId(given);
    return runId === undefined ? ctx.runs.waiting() : ctx.runs.get(runId);
  };
  return [
    vscode.commands.registerCommand("baton.ui.showWaiting", async (given?: unknown) => {
      const run = runFor(given);
      if (run === undefined) {
        await vscode.commands.executeCommand("baton.ui.showRuns");
        return;
      }
      const folder = runFolder(run);
      if (run.permission) {
        await permissions.ask(run.runId);
      } else if (allows(run, "answer")) {
        await vscode.commands.executeCommand("baton.ui.answerQuestion", run.runId);
      } else if (allows(run, "accept") && run.planUri) {
        await showBeside(vscode.Uri.parse(run.planUri), true);
      } else if (allows(run, "apply") && folder !== undefined) {
        await showBeside(vscode.Uri.joinPath(folder, "changes.diff"), true);
      } else {
        await vscode.commands.executeCommand("baton.ui.showRuns");
      }
    }),
    vscode.commands.registerCommand("baton.ui.answerPermission", async (given?: unknown) => {
      const runId = givenRunId(given);
      const run = runId === undefined ? ctx.runs.all().find((r) => r.permission) : ctx.runs.get(runId);
      if (run?.permission) {
        await permissions.ask(run.runId);
      } else {
        void vscode.window.showInformationMessage("Baton: no permission is waiting.");
      }
    }),
  ];
}
