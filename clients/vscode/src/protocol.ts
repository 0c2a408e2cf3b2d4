// The slice of Baton's LSP contract (PROTOCOL.md §3-§4) the extension speaks: command names,
// their argument shapes and the baton/runChanged notification. Kept apart from the VS Code
// wiring so the contract is visible in one place.

export type RunState =
  | "queued"
  | "classifying"
  | "planning"
  | "awaiting_input"
  | "awaiting_approval"
  | "implementing"
  | "reviewing"
  | "awaiting_apply"
  | "done"
  | "rejected"
  | "failed"
  | "cancelled";

export type Route = "ask" | "edit" | "plan";

export const TERMINAL_STATES: ReadonlySet<string> = new Set(["done", "rejected", "failed", "cancelled"]);

export function isTerminal(state: string): boolean {
  return TERMINAL_STATES.has(state);
}

export interface Question {
  text: string;
  options?: string[];
}

/** Params of the `baton/runChanged` notification. */
export interface RunChanged {
  runId: string;
  /** A RunState; typed as string so a newer server's states pass through. */
  state: string;
  route?: string | null;
  task: string;
  planUri?: string | null;
  answerUri?: string | null;
  question?: Question | null;
  error?: string | null;
  usage?: unknown;
  /** The agent's hunks held back after a conflict left unsettled; in changes.diff to apply or reject. */
  held?: number | null;
  reason?: string | null;
}

/** One entry of the `baton.runs` result. */
export interface RunSummary {
  runId: string;
  task: string;
  route?: string | null;
  state: string;
  createdAt?: string | number | null;
  parentRunId?: string | null;
}

export const RUN_CHANGED = "baton/runChanged";

/** Server commands (workspace/executeCommand, one object argument each). */
export const ServerCommand = {
  run: "baton.run",
  answer: "baton.run.answer",
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

/** The `baton.workspace.trust` result. */
export interface Trusted {
  path: string;
  sha256: string;
}

export type ServerCommandName = (typeof ServerCommand)[keyof typeof ServerCommand];

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface RunArgs {
  task: string;
  uri?: string;
  range?: LspRange;
  route?: Route;
  parentRunId?: string;
}

/** The run folder holds plan.md / answer.md / changes.diff: `<ws>/.baton/runs/<runId>/<file>`. */
export function runIdFromRunFilePath(path: string): string | undefined {
  const match = /[\\/]\.baton[\\/]runs[\\/]([^\\/]+)[\\/][^\\/]+$/.exec(path);
  return match?.[1];
}
