// What a person sees when a run has done its work: a notification with what it did (the
// implementer's summary, the files it changed, the review's verdict and findings) and what to do
// next: at `done` Show Changes, Save All, Revert; at `awaiting_apply` Show Changes, Apply Changes.
// At `done` the files Baton edited are saved first as `baton.saveEditedFiles` says (editedFiles.ts).
// "Show Changes" opens VS Code's multi-file diff of each file against its text before the run's
// first edit, or the run's changes.diff when this window did not see all of the edits (a run that
// began before it); never a diff against text that was not the file's before the run.
import * as vscode from "vscode";
import type { CommandContext } from "./commands";
import { asText } from "./display";
import type { EditedFiles } from "./editedFiles";
import { runFolder, showBeside } from "./runDocuments";
import { allows, type RunChanged, type Summary } from "./protocol";
import type { RunTracker, TrackedRun } from "./runs";
import { givenRunId } from "./waiting";

export const BEFORE_SCHEME = "baton-before";
const FILES_NAMED = 3;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** "hello() greets by name. 1 file changed (hello.py) · review: approved · 1 finding" */
export function summaryLine(summary: Summary): string {
  const files = summary.files ?? [];
  const parts: string[] = [];
  if (files.length > 0) {
    const named = files.slice(0, FILES_NAMED).join(", ") + (files.length > FILES_NAMED ? ", …" : "");
    parts.push(`${plural(files.length, "file")} changed (${named})`);
  }
  if (summary.verdict) {
    parts.push(`review: ${summary.verdict === "approve" ? "approved" : "changes requested"}`);
  }
  if (summary.findings) {
    parts.push(plural(summary.findings, "finding"));
  }
  const text = summary.text.trim();
  return asText([text ? (/[.!?…]$/.test(text) ? text : `${text}.`) : "", parts.join(" · ")].filter(Boolean).join(" "));
}

/**
 * Review mode's Apply, followed to its outcome: resolves at the run's next notice. One that still
 * offers the changes (the editor applied nothing: a refused or conflicting edit) is said, with
 * the server's reason, and the changes stay offered; nothing is ever dropped silently.
 */
export function appliedOrNot(runs: RunTracker, runId: string): Promise<void> {
  return new Promise((resolve) => {
    const subscription = runs.onDidChange((run) => {
      if (run.runId !== runId) {
        return;
      }
      subscription.dispose();
      resolve();
      if (run.state === "awaiting_apply" && allows(run, "apply")) {
        const why = run.reason ? ` (${asText(run.reason)})` : "";
        void vscode.window
          .showWarningMessage(`Baton: nothing was applied${why}. The changes are still waiting in changes.diff.`, "Show Changes")
          .then((chosen) => (chosen === undefined ? undefined : vscode.commands.executeCommand("baton.ui.showChanges", runId)));
      }
    });
  });
}

export class Completion implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    ctx: CommandContext,
    private readonly edited: EditedFiles,
  ) {
    this.subscriptions = [
      vscode.workspace.registerTextDocumentContentProvider(BEFORE_SCHEME, this),
      ctx.runs.onDidChange((run) => {
        void this.changed(run);
      }),
      vscode.commands.registerCommand("baton.ui.showChanges", async (given?: unknown) => {
        const runId = givenRunId(given);
        // A run from before this window (the Baton view lists the journal's) is the server's to name.
        const run =
          runId === undefined ? ctx.runs.active() : (ctx.runs.get(runId) ?? (await ctx.picker.list()).find((listed) => listed.runId === runId));
        if (run === undefined) {
          void vscode.window.showInformationMessage("Baton: no run to show the changes of.");
          return;
        }
        await this.showChanges(run);
      }),
    ];
  }

  /** A file's text before the run's first edit: `baton-before:/<runId>/<name>?<file URI>`. */
  provideTextDocumentContent(uri: vscode.Uri): string {
    const runId = uri.path.split("/")[1] ?? "";
    return this.edited.before(runId, decodeURIComponent(uri.query));
  }

  private async changed(run: TrackedRun): Promise<void> {
    const arrived = run.previousState !== undefined && run.previousState !== run.state;
    if (!arrived || (run.state !== "done" && run.state !== "awaiting_apply")) {
      return;
    }
    if (run.state === "done") {
      await this.edited.runDone(run.runId);
    }
    const summary = run.summary;
    if (!summary || (run.route === "ask" && (summary.files ?? []).length === 0)) {
      return; // an answer is shown in answer.md; a run that did nothing has nothing to sum up
    }
    const line = summaryLine(summary);
    const actions = run.state === "done" ? ["Show Changes", "Save All", "Revert"] : ["Show Changes", "Apply Changes"];
    const message = run.state === "done" ? `Baton: done — ${line}` : `Baton: changes waiting for you — ${line}`;
    const chosen = await vscode.window.showInformationMessage(message, ...actions);
    switch (chosen) {
      case "Show Changes":
        await this.showChanges(run);
        break;
      case "Save All": {
        const saved = await this.edited.saveAll(run.runId);
        void vscode.window.showInformationMessage(`Baton: saved ${plural(saved, "file")}.`);
        break;
      }
      case "Revert":
        await vscode.commands.executeCommand("baton.ui.revertRun", run.runId);
        break;
      case "Apply Changes":
        await vscode.commands.executeCommand("baton.ui.applyChanges", run.runId);
        break;
      default:
        break;
    }
  }

  async showChanges(run: RunChanged): Promise<void> {
    const changes = this.edited.changes(run);
    if (run.state !== "awaiting_apply" && changes !== undefined && changes.length > 0) {
      const resources = changes.map(({ uri }) => {
        const name = uri.path.split("/").pop() ?? "file";
        const before = vscode.Uri.from({ scheme: BEFORE_SCHEME, path: `/${run.runId}/${name}`, query: encodeURIComponent(uri.toString()) });
        return [uri, before, uri];
      });
      await vscode.commands.executeCommand("vscode.changes", `Baton: ${asText(run.task)}`, resources);
      return;
    }
    const folder = runFolder(run);
    const diff = folder === undefined ? undefined : vscode.Uri.joinPath(folder, "changes.diff");
    if (diff !== undefined && (await showBeside(diff, true))) {
      return;
    }
    const unseen = changes === undefined ? "the run began before this window, so the text its files had before it is not known here" : "this window did not see the run's edits";
    void vscode.window.showInformationMessage(`Baton: ${unseen}, and it has no changes.diff to show instead. Its files are listed in the Baton view.`);
  }

  dispose(): void {
    this.subscriptions.forEach((d) => {
      d.dispose();
    });
  }
}
