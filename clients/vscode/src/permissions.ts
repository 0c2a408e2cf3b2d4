// A permission Baton asks for (an out-of-grant write, command or MCP call) as a prompt the person
// cannot miss: a modal dialog that stays until answered. Its first (default) button shows what
// would be written or run, never allows anything; Escape or "Answer Later" leaves the permission
// waiting (it never times out into Deny: the status item stays "waiting for you" and brings the
// prompt back). What it would do opens beside the code, with the answers as labelled editor-title
// actions. An answer is sent with `baton.permission.answer` naming the permission, so a prompt the
// run has moved past (answered in another editor, cancelled) does nothing and says so.
import * as vscode from "vscode";
import type { CommandContext } from "./commands";
import { asText } from "./display";
import { ServerCommand, type Permission } from "./protocol";

export const PERMISSION_SCHEME = "baton-permission";
const LATER: vscode.MessageItem = { title: "Answer Later", isCloseAffordance: true };
const PREVIEW_LINES = 12;
const SHOW: Record<string, string> = { write: "Show Diff", command: "Show Command", mcp: "Show Call" };

/** The editor-title actions on the permission's document, by the server's option they choose. */
const TITLE_ANSWERS: [string, string][] = [
  ["baton.ui.permissionDeny", "deny"],
  ["baton.ui.permissionAllowOnce", "allow once"],
  ["baton.ui.permissionAllowForRun", "allow for this run"],
];

/** `baton-permission:/<runId>/<id>/Baton permission.diff`: its tab reads "Baton permission.diff". */
function documentUri(runId: string, permission: Permission): vscode.Uri {
  return vscode.Uri.from({ scheme: PERMISSION_SCHEME, path: `/${runId}/${permission.id}/Baton permission.diff` });
}

function fromDocumentUri(uri: vscode.Uri): { runId: string; id: string } | undefined {
  const match = /^\/([^/]+)\/([^/]+)\/[^/]+$/.exec(uri.path);
  return match?.[1] !== undefined && match[2] !== undefined ? { runId: match[1], id: match[2] } : undefined;
}

/** The first lines of what the permission would do, for the dialog's detail. */
function preview(permission: Permission): string {
  const lines = (permission.diff ?? "").split("\n");
  const shown = lines.slice(0, PREVIEW_LINES).join("\n");
  const more = lines.length > PREVIEW_LINES ? `\n… (${lines.length - PREVIEW_LINES} more lines: ${SHOW[permission.kind] ?? "Show Details"})` : "";
  return asText(shown) + more;
}

export class Permissions implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: CommandContext) {
    this.subscriptions = [
      vscode.workspace.registerTextDocumentContentProvider(PERMISSION_SCHEME, this),
      // An open permission document says so once its permission is no longer waiting.
      ctx.runs.onDidChange((run) => {
        for (const doc of vscode.workspace.textDocuments) {
          if (doc.uri.scheme === PERMISSION_SCHEME && fromDocumentUri(doc.uri)?.runId === run.runId) {
            this.changed.fire(doc.uri);
          }
        }
      }),
      ...TITLE_ANSWERS.map(([command, option]) =>
        vscode.commands.registerCommand(command, async (uri?: unknown) => {
          const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
          const named = target?.scheme === PERMISSION_SCHEME ? fromDocumentUri(target) : undefined;
          if (named === undefined) {
            void vscode.window.showInformationMessage("Baton: open a permission's details first (the status item shows what waits).");
            return;
          }
          await this.answer(named.runId, named.id, option);
        }),
      ),
    ];
  }

  /** The permission's document: what it asks, then the diff, command or call it would run. */
  provideTextDocumentContent(uri: vscode.Uri): string {
    const named = fromDocumentUri(uri);
    const permission = named === undefined ? undefined : this.waiting(named.runId, named.id);
    if (permission === undefined) {
      return "This permission is no longer waiting: it was answered, or the run moved on.\n";
    }
    const question = permission.text.split("\n").map((line) => `# ${line}`).join("\n");
    return `${question}\n# Answer with the buttons above: Deny, Allow Once, Allow for This Run.\n\n${permission.diff ?? ""}\n`;
  }

  /** The permission that waits now, if it is still the one named. */
  private waiting(runId: string, id: string): Permission | undefined {
    const permission = this.ctx.runs.get(runId)?.permission;
    return permission?.id === id ? permission : undefined;
  }

  /** Shows the prompt for the run's waiting permission; resolves once the dialog is closed. */
  async ask(runId: string): Promise<void> {
    const permission = this.ctx.runs.get(runId)?.permission;
    if (!permission) {
      void vscode.window.showInformationMessage("Baton: no permission is waiting for this run.");
      return;
    }
    const show: vscode.MessageItem = { title: SHOW[permission.kind] ?? "Show Details" };
    // Deny first among the answers: no permissive choice is ever the default.
    const answers = [...permission.options].sort((a, b) => Number(/^allow/i.test(a)) - Number(/^allow/i.test(b)));
    const chosen = await vscode.window.showWarningMessage(
      asText(permission.text.startsWith("Baton") ? permission.text : `Baton: ${permission.text}`),
      { modal: true, detail: preview(permission) },
      show,
      ...answers.map((title) => ({ title })),
      LATER,
    );
    if (chosen === undefined || chosen === LATER) {
      return; // still waiting: the status item says so and brings this back
    }
    if (chosen === show) {
      await this.showDetails(runId, permission);
      return;
    }
    await this.answer(runId, permission.id, chosen.title);
  }

  async showDetails(runId: string, permission: Permission): Promise<void> {
    const uri = documentUri(runId, permission);
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, "diff");
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  }

  /** Sends `answer` (an option, any case) for permission `id`, unless the run has moved past it. */
  async answer(runId: string, id: string, answer: string): Promise<void> {
    const permission = this.waiting(runId, id);
    const option = permission?.options.find((o) => o.toLowerCase() === answer.toLowerCase());
    if (permission === undefined || option === undefined) {
      void vscode.window.showInformationMessage(
        "Baton: that permission is no longer waiting (it was answered, or the run moved on). Nothing was sent.",
      );
      return;
    }
    try {
      await this.ctx.baton.execute(ServerCommand.answerPermission, { runId, id, answer: option });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      void vscode.window.showWarningMessage(`Baton: the answer "${option}" was not taken: ${message}`);
      return;
    }
    await this.closeDetails(runId, id);
  }

  private async closeDetails(runId: string, id: string): Promise<void> {
    const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => {
      const input = tab.input;
      if (!(input instanceof vscode.TabInputText) || input.uri.scheme !== PERMISSION_SCHEME) {
        return false;
      }
      const named = fromDocumentUri(input.uri);
      return named?.runId === runId && named.id === id;
    });
    if (tabs.length > 0) {
      await vscode.window.tabGroups.close(tabs);
    }
  }

  dispose(): void {
    this.subscriptions.forEach((d) => {
      d.dispose();
    });
    this.changed.dispose();
  }
}
