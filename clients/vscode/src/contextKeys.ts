// The context keys the palette's `when` clauses read (package.json, menus.commandPalette), so it
// offers only commands that fit some run now: each key says whether any run allows an action, from
// the actions the server sends with every run (it decides; the extension only asks).
import * as vscode from "vscode";
import { allows } from "./protocol";
import type { ViewedRun } from "./tree";

/** Key → whether it holds for a run (tests/unit/test_vscode_palette.py reads these names). */
const CONTEXT_KEYS: Record<string, (run: ViewedRun) => boolean> = {
  "baton.hasRuns": () => true,
  "baton.hasPlanWaiting": (run) => allows(run, "accept"),
  "baton.hasChangesToApply": (run) => allows(run, "apply"),
  // A waiting permission is also mirrored as a question for clients that know only questions.
  "baton.hasQuestionWaiting": (run) => allows(run, "answer") && !run.permission,
  "baton.hasPermissionWaiting": (run) => allows(run, "answer_permission") || Boolean(run.permission),
  "baton.canSteer": (run) => allows(run, "steer"),
  "baton.canCancel": (run) => allows(run, "cancel"),
  "baton.canRevert": (run) => allows(run, "revert"),
  "baton.canFollowUp": (run) => allows(run, "followUp"),
};

/** Sets every key from `runs`; only changed values are sent to the workbench. */
export class ContextKeys {
  private readonly last = new Map<string, boolean>();

  set(runs: ViewedRun[]): void {
    for (const [key, holds] of Object.entries(CONTEXT_KEYS)) {
      const value = runs.some(holds);
      if (this.last.get(key) !== value) {
        this.last.set(key, value);
        void vscode.commands.executeCommand("setContext", key, value);
      }
    }
  }
}
