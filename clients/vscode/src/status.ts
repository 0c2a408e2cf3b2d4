// The status-bar item: the active run's state at a glance; a click opens `Baton: Show Runs`,
// or answers the question when the active run waits for one.
import * as vscode from "vscode";
import { allows, isTerminal } from "./protocol";
import type { RunTracker, TrackedRun } from "./runs";

const STATE_LABELS: Record<string, string> = {
  queued: "queued",
  classifying: "classifying",
  planning: "planning",
  awaiting_input: "question waiting",
  awaiting_approval: "plan to review",
  implementing: "implementing",
  verifying: "verifying",
  reviewing: "reviewing",
  awaiting_apply: "changes to apply",
  done: "done",
  rejected: "rejected",
  failed: "failed",
  cancelled: "cancelled",
};

const WAITING_FOR_PERSON = new Set(["awaiting_input", "awaiting_approval", "awaiting_apply"]);

export function stateLabel(state: string): string {
  return STATE_LABELS[state] ?? state;
}

function icon(run: TrackedRun): string {
  if (WAITING_FOR_PERSON.has(run.state)) {
    return "$(bell)";
  }
  if (!isTerminal(run.state)) {
    return "$(sync~spin)";
  }
  return run.state === "done" ? "$(check)" : run.state === "failed" ? "$(error)" : "$(circle-slash)";
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
    const run = this.runs.active();
    if (run === undefined) {
      this.item.text = "$(rocket) Baton";
      this.item.tooltip = "Baton: no runs yet. Click to show runs.";
      this.item.command = "baton.ui.showRuns";
      this.item.backgroundColor = undefined;
      return;
    }
    const held = run.held ? ` · ${run.held} held` : "";
    this.item.text = `${icon(run)} Baton: ${stateLabel(run.state)}${held}`;
    const details = [run.task, `state: ${run.state}`];
    if (run.held) {
      details.push(`${run.held} hunk(s) held back: apply or reject them in changes.diff`);
    }
    if (run.route) {
      details.push(`route: ${run.route}`);
    }
    if (run.error) {
      details.push(`error: ${run.error}`);
    }
    if (run.question) {
      details.push(`question: ${run.question.text}`);
    }
    this.item.tooltip = details.join("\n");
    this.item.command = allows(run, "answer") ? "baton.ui.answerQuestion" : "baton.ui.showRuns";
    this.item.backgroundColor = WAITING_FOR_PERSON.has(run.state)
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
