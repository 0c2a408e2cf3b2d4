// Wiring only: the server connection, the run tracker, the status bar, the run view, the commands.
import * as vscode from "vscode";
import { BatonClient } from "./client";
import { registerCommands, type CommandContext } from "./commands";
import { Completion } from "./completion";
import { EditedFiles } from "./editedFiles";
import { Permissions } from "./permissions";
import { promptOnQuestions } from "./questions";
import { isRunDocument, RunDocuments, showBeside } from "./runDocuments";
import { RunPicker } from "./runPicker";
import { RunTracker } from "./runs";
import { RunStatusBar } from "./status";
import { RunsView } from "./tree";
import { registerWaiting } from "./waiting";

let baton: BatonClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("Baton", { log: true });
  const runs = new RunTracker();
  const edited = new EditedFiles();
  baton = new BatonClient(output, {
    applyEdit: (params, next) => edited.apply(params, next),
    // plan.md, answer.md and changes.diff open beside the code, as tabs that stay.
    showDocument: (uri, takeFocus) => (isRunDocument(uri) ? showBeside(uri, takeFocus) : undefined),
  });
  const picker = new RunPicker(baton, runs);
  const view = new RunsView(baton, runs, picker);
  const ctx: CommandContext = { baton, runs, picker, view, output };
  const permissions = new Permissions(ctx);

  context.subscriptions.push(
    output,
    runs,
    baton,
    view,
    new RunStatusBar(runs),
    baton.onRunChanged((params) => {
      runs.update(params);
    }),
    // Every start, restarts included: a restarted server sends no notice for what changed while
    // it was down, so the view, the status item and the palette's keys are read again from the
    // journal (the tracker hears it first, synchronously, before the new server's first notice).
    baton.onDidStart(() => {
      runs.serverStarted();
      view.reload().catch((error: unknown) => {
        output.error(`reading the runs: ${error instanceof Error ? error.message : String(error)}`);
      });
    }),
    permissions,
    new RunDocuments(runs),
    new Completion(ctx, edited),
    promptOnQuestions(ctx, permissions),
    ...registerCommands(ctx),
    ...registerWaiting(ctx, permissions),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("baton.serverPath") || event.affectsConfiguration("baton.configPath")) {
        void baton?.restart();
      }
    }),
  );
  try {
    await baton.ready();
  } catch (error) {
    // Keep the commands registered: they retry the start, e.g. after `baton.serverPath` is fixed.
    const message = error instanceof Error ? error.message : String(error);
    output.error(`the server did not start: ${message}`);
    void vscode.window.showErrorMessage(
      `Baton: could not start "${vscode.workspace.getConfiguration("baton").get<string>("serverPath", "baton")} serve" (${message}). Check the baton.serverPath setting.`,
    );
  }
}

export async function deactivate(): Promise<void> {
  await baton?.stop();
  baton = undefined;
}
