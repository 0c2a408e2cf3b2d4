// Choosing the run a command acts on, the way a person expects: the run whose plan (or answer,
// or diff) is the active editor; else the only run in a fitting state; else a quick pick.
import * as vscode from "vscode";
import type { BatonClient } from "./client";
import { runIdFromRunFilePath, ServerCommand, type RunSummary } from "./protocol";
import type { RunTracker } from "./runs";
import { stateLabel } from "./status";

interface RunItem extends vscode.QuickPickItem {
  runId: string;
}

export class RunPicker {
  constructor(
    private readonly baton: BatonClient,
    private readonly runs: RunTracker,
  ) {}

  /**
   * All runs the server knows (the journal, so runs from before a restart too), with the states
   * this window saw last merged in; most recent first. The journal also stands in for what a
   * server since restarted said last (RunTracker.resync).
   */
  async list(): Promise<RunSummary[]> {
    const listed = await this.baton.execute<RunSummary[] | null>(ServerCommand.runs, {});
    this.runs.resync(listed ?? []);
    const byId = new Map<string, RunSummary>();
    for (const run of listed ?? []) {
      byId.set(run.runId, run);
    }
    for (const seen of this.runs.all()) {
      const known = byId.get(seen.runId);
      byId.set(seen.runId, {
        ...known,
        runId: seen.runId,
        task: seen.task,
        route: seen.route ?? known?.route ?? null,
        state: seen.state,
        createdAt: known?.createdAt ?? 0,
        actions: seen.actions ?? known?.actions ?? [],
      });
    }
    const order = new Map(this.runs.all().map((run, index) => [run.runId, index]));
    return [...byId.values()].sort((a, b) => {
      const seenA = order.get(a.runId);
      const seenB = order.get(b.runId);
      if (seenA !== undefined || seenB !== undefined) {
        return (seenA ?? Number.MAX_SAFE_INTEGER) - (seenB ?? Number.MAX_SAFE_INTEGER);
      }
      return b.createdAt - a.createdAt;
    });
  }

  /** The run of the active editor's run file (`.baton/runs/<id>/plan.md` and its siblings). */
  activeEditorRunId(): string | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    return doc?.uri.scheme === "file" ? runIdFromRunFilePath(doc.uri.fsPath) : undefined;
  }

  toItem(run: RunSummary): RunItem {
    return {
      runId: run.runId,
      label: run.task,
      description: `${stateLabel(run.state)}${run.route ? ` · ${run.route}` : ""}`,
      detail: run.runId,
    };
  }

  /**
   * Picks a run that `fits` (the server's actions say what a run allows); `purpose` completes
   * "No run is …" and the pick's title.
   * Resolves undefined when there is none (after saying so) or the person dismissed the pick.
   */
  async pick(purpose: string, fits: (run: RunSummary) => boolean): Promise<string | undefined> {
    const runs = (await this.list()).filter(fits);
    const fromEditor = this.activeEditorRunId();
    if (fromEditor !== undefined && runs.some((run) => run.runId === fromEditor)) {
      return fromEditor;
    }
    const [first] = runs;
    if (first === undefined) {
      void vscode.window.showInformationMessage(`Baton: no run is ${purpose}.`);
      return undefined;
    }
    if (runs.length === 1) {
      return first.runId;
    }
    const chosen = await vscode.window.showQuickPick(
      runs.map((run) => this.toItem(run)),
      { title: `Baton: choose the run ${purpose}`, matchOnDescription: true, matchOnDetail: true },
    );
    return chosen?.runId;
  }
}
