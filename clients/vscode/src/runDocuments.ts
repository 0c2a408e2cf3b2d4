// Baton's run documents (plan.md, answer.md, changes.diff) as a person meets them: opened beside
// the code as real tabs (not previews that the next file replaces), with their actions written
// at the top as labelled CodeLenses ("Accept Plan | Reject Plan… | Revise Plan…", "Apply Changes |
// Reject Changes…"; an unlabelled ✓/✗ in the editor title read as "close"), and once answered,
// what became of them ("Accepted — implementing…").
import * as path from "node:path";
import * as vscode from "vscode";
import { allows, runIdFromRunFilePath, type RunChanged } from "./protocol";
import type { RunTracker } from "./runs";
import { describeRun } from "./status";

const ACCEPTED_STATES = new Set(["implementing", "verifying", "reviewing", "awaiting_input", "awaiting_apply", "done"]);

/** The run's folder: beside its plan or answer, else `<workspace>/.baton/runs/<id>`. */
export function runFolder(run: RunChanged): vscode.Uri | undefined {
  const known = run.planUri ?? run.answerUri;
  if (known) {
    return vscode.Uri.file(path.dirname(vscode.Uri.parse(known).fsPath));
  }
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  return root === undefined ? undefined : vscode.Uri.joinPath(root, ".baton", "runs", run.runId);
}

export function isRunDocument(uri: vscode.Uri): boolean {
  return uri.scheme === "file" && runIdFromRunFilePath(uri.fsPath) !== undefined;
}

/**
 * Opens a run document beside the code: in the group that already shows a run document, else
 * beside the active editor; a tab that stays (preview: false).
 */
export async function showBeside(uri: vscode.Uri, takeFocus: boolean): Promise<boolean> {
  const shown = vscode.window.visibleTextEditors.find((editor) => isRunDocument(editor.document.uri));
  try {
    await vscode.window.showTextDocument(uri, {
      viewColumn: shown?.viewColumn ?? vscode.ViewColumn.Beside,
      preview: false,
      preserveFocus: !takeFocus,
    });
    return true;
  } catch {
    return false;
  }
}

/** Gives the focus back to the code (the plan stays in view beside it). */
async function focusCode(): Promise<void> {
  const code = vscode.window.visibleTextEditors.find((editor) => editor.document.uri.scheme === "file" && !isRunDocument(editor.document.uri));
  if (code !== undefined && vscode.window.activeTextEditor !== code) {
    await vscode.window.showTextDocument(code.document, code.viewColumn);
  }
}

function lens(range: vscode.Range, title: string, command = "", args: unknown[] = []): vscode.CodeLens {
  return new vscode.CodeLens(range, { title, command, arguments: args });
}

/** plan.md's top line says what the person can do with it now, or what became of it. */
export class RunDocuments implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly runs: RunTracker) {
    this.subscriptions = [
      vscode.languages.registerCodeLensProvider({ scheme: "file", pattern: "**/.baton/runs/*/plan.md" }, this),
      vscode.languages.registerCodeLensProvider({ scheme: "file", pattern: "**/.baton/runs/*/changes.diff" }, this),
      runs.onDidChange((run) => {
        this.changed.fire();
        // However the plan was answered (its CodeLens, the code action, the palette, the Baton
        // view), the person goes back to the code; plan.md stays beside, saying what became of it.
        const planOpen = run.planUri !== undefined && run.planUri !== null && vscode.window.activeTextEditor?.document.uri.toString() === vscode.Uri.parse(run.planUri).toString();
        if (run.previousState === "awaiting_approval" && run.state !== "awaiting_approval" && planOpen) {
          void focusCode();
        }
      }),
    ];
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const runId = runIdFromRunFilePath(document.uri.fsPath);
    const run = runId === undefined ? undefined : this.runs.get(runId);
    if (run === undefined) {
      return [];
    }
    const top = new vscode.Range(0, 0, 0, 0);
    if (path.basename(document.uri.fsPath) === "changes.diff") {
      return allows(run, "apply")
        ? [lens(top, "$(check-all) Apply Changes", "baton.ui.applyChanges", [run.runId]), lens(top, "Reject Changes…", "baton.ui.rejectChanges", [run.runId])]
        : [lens(top, `Changes: ${describeRun(run)}`)];
    }
    if (allows(run, "accept")) {
      return [
        lens(top, "$(check) Accept Plan", "baton.ui.acceptPlan", [run.runId]),
        lens(top, "Reject Plan…", "baton.ui.rejectPlan", [run.runId]),
        lens(top, "Revise Plan…", "baton.ui.revisePlan", [run.runId]),
      ];
    }
    if (run.state === "planning" || run.state === "classifying") {
      return [lens(top, "Baton is writing this plan…")];
    }
    if (ACCEPTED_STATES.has(run.state)) {
      return [lens(top, `$(pass-filled) Accepted — ${describeRun(run)}`, "baton.ui.showWaiting", [run.runId])];
    }
    return [lens(top, `Plan ${describeRun(run)}`)];
  }

  dispose(): void {
    this.subscriptions.forEach((d) => {
      d.dispose();
    });
    this.changed.dispose();
  }
}
