// The Baton view (its own activity-bar container): every run with its state in words; under each,
// what waits on the person (plan, question, permission, changes) with its actions inline, then the
// run's details: summary, files changed, findings, verification, usage and its steps. It is built
// from the same baton/runChanged notices as the status bar, the journal's `baton.runs` at start-up
// (runs from before this window) and `baton.run.show` for what a notice does not carry (findings,
// steps), read when a run is expanded. It is also the run view: Show Runs reveals the run here.
import * as vscode from "vscode";
import type { BatonClient } from "./client";
import { ContextKeys } from "./contextKeys";
import { allows, isTerminal, ServerCommand, type RunChanged, type RunSummary } from "./protocol";
import { runFolder } from "./runDocuments";
import type { RunPicker } from "./runPicker";
import type { RunTracker } from "./runs";
import { describeRun, permissionLabel } from "./status";

export const VIEW_ID = "baton.runs";

/** What the view shows of a run: the journal's entry, updated by every notice about it. */
export type ViewedRun = RunSummary & Partial<Pick<RunChanged, "planUri" | "answerUri" | "question" | "permission" | "held" | "verify" | "error">>;

/** The part of `baton.run.show` the view reads (the server sends more). */
interface RunDetails {
  files?: string[] | null;
  reviews?: { verdict: string; findings: Finding[] }[] | null;
  events?: string[] | null;
}

interface Finding {
  path: string;
  line: number;
  message: string;
  severity: string;
}

type Node =
  | { kind: "run"; runId: string }
  | { kind: "waiting"; runId: string; what: "plan" | "question" | "permission" | "changes" }
  | { kind: "group"; runId: string; what: "files" | "findings" | "usage" | "steps" }
  | { kind: "leaf"; runId: string; id: string; item: vscode.TreeItem };

const ICONS: Record<string, string> = {
  done: "pass",
  failed: "error",
  rejected: "circle-slash",
  cancelled: "circle-slash",
  awaiting_approval: "bell",
  awaiting_input: "bell",
  awaiting_apply: "bell",
};

function oneLine(text: string, limit = 120): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

/** A run's creation time as a person reads it: the time today, else the date and time. */
export function when(createdAt: number | undefined | null): string {
  if (!createdAt) {
    return "";
  }
  const date = new Date(createdAt * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function tokens(count: number): string {
  return count >= 1000 ? `${(count / 1000).toFixed(1)}k` : String(count);
}

/**
 * One role's usage, or the run's total: "12.3k tokens · $0.0412"; tokens of a model with no
 * price are "cost unknown", never $0 (as the server's pricing.cost_text says it).
 */
function usageText(usages: Record<string, number>[]): string {
  const sum = (key: string) => usages.reduce((total, u) => total + (u[key] ?? 0), 0);
  const cost = sum("cost_usd");
  const unpriced = sum("unpriced_tokens");
  const costs = [cost > 0 ? `$${cost.toFixed(4)}` : "", unpriced > 0 ? `cost unknown for ${tokens(unpriced)} tokens` : ""];
  const said = costs.filter(Boolean).join(" + ");
  return `${tokens(sum("input_tokens") + sum("output_tokens"))} tokens${said ? ` · ${said}` : ""}`;
}

/**
 * A workspace-relative path the server reported (a finding's path is the reviewer model's) as a
 * file of the workspace; one that would leave it (absolute, `..`) gets no link.
 */
function workspaceFile(relative: string): vscode.Uri | undefined {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  const parts = relative.split(/[\\/]/);
  if (root === undefined || /^([a-zA-Z]:|[\\/])/.test(relative) || parts.includes("..")) {
    return undefined;
  }
  return vscode.Uri.joinPath(root, ...parts);
}

function open(uri: vscode.Uri | undefined, title: string, options: vscode.TextDocumentShowOptions = {}): vscode.Command | undefined {
  return uri === undefined ? undefined : { command: "vscode.open", title, arguments: [uri, options] };
}

/** A run as its notice says it is; the journal's entry adds what a notice may leave out. */
function viewed(notice: RunChanged, known: ViewedRun | undefined): ViewedRun {
  // A notice describes the whole run: its optional fields replace what was known.
  const { createdAt, ...rest } = notice;
  return {
    ...rest,
    createdAt: createdAt ?? known?.createdAt ?? Date.now() / 1000,
    parentRunId: known?.parentRunId ?? null,
    summary: notice.summary ?? null,
  };
}

export class RunsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly runs = new Map<string, ViewedRun>();
  private readonly details = new Map<string, Promise<RunDetails | undefined>>();
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly keys = new ContextKeys();
  /** What each run waited for when it was last unfolded for it ("plan", "question,changes", …). */
  private readonly unfolded = new Map<string, string>();
  private readonly view: vscode.TreeView<Node>;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly baton: BatonClient,
    private readonly tracker: RunTracker,
    private readonly picker: RunPicker,
  ) {
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
    this.keys.set([]);
    this.subscriptions = [
      this.view,
      vscode.commands.registerCommand("baton.ui.refreshRuns", () => this.reload()),
      this.view.onDidChangeVisibility(() => {
        this.unfoldWaiting();
      }),
      tracker.onDidChange((run) => {
        this.update(run);
      }),
    ];
  }

  /** Reads every run the server knows (the journal), e.g. at start-up and on Refresh. */
  async reload(): Promise<void> {
    const listed = await this.picker.list();
    this.runs.clear();
    this.details.clear();
    for (const run of listed) {
      // The last notice says more than the journal's entry (what waits, the plan's file).
      const notice = this.tracker.get(run.runId);
      this.runs.set(run.runId, notice === undefined ? run : viewed(notice, run));
    }
    this.fire();
  }

  private update(notice: RunChanged): void {
    this.runs.set(notice.runId, viewed(notice, this.runs.get(notice.runId)));
    this.details.delete(notice.runId);
    this.fire();
  }

  private fire(): void {
    this.changed.fire(undefined);
    this.keys.set(this.all());
    this.unfoldWaiting();
  }

  /**
   * Unfolds a run when something new waits on the person, so it is in view with its inline
   * actions (a tree keeps the folding a run had before, whatever its item says now). Only while
   * the view is open: it never takes the sidebar over from what the person is looking at.
   */
  private unfoldWaiting(): void {
    if (!this.view.visible) {
      return;
    }
    for (const run of this.runs.values()) {
      const waits = this.waiting(run)
        .map((node) => (node.kind === "waiting" ? node.what : ""))
        .join(",");
      if (waits !== "" && this.unfolded.get(run.runId) !== waits) {
        this.unfolded.set(run.runId, waits);
        void this.view.reveal({ kind: "run", runId: run.runId }, { select: false, focus: false, expand: true });
      } else if (waits === "") {
        this.unfolded.delete(run.runId);
      }
    }
  }

  /** Runs, most recent first. */
  all(): ViewedRun[] {
    return [...this.runs.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Shows the run in the view, expanded and selected: the run view. */
  async show(runId: string): Promise<void> {
    if (!this.runs.has(runId)) {
      await this.reload();
    }
    await this.view.reveal({ kind: "run", runId }, { select: true, focus: true, expand: 2 });
  }

  getParent(node: Node): Node | undefined {
    return node.kind === "run" ? undefined : { kind: "run", runId: node.runId };
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node === undefined) {
      return this.all().map((run) => ({ kind: "run", runId: run.runId }));
    }
    const run = this.runs.get(node.runId);
    if (run === undefined) {
      return [];
    }
    switch (node.kind) {
      case "run":
        return this.runChildren(run);
      case "group":
        return this.groupChildren(run, node.what);
      default:
        return [];
    }
  }

  private fetch(runId: string): Promise<RunDetails | undefined> {
    let details = this.details.get(runId);
    if (details === undefined) {
      details = this.baton.execute<RunDetails>(ServerCommand.show, { runId }).catch(() => undefined);
      this.details.set(runId, details);
    }
    return details;
  }

  private waiting(run: ViewedRun): Node[] {
    const runId = run.runId;
    const out: Node[] = [];
    // While a permission waits, `question` mirrors it for clients that know only questions.
    if (run.permission) {
      out.push({ kind: "waiting", runId, what: "permission" });
    } else if (allows(run, "answer")) {
      out.push({ kind: "waiting", runId, what: "question" });
    }
    if (allows(run, "accept")) {
      out.push({ kind: "waiting", runId, what: "plan" });
    }
    if (allows(run, "apply")) {
      out.push({ kind: "waiting", runId, what: "changes" });
    }
    return out;
  }

  private async runChildren(run: ViewedRun): Promise<Node[]> {
    const runId = run.runId;
    const leaf = (id: string, item: vscode.TreeItem): Node => ({ kind: "leaf", runId, id, item });
    const out = this.waiting(run);
    const summary = run.summary;
    if (summary?.text) {
      const item = new vscode.TreeItem(oneLine(summary.text));
      item.iconPath = new vscode.ThemeIcon("note");
      item.tooltip = summary.text;
      out.push(leaf("summary", item));
    }
    if (run.error) {
      const item = new vscode.TreeItem(oneLine(run.error));
      item.iconPath = new vscode.ThemeIcon("error");
      item.tooltip = run.error;
      out.push(leaf("error", item));
    }
    const details = await this.fetch(runId);
    const files = details?.files ?? summary?.files ?? [];
    if (files.length > 0) {
      out.push({ kind: "group", runId, what: "files" });
    }
    if (this.findings(details).length > 0 || (summary?.findings ?? 0) > 0) {
      out.push({ kind: "group", runId, what: "findings" });
    }
    if (run.verify) {
      const item = new vscode.TreeItem(`Verify ${run.verify.passed ? "passed" : "did not pass"}`);
      item.description = oneLine(run.verify.summary);
      item.tooltip = run.verify.summary;
      item.iconPath = new vscode.ThemeIcon(run.verify.passed ? "pass" : "warning");
      out.push(leaf("verify", item));
    }
    // While the plan waits, its waiting item opens it.
    if ((run.planUri || run.route === "plan") && !allows(run, "accept")) {
      const folder = runFolder(run);
      const plan = run.planUri ? vscode.Uri.parse(run.planUri) : folder && vscode.Uri.joinPath(folder, "plan.md");
      const item = new vscode.TreeItem("Plan");
      item.iconPath = new vscode.ThemeIcon("book");
      const command = open(plan, "Open plan", { preview: true });
      if (command) {
        item.command = command;
      }
      out.push(leaf("plan", item));
    }
    if (run.answerUri) {
      const item = new vscode.TreeItem("Answer");
      item.iconPath = new vscode.ThemeIcon("comment-discussion");
      item.command = { command: "vscode.open", title: "Open answer", arguments: [vscode.Uri.parse(run.answerUri)] };
      out.push(leaf("answer", item));
    }
    if (run.usage && Object.keys(run.usage).length > 0) {
      out.push({ kind: "group", runId, what: "usage" });
    }
    if ((details?.events ?? []).length > 0) {
      out.push({ kind: "group", runId, what: "steps" });
    }
    return out;
  }

  private findings(details: RunDetails | undefined): Finding[] {
    const reviews = details?.reviews ?? [];
    return reviews[reviews.length - 1]?.findings ?? [];
  }

  private async groupChildren(run: ViewedRun, what: "files" | "findings" | "usage" | "steps"): Promise<Node[]> {
    const runId = run.runId;
    const leaf = (id: string, item: vscode.TreeItem): Node => ({ kind: "leaf", runId, id: `${what}/${id}`, item });
    const details = await this.fetch(runId);
    switch (what) {
      case "files":
        return (details?.files ?? run.summary?.files ?? []).map((path) => {
          const uri = workspaceFile(path);
          const item = uri === undefined ? new vscode.TreeItem(path) : new vscode.TreeItem(uri);
          item.description = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
          item.contextValue = "file";
          const command = open(uri, "Open file");
          if (command) {
            item.command = command;
          }
          return leaf(path, item);
        });
      case "findings":
        return this.findings(details).map((finding, index) => {
          const item = new vscode.TreeItem(oneLine(finding.message));
          item.description = `${finding.path}:${finding.line}`;
          item.tooltip = `${finding.severity}: ${finding.message}`;
          item.iconPath = new vscode.ThemeIcon(finding.severity === "error" ? "error" : finding.severity === "warning" ? "warning" : "info");
          const line = Math.max(finding.line - 1, 0);
          const command = open(workspaceFile(finding.path), "Go to finding", { selection: new vscode.Range(line, 0, line, 0) });
          if (command) {
            item.command = command;
          }
          return leaf(String(index), item);
        });
      case "usage":
        return Object.entries(run.usage ?? {}).map(([role, usage]) => {
          const item = new vscode.TreeItem(role);
          item.description = usageText([usage]);
          return leaf(role, item);
        });
      case "steps":
        // The server's account of the run, a line per step (never the prompts it sent the agents).
        return (details?.events ?? []).map((line, index) => {
          const item = new vscode.TreeItem(oneLine(line, 200));
          item.tooltip = line;
          return leaf(String(index), item);
        });
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const run = this.runs.get(node.runId);
    switch (node.kind) {
      case "run":
        return run === undefined ? new vscode.TreeItem(node.runId) : this.runItem(run);
      case "waiting":
        return this.waitingItem(node.runId, node.what, run);
      case "group":
        return this.groupItem(node.runId, node.what, run);
      case "leaf":
        node.item.id = `${node.runId}/${node.id}`;
        return node.item;
    }
  }

  private runItem(run: ViewedRun): vscode.TreeItem {
    const waiting = this.waiting(run).length > 0;
    const item = new vscode.TreeItem(
      oneLine(run.task, 80),
      waiting ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = run.runId;
    item.description = [describeRun(run), when(run.createdAt)].filter(Boolean).join(" · ");
    const icon = ICONS[run.state] ?? (isTerminal(run.state) ? "circle-outline" : "sync~spin");
    item.iconPath = new vscode.ThemeIcon(icon);
    const tooltip = new vscode.MarkdownString(undefined, false);
    tooltip.appendText(run.task);
    tooltip.appendMarkdown("\n\n");
    tooltip.appendText(`${describeRun(run)}${run.route ? ` · ${run.route} route` : ""} · started ${when(run.createdAt)}`);
    if (run.usage) {
      tooltip.appendMarkdown("\n\n");
      tooltip.appendText(usageText(Object.values(run.usage)));
    }
    item.tooltip = tooltip;
    // Menus match the actions the server allows: "run accept reject revise …".
    item.contextValue = ["run", ...(run.actions ?? [])].join(" ");
    return item;
  }

  private waitingItem(runId: string, what: "plan" | "question" | "permission" | "changes", run: ViewedRun | undefined): vscode.TreeItem {
    const item = new vscode.TreeItem("");
    item.id = `${runId}/waiting/${what}`;
    item.contextValue = `waiting-${what}`;
    item.iconPath = new vscode.ThemeIcon("bell-dot", new vscode.ThemeColor("list.warningForeground"));
    // A click brings back what waits, as the status item's does (the prompt, the plan beside the code, changes.diff).
    item.command = { command: "baton.ui.showWaiting", title: "Show what waits", arguments: [runId] };
    switch (what) {
      case "permission": {
        const permission = run?.permission;
        // "Permission to write src/x.py", as the status item says it; the whole prompt in the tooltip.
        const label = run === undefined ? "" : permissionLabel(run);
        item.label = label ? `P${label.slice(1)}` : "Permission waiting for you";
        item.description = permission?.kind ?? "";
        item.tooltip = permission?.text ?? "";
        break;
      }
      case "question":
        item.label = `Question: ${oneLine(run?.question?.text ?? "waiting for your answer")}`;
        item.tooltip = run?.question?.text ?? "";
        break;
      case "plan":
        item.label = run?.route === "edit" ? "Review the change" : "Review the plan";
        item.description = "accept, revise or reject";
        break;
      case "changes":
        item.label = "Review the changes";
        item.description = run?.held ? `${run.held} held` : "apply or reject";
        break;
    }
    return item;
  }

  private groupItem(runId: string, what: "files" | "findings" | "usage" | "steps", run: ViewedRun | undefined): vscode.TreeItem {
    const files = run?.summary?.files?.length;
    const findings = run?.summary?.findings;
    const verdict = run?.summary?.verdict;
    const labels = {
      files: files ? `Files changed (${files})` : "Files changed",
      findings: `Findings${findings ? ` (${findings})` : ""}${verdict ? ` · ${verdict === "approve" ? "approved" : "changes requested"}` : ""}`,
      usage: `Usage${run?.usage ? `: ${usageText(Object.values(run.usage))}` : ""}`,
      steps: "Steps",
    };
    const item = new vscode.TreeItem(
      labels[what],
      what === "steps" || what === "usage" ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded,
    );
    item.id = `${runId}/${what}`;
    if (what === "files") {
      item.contextValue = "files-changed"; // its inline action shows the run's changes as one diff
    }
    item.iconPath = new vscode.ThemeIcon({ files: "files", findings: "checklist", usage: "dashboard", steps: "list-ordered" }[what]);
    return item;
  }

  dispose(): void {
    this.subscriptions.forEach((d) => {
      d.dispose();
    });
    this.changed.dispose();
  }
}
