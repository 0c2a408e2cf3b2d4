// What the extension knows about runs, from the server's baton/runChanged notifications:
// the latest state of each run seen in this window and which one is "active" for the status
// bar and for commands that default to a run.
import * as vscode from "vscode";
import { isTerminal, type RunChanged } from "./protocol";
import { waitsOnPerson } from "./status";

export interface TrackedRun extends RunChanged {
  /** Monotonic order of the last change, to find the most recent run without clocks. */
  seq: number;
  /** The state before this change, so listeners can act on transitions only. */
  previousState: string | undefined;
}

export class RunTracker implements vscode.Disposable {
  private readonly runs = new Map<string, TrackedRun>();
  private seq = 0;
  private readonly changed = new vscode.EventEmitter<TrackedRun>();
  /** Fires after every baton/runChanged, with the run as it now is. */
  readonly onDidChange = this.changed.event;

  update(params: RunChanged): void {
    const previous = this.runs.get(params.runId);
    // Each notification carries the whole run (absent fields are over: a question once answered),
    // so it replaces what was known rather than merging into it.
    const run: TrackedRun = { ...params, seq: ++this.seq, previousState: previous?.state };
    this.runs.set(params.runId, run);
    this.changed.fire(run);
  }

  get(runId: string): TrackedRun | undefined {
    return this.runs.get(runId);
  }

  /** Runs seen in this window, most recently changed first. */
  all(): TrackedRun[] {
    return [...this.runs.values()].sort((a, b) => b.seq - a.seq);
  }

  /**
   * The run the person is most likely working with: the most recently changed run that is
   * still going, else the most recently changed run at all.
   */
  active(): TrackedRun | undefined {
    const runs = this.all();
    return runs.find((run) => !isTerminal(run.state)) ?? runs[0];
  }

  /** The most recently changed run that waits on the person (a permission, question, plan, changes). */
  waiting(): TrackedRun | undefined {
    return this.all().find(waitsOnPerson);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
