// The selection code actions (`Ask Baton about this selection`, `Baton: edit this selection…`)
// come from the server without a task: the client asks the person for it (PROTOCOL §4) before
// the command reaches the server.
import * as vscode from "vscode";

export const SELECTION_COMMANDS: ReadonlySet<string> = new Set(["baton.selection.ask", "baton.selection.edit"]);

/**
 * The command's arguments with `task` filled in from an input box; undefined when the person
 * dismissed the box. An empty question about a selection means "explain it" (the server's default).
 */
export async function withSelectionTask(command: string, args: unknown[]): Promise<unknown[] | undefined> {
  const [first] = args;
  const arg: Record<string, unknown> = typeof first === "object" && first !== null ? { ...(first as Record<string, unknown>) } : {};
  if (typeof arg["task"] === "string" && arg["task"].trim() !== "") {
    return args;
  }
  const asking = command === "baton.selection.ask";
  const task = await vscode.window.showInputBox({
    title: asking ? "Ask Baton about this selection" : "Baton: edit this selection",
    prompt: asking ? "Your question (leave empty to have the selection explained)" : "What should change in the selection?",
    ignoreFocusOut: true,
    validateInput: (value) => (!asking && value.trim() === "" ? "Say what to change." : undefined),
  });
  if (task === undefined) {
    return undefined;
  }
  if (task.trim() !== "") {
    arg["task"] = task.trim();
  }
  return [arg, ...args.slice(1)];
}
