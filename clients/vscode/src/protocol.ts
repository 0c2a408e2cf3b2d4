// The slice of Baton's LSP contract (PROTOCOL.md §3-§4) the extension speaks. The shapes are
// generated from the server's own models (src/wire.ts, `npm run wire`; `npm run check` fails when
// they drift); what is here is what a schema does not say: method and command names, and where
// a run's files are.
import type { Action, RunChanged, RunSummary } from "./wire";

export type { Action, Permission, Question, RunArgs, RunChanged, RunSummary, Summary, Trusted } from "./wire";

export const TERMINAL_STATES: ReadonlySet<string> = new Set(["done", "rejected", "failed", "cancelled"]);

export function isTerminal(state: string): boolean {
  return TERMINAL_STATES.has(state);
}

/** Whether the server says the run allows `action` now (it decides; the extension only asks). */
export function allows(run: RunChanged | RunSummary, action: Action): boolean {
  return run.actions?.includes(action) ?? false;
}

export const RUN_CHANGED = "baton/runChanged";

/** Server commands (workspace/executeCommand, one object argument each). */
export const ServerCommand = {
  run: "baton.run",
  answer: "baton.run.answer",
  answerPermission: "baton.permission.answer",
  steer: "baton.run.steer",
  accept: "baton.plan.accept",
  reject: "baton.plan.reject",
  revise: "baton.plan.revise",
  applyEdits: "baton.edits.apply",
  rejectEdits: "baton.edits.reject",
  cancel: "baton.run.cancel",
  revert: "baton.run.revert",
  runs: "baton.runs",
  show: "baton.run.show",
  trustWorkspace: "baton.workspace.trust",
} as const;

export type ServerCommandName = (typeof ServerCommand)[keyof typeof ServerCommand];

/** The run folder holds plan.md / answer.md / changes.diff: `<ws>/.baton/runs/<runId>/<file>`. */
export function runIdFromRunFilePath(path: string): string | undefined {
  const match = /[\\/]\.baton[\\/]runs[\\/]([^\\/]+)[\\/][^\\/]+$/.exec(path);
  return match?.[1];
}
