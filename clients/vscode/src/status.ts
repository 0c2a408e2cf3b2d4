// The one Baton status-bar item: the run that matters now, in words a person uses. Anything
// waiting on the person (a permission, a question, a plan, changes to apply) wins over a run that
// is merely working, turns the item to the warning colour and stops the spinner; a click brings
// back what waits (`baton.ui.showWaiting`), or Show Runs when nothing does.
import * as vscode from "vscode";
import { isTerminal, type RunChanged } from "./protocol";
import { asText } from "./display";
import type { RunTracker, TrackedRun } from "./runs";

/** What each state is called on screen (the tree view and Show Runs use the same words). */
const STATE_LABELS: Record<string, string> = {
  queued: "queued",
  classifying: "reading the task…",
  planning: "planning…",
  awaiting_input: "question waiting for you",
  awaiting_approval: "plan waiting for you",
  implementing: "implementing…",
  verifying: "verifying…",
  reviewing: "reviewing…",
  awaiting_apply: "changes waiting for you",
  done: "done",
  rejected: "rejected",
  failed: "failed",
  cancelled: "cancelled",
};

const VERBS: Record<string, string> = { write: "write", command: "run", mcp: "use" };
const SUBJECT_LIMIT = 48;

export function stateLabel(state: string): string {
  return STATE_LABELS[state] ?? state.replaceAll("_", " ");
}

/** Whether the run cannot go on until the person does something. */
export function waitsOnPerson(run: RunChanged): boolean {
  return Boolean(run.permission) || run.state === "awaiting_input" || run.state === "awaiting_approval" || run.state === "awaiting_apply";
}

/**
 * "permission to write src/x.py": the subject is the first `quoted` part of the server's prompt
 * (display only; the whole prompt is in the tooltip and the prompt itself).
 */
export function permissionLabel(run: RunChanged): string {
  const permission = run.permission;
  if (!permission) {
    return "";
  }
  const verb = VERBS[permission.kind] ?? "act";
  const subject = /`([^`\n]+)`/.exec(permission.text)?.[1];
  if (subject === undefined) {
    return `permission to ${verb}`;
  }
  const shown = subject.length > SUBJECT_LIMIT ? `${subject.slice(0, SUBJECT_LIMIT - 1)}…` : subject;
  return `permission to ${verb} ${asText(shown)}`;
}

/** The run's state as the status item says it, without the "Baton:" prefix. */
export function describeRun(run: RunChanged): string {
  return run.permission ? `waiting for you — ${permissionLabel(run)}` : stateLabel(run.state);
}

function icon(run: TrackedRun): string {
  if (waitsOnPerson(run)) {
    return "$(bell-dot)";
  }
  if (!isTerminal(run.state)) {
    return "$(sync~spin)";
  }
  return run.state === "done" ? "$(check)" : run.state === "failed" ? "$(error)" : "$(circle-slash)";
}

function tooltip(run: TrackedRun): string {
  const lines = [`Baton: ${run.task}`, describeRun(run)];
  if (run.permission) {
    lines.push("", run.permission.text);
  } else if (run.question) {
    lines.push("", `Question: ${run.question.text}`);
  }
  if (run.held) {
    lines.push(`${run.held} hunk(s) held back: apply or reject them in changes.diff`);
  }
  if (run.error) {
    lines.push(`Error: ${run.error}`);
  }
  lines.push("", waitsOnPerson(run) ? "Click to answer." : "Click to show the runs.");
  return lines.join("\n");
}

export class RunStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly runs: RunTracker) {
    this.item = vscode.window.createStatusBarItem("baton.status", vscode.StatusBarAlignment.Left, 0);
    this.item.name = "Baton";
    this.subscription = runs.onDidChange(() => {
      this.render();
    });
    this.render();
    this.item.show();
  }

  private render(): void {
    const run = this.runs.waiting() ?? this.runs.active();
    if (run === undefined) {
      this.item.text = "$(rocket) Baton";
      this.item.tooltip = "Baton: no runs yet. Click to show runs.";
      this.item.command = "baton.ui.showRuns";
      this.item.backgroundColor = undefined;
      return;
    }
    const held = run.held ? ` · ${run.held} held` : "";
    this.item.text = `${icon(run)} Baton: ${describeRun(run)}${held}`;
    this.item.tooltip = tooltip(run);
    const waiting = waitsOnPerson(run);
    this.item.command = waiting ? { title: "Show what waits", command: "baton.ui.showWaiting", arguments: [run.runId] } : "baton.ui.showRuns";
    this.item.backgroundColor = waiting
      ? new vscode.ThemeColor("statusBarItem.warningBackground")
      : run.state === "failed"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
