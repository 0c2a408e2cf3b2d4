// The palette commands (PROTOCOL §7). Their ids are `baton.ui.*` because the language client
// already registers the server's `baton.*` executeCommand ids; each one gathers what the person
// means (a task, a run, a reason) and sends the server command with its one object argument.
import * as vscode from "vscode";
import type { BatonClient } from "./client";
import { allows, ServerCommand, type Action, type Question, type RunArgs, type RunSummary, type Trusted } from "./protocol";
import { appliedOrNot } from "./completion";
import { asText } from "./display";
import { givenRunId } from "./waiting";
import type { RunPicker } from "./runPicker";
import type { RunTracker } from "./runs";
import type { RunsView } from "./tree";

const OTHER_ANSWER = "Other answer…";

export interface CommandContext {
  baton: BatonClient;
  runs: RunTracker;
  picker: RunPicker;
  view: RunsView;
  output: vscode.LogOutputChannel;
}

/** Reports a failed server call (unknown run, wrong state, …) with the server's own message. */
async function guarded<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(`Baton: ${what} failed: ${message}`);
    return undefined;
  }
}

/** The active editor's document and selection, as the `uri`/`range` context of a run. */
async function editorContext(baton: BatonClient): Promise<Pick<RunArgs, "uri" | "range">> {
  const editor = vscode.window.activeTextEditor;
  if (editor?.document.uri.scheme !== "file") {
    return {};
  }
  const uri = await baton.toServerUri(editor.document.uri);
  const selection = editor.selection;
  if (selection.isEmpty) {
    return { uri };
  }
  return {
    uri,
    range: {
      start: { line: selection.start.line, character: selection.start.character },
      end: { line: selection.end.line, character: selection.end.character },
    },
  };
}

export async function startRun(ctx: CommandContext, parentRunId?: string): Promise<string | undefined> {
  const hasSelection = vscode.window.activeTextEditor?.selection.isEmpty === false;
  const task = await vscode.window.showInputBox({
    title: parentRunId === undefined ? "Baton: Run Task" : "Baton: Follow Up",
    prompt: hasSelection ? "What should Baton do? (the selection is sent as context)" : "What should Baton do?",
    placeHolder: "e.g. greet the person by name",
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() === "" ? "Describe the task." : undefined),
  });
  if (task === undefined) {
    return undefined;
  }
  const result = await guarded("starting the run", async () => {
    const args: RunArgs = { task: task.trim(), ...(await editorContext(ctx.baton)) };
    if (parentRunId !== undefined) {
      args.parentRunId = parentRunId;
    }
    return ctx.baton.execute<{ runId: string }>(ServerCommand.run, args);
  });
  return result?.runId;
}

/**
 * The run's waiting question: from its last baton/runChanged, else from `baton.run.show` (a run
 * that was waiting before this window opened).
 */
async function waitingQuestion(ctx: CommandContext, runId: string): Promise<Question | undefined> {
  const known = ctx.runs.get(runId)?.question;
  if (known) {
    return known;
  }
  const shown = await ctx.baton.execute<{ question?: Question | null }>(ServerCommand.show, { runId });
  return shown.question ?? undefined;
}

/**
 * Shows a quick input and resolves with what the person accepted, or undefined when it was
 * dismissed. It closes by itself once the run no longer waits (answered in the message box or
 * from another editor, cancelled), so nobody answers a question that is gone.
 */
function promptWhileWaiting<T>(
  ctx: CommandContext,
  runId: string,
  widget: vscode.QuickInput,
  onAccept: (accept: (value: T) => void) => vscode.Disposable,
): Promise<T | undefined> {
  return new Promise((resolve) => {
    const subscriptions = [
      onAccept((value) => {
        resolve(value);
        widget.hide();
      }),
      widget.onDidHide(() => {
        resolve(undefined);
        subscriptions.forEach((d) => {
          d.dispose();
        });
        widget.dispose();
      }),
      ctx.runs.onDidChange((run) => {
        if (run.runId === runId && !allows(run, "answer")) {
          widget.hide();
        }
      }),
    ];
    widget.show();
  });
}

function askText(ctx: CommandContext, runId: string, text: string): Promise<string | undefined> {
  const box = vscode.window.createInputBox();
  box.title = "Baton asks";
  box.prompt = asText(text);
  box.ignoreFocusOut = true;
  return promptWhileWaiting<string>(ctx, runId, box, (accept) =>
    box.onDidAccept(() => {
      if (box.value.trim() === "") {
        box.validationMessage = "Type your answer.";
        return;
      }
      accept(box.value.trim());
    }),
  );
}

function askChoice(ctx: CommandContext, runId: string, text: string, options: string[]): Promise<string | undefined> {
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { option: string }>();
  pick.title = `Baton asks: ${asText(text)}`;
  pick.ignoreFocusOut = true;
  // Shown as text; the answer is the option as the agent wrote it.
  pick.items = [...options, OTHER_ANSWER].map((option) => ({ label: asText(option), option }));
  return promptWhileWaiting<string>(ctx, runId, pick, (accept) =>
    pick.onDidAccept(() => {
      const [chosen] = pick.selectedItems;
      if (chosen !== undefined) {
        accept(chosen.option);
      }
    }),
  );
}

/** Asks the question of a run awaiting input: a quick pick of its options, or an input box. */
export async function answerQuestion(ctx: CommandContext, runId: string): Promise<void> {
  if (ctx.runs.get(runId)?.permission) {
    await vscode.commands.executeCommand("baton.ui.answerPermission", runId);
    return;
  }
  const question = await guarded("reading the question", () => waitingQuestion(ctx, runId));
  const text = question?.text ?? "The run is waiting for your answer.";
  const options = question?.options ?? [];
  let answer: string | undefined;
  if (options.length > 0) {
    const picked = await askChoice(ctx, runId, text, options);
    if (picked === undefined) {
      return;
    }
    answer = picked === OTHER_ANSWER ? await askText(ctx, runId, text) : picked;
  } else {
    answer = await askText(ctx, runId, text);
  }
  if (answer === undefined) {
    return;
  }
  const reply = answer;
  await guarded("answering", () => ctx.baton.execute(ServerCommand.answer, { runId, answer: reply }));
}

/**
 * Shows the workspace's .baton/config.toml, then trusts it as it is now once the person says so
 * (PROTOCOL §2). Baton also offers this itself, in the message it shows for an untrusted file.
 */
async function trustWorkspaceConfig(ctx: CommandContext): Promise<void> {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (root === undefined) {
    void vscode.window.showErrorMessage("Baton: open a folder first; its .baton/config.toml is what gets trusted.");
    return;
  }
  const file = vscode.Uri.joinPath(root, ".baton", "config.toml");
  try {
    await vscode.window.showTextDocument(file, { preview: true });
  } catch {
    void vscode.window.showErrorMessage(`Baton: there is no ${file.fsPath} to trust.`);
    return;
  }
  const trust = "Trust";
  const choice = await vscode.window.showWarningMessage(
    `Trust ${file.fsPath} as it is on disk now? Its providers, roles, permissions, MCP servers and verify commands will apply. Any later change makes it untrusted again.`,
    { modal: true },
    trust,
  );
  if (choice !== trust) {
    return;
  }
  const result = await guarded("trusting the workspace configuration", () =>
    ctx.baton.execute<Trusted>(ServerCommand.trustWorkspace, {}),
  );
  if (result !== undefined) {
    void vscode.window.showInformationMessage(`Baton trusts ${result.path} now: all of it applies.`);
  }
}

/**
 * Each action the server allows, as the commands that take it: what moves the run on first, then
 * what rejects, stops or undoes it, so Enter in the list never takes a destructive action.
 */
const ACTION_ITEMS: [Action, string, string][] = [
  ["answer_permission", "Answer permission…", "baton.ui.answerPermission"],
  ["accept", "Accept plan", "baton.ui.acceptPlan"],
  ["apply", "Apply changes", "baton.ui.applyChanges"],
  ["answer", "Answer question…", "baton.ui.answerQuestion"],
  ["revise", "Revise plan…", "baton.ui.revisePlan"],
  ["steer", "Steer…", "baton.ui.steerRun"],
  ["followUp", "Follow up…", "baton.ui.followUp"],
];
const DESTRUCTIVE_ITEMS: [Action, string, string][] = [
  ["cancel", "Cancel run", "baton.ui.cancelRun"],
  ["revert", "Revert run", "baton.ui.revertRun"],
];
const KEEP = "Keep the run as it is";

async function runActions(run: RunSummary): Promise<void> {
  const actions: [string, string][] = [];
  for (const [action, label, command] of ACTION_ITEMS) {
    // A waiting permission is mirrored as a question for clients that know only questions.
    if (allows(run, action) && !(action === "answer" && allows(run, "answer_permission"))) {
      actions.push([label, command]);
    }
  }
  if ((run.summary?.files ?? []).length > 0) {
    actions.push(["Show changes", "baton.ui.showChanges"]);
  }
  if (actions.length === 0) {
    actions.push([KEEP, ""]);
  }
  if (allows(run, "reject")) {
    actions.push(run.state === "awaiting_apply" ? ["Reject changes…", "baton.ui.rejectChanges"] : ["Reject plan…", "baton.ui.rejectPlan"]);
  }
  for (const [action, label, command] of DESTRUCTIVE_ITEMS) {
    if (allows(run, action)) {
      actions.push([label, command]);
    }
  }
  const picked = await vscode.window.showQuickPick(
    actions.map(([label, command]) => ({ label, command })),
    { title: `Baton: ${asText(run.task)}` },
  );
  if (picked !== undefined && picked.command !== "") {
    await vscode.commands.executeCommand(picked.command, run.runId);
  }
}

/**
 * A command that acts on one run takes the run id when called with one (from Show Runs, a test,
 * a keybinding's args) and otherwise picks it.
 */
function onRun(
  ctx: CommandContext,
  purpose: string,
  allowed: Action,
  action: (runId: string) => Promise<unknown>,
): (runId?: unknown) => Promise<void> {
  const fits = (run: RunSummary): boolean => allows(run, allowed);
  return async (given?: unknown) => {
    // From a menu of the Baton view the argument is the run's node, which carries its id.
    const runId = givenRunId(given) ?? (await guarded("listing runs", () => ctx.picker.pick(purpose, fits)));
    if (runId !== undefined) {
      await action(runId);
    }
  };
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const { baton } = ctx;
  const send = (what: string, command: Parameters<BatonClient["execute"]>[0], argument: object) =>
    guarded(what, () => baton.execute(command, argument));

  const table: Record<string, (...args: unknown[]) => Promise<unknown>> = {
    "baton.ui.runTask": () => startRun(ctx),
    "baton.ui.acceptPlan": onRun(ctx, "awaiting approval", "accept", (runId) =>
      send("accepting the plan", ServerCommand.accept, { runId }),
    ),
    "baton.ui.rejectPlan": onRun(ctx, "awaiting approval", "reject", async (runId) => {
      const reason = await vscode.window.showInputBox({ title: "Baton: Reject Plan", prompt: "Why? (optional)" });
      if (reason !== undefined) {
        await send("rejecting the plan", ServerCommand.reject, reason.trim() ? { runId, reason: reason.trim() } : { runId });
      }
    }),
    "baton.ui.revisePlan": onRun(ctx, "awaiting approval", "revise", async (runId) => {
      const feedback = await vscode.window.showInputBox({
        title: "Baton: Revise Plan",
        prompt: "What should the planner change?",
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() === "" ? "Say what to change." : undefined),
      });
      if (feedback !== undefined) {
        await send("revising the plan", ServerCommand.revise, { runId, feedback: feedback.trim() });
      }
    }),
    "baton.ui.applyChanges": onRun(ctx, "holding changes to apply", "apply", async (runId) => {
      const outcome = appliedOrNot(ctx.runs, runId);
      if ((await send("applying the changes", ServerCommand.applyEdits, { runId })) !== undefined) {
        await outcome;
      }
    }),
    "baton.ui.rejectChanges": onRun(ctx, "holding changes to apply", "apply", async (runId) => {
      const reason = await vscode.window.showInputBox({ title: "Baton: Reject Changes", prompt: "Why? (optional)" });
      if (reason !== undefined) {
        await send("rejecting the changes", ServerCommand.rejectEdits, reason.trim() ? { runId, reason: reason.trim() } : { runId });
      }
    }),
    "baton.ui.cancelRun": onRun(ctx, "running", "cancel", (runId) => send("cancelling", ServerCommand.cancel, { runId })),
    "baton.ui.revertRun": onRun(ctx, "finished to revert", "revert", (runId) =>
      send("reverting", ServerCommand.revert, { runId }),
    ),
    "baton.ui.answerQuestion": onRun(ctx, "waiting for an answer", "answer", (runId) => answerQuestion(ctx, runId)),
    "baton.ui.steerRun": onRun(ctx, "running", "steer", async (runId) => {
      const message = await vscode.window.showInputBox({
        title: "Baton: Steer Run",
        prompt: "A note the working agent reads at its next turn",
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() === "" ? "Write the note." : undefined),
      });
      if (message !== undefined) {
        await send("steering", ServerCommand.steer, { runId, message: message.trim() });
      }
    }),
    "baton.ui.followUp": onRun(ctx, "to follow up", "followUp", (runId) => startRun(ctx, runId)),
    "baton.ui.showRuns": async () => {
      const runs = await guarded("listing runs", () => ctx.picker.list());
      if (runs === undefined) {
        return;
      }
      if (runs.length === 0) {
        void vscode.window.showInformationMessage("Baton: no runs yet. Start one with “Baton: Run Task”.");
        return;
      }
      const chosen = await vscode.window.showQuickPick(runs.map((run) => ctx.picker.toItem(run)), {
        title: "Baton: runs",
        matchOnDescription: true,
        matchOnDetail: true,
      });
      const run = runs.find((r) => r.runId === chosen?.runId);
      if (run !== undefined) {
        await ctx.view.show(run.runId);
        await runActions(run);
      }
    },
    "baton.ui.trustWorkspace": () => trustWorkspaceConfig(ctx),
    "baton.ui.showLog": () => {
      ctx.output.show(true);
      return Promise.resolve();
    },
  };
  return Object.entries(table).map(([id, handler]) => vscode.commands.registerCommand(id, handler));
}
