// A read-only Markdown view of one run (`baton.run.show`), served under the `baton-run:` scheme so
// it is never mistaken for a file of the workspace (and never attached to the server).
import * as vscode from "vscode";
import type { BatonClient } from "./client";
import { ServerCommand } from "./protocol";

export const RUN_VIEW_SCHEME = "baton-run";

export function runViewUri(runId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: RUN_VIEW_SCHEME, path: `/${runId}.md` });
}

function runIdOf(uri: vscode.Uri): string {
  return uri.path.replace(/^\//, "").replace(/\.md$/, "");
}

function block(value: unknown): string {
  if (typeof value === "string") {
    return value;
  }
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
    return value.map((item) => `- ${item}`).join("\n");
  }
  return "```json\n" + JSON.stringify(value, null, 2) + "\n```";
}

/** Journal times are Unix seconds (or milliseconds, or ISO text): shown as ISO text. */
function when(value: unknown): string {
  if (typeof value === "number") {
    return new Date(value < 1e12 ? value * 1000 : value).toISOString();
  }
  return String(value);
}

/** Renders whatever `baton.run.show` returned: known fields first, in a readable order, then the rest. */
export function renderRun(runId: string, run: Record<string, unknown>): string {
  const lines = [`# Baton run ${runId}`, ""];
  const heading = ["task", "route", "state", "parentRunId", "createdAt", "error", "reason"];
  for (const key of heading) {
    const value = run[key];
    if (value !== undefined && value !== null && value !== "") {
      const shown = key === "createdAt" ? when(value) : typeof value === "string" ? value : JSON.stringify(value);
      lines.push(`- **${key}**: ${shown}`);
    }
  }
  const sections = ["question", "plan", "answer", "files", "usage", "review", "transcript", "events"];
  const shown = new Set([...heading, "runId", ...sections]);
  for (const key of [...sections, ...Object.keys(run).filter((k) => !shown.has(k))]) {
    const value = run[key];
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
      continue;
    }
    lines.push("", `## ${key}`, "", block(value));
  }
  return lines.join("\n") + "\n";
}

export class RunViewProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly baton: BatonClient) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const runId = runIdOf(uri);
    try {
      const run = await this.baton.execute<Record<string, unknown>>(ServerCommand.show, { runId });
      return renderRun(runId, run);
    } catch (error) {
      return `# Baton run ${runId}\n\nCould not load the run: ${error instanceof Error ? error.message : String(error)}\n`;
    }
  }

  /** Re-reads an open view when its run changes. */
  refresh(runId: string): void {
    const uri = runViewUri(runId);
    if (vscode.workspace.textDocuments.some((doc) => doc.uri.toString() === uri.toString())) {
      this.changed.fire(uri);
    }
  }

  async show(runId: string): Promise<void> {
    const uri = runViewUri(runId);
    this.refresh(runId);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  dispose(): void {
    this.changed.dispose();
  }
}
