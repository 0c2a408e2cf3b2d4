// What the extension knows about runs, from the server's baton/runChanged notifications:
// the latest state of each run seen in this window and which one is "active" for the status
// bar and for commands that default to a run. A restarted server sends no notice for what
// changed while it was down, and cannot take a question or permission the one before it asked:
// until the journal says the run again (`resync`), what an earlier server said is not trusted.
import * as vscode from "vscode";
import { isTerminal, type RunChanged, type RunSummary } from "./protocol";
import { waitsOnPerson } from "./status";

export interface TrackedRun extends RunChanged {
  /** Monotonic order of the last change, to find the most recent run without clocks. */
  seq: number;
  /** The state before this change, so listeners can act on transitions only. */
  previousState: string | undefined;
  /** The server start whose notice (or journal) said this; an older one may be stale. */
  server: number;
}

export class RunTracker implements vscode.Disposable {
  private readonly runs = new Map<string, TrackedRun>();
  private seq = 0;
  private server = 0;
  private readonly changed = new vscode.EventEmitter<TrackedRun>();
  /** Fires after every baton/runChanged, with the run as it now is. */
  readonly onDidChange = this.changed.event;

  update(params: RunChanged): void {
    this.set(params, ++this.seq);
  }

  private set(params: RunChanged, seq: number): void {
    const previous = this.runs.get(params.runId);
    // Each notification carries the whole run (absent fields are over: a question once answered),
    // so it replaces what was known rather than merging into it.
    const run: TrackedRun = { ...params, seq, previousState: previous?.state, server: this.server };
    this.runs.set(params.runId, run);
    this.changed.fire(run);
  }

  /** A server (re)started (BatonClient.onDidStart): what earlier ones said waits for `resync`. */
  serverStarted(): void {
    this.server += 1;
  }

  /**
   * The journal's entries (`baton.runs`) stand for what an earlier server last said of a run, as
   * a notice would: listeners hear of it the same way (the status item, the view, a question's
   * prompt that is no longer waiting), and it keeps its place in the order of changes. What the
   * running server said stays.
   */
  resync(listed: RunSummary[]): void {
    for (const entry of listed) {
      const known = this.runs.get(entry.runId);
      if (known !== undefined && known.server !== this.server) {
        this.set(entry, known.seq);
      }
    }
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
