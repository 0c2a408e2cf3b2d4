// What each run's workspace edits touched in this window: for every file, whether the person had
// it open (a tab) before Baton's first edit to it, and its text before that edit. The first
// decides what `baton.saveEditedFiles` saves once the run is done ("unopened": the files Baton
// opened, so a 20-file change does not leave 20 unsaved background tabs while "done" suggests the
// work is on disk; "all"; "never"); the second is what "Show Changes" compares the files with.
import * as vscode from "vscode";
import type { ApplyWorkspaceEditParams } from "vscode-languageclient/node";

type SavePolicy = "unopened" | "all" | "never";

interface Touched {
  wasOpen: boolean;
  before: string;
}

/** `Baton run <id>` or `Baton run <id> (revert)`: the label every Baton edit carries. */
const LABEL = /^Baton run (\S+)( \(revert\))?$/;
/** `Baton run <id>: plan.md accepted`: Baton's note in its own document that it was answered. */
const SETTLED = /^Baton run \S+: \S+ [a-z]+$/;

function hasTab(uri: vscode.Uri): boolean {
  const key = uri.toString();
  return vscode.window.tabGroups.all.some((group) =>
    group.tabs.some((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === key),
  );
}

/** The file URIs a workspace edit writes (text edits, created and renamed-to files). */
function touchedUris(params: ApplyWorkspaceEditParams): string[] {
  const uris: string[] = [];
  for (const change of params.edit.documentChanges ?? []) {
    if ("textDocument" in change) {
      uris.push(change.textDocument.uri);
    } else if (change.kind === "create") {
      uris.push(change.uri);
    } else if (change.kind === "rename") {
      uris.push(change.newUri);
    }
  }
  return [...uris, ...Object.keys(params.edit.changes ?? {})];
}

async function currentText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === uri.toString());
  if (open !== undefined) {
    return open.getText();
  }
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return ""; // a file the edit creates
  }
}

export class EditedFiles {
  private readonly byRun = new Map<string, Map<string, Touched>>();
  /** When this window began (epoch seconds, the server's clock: it runs on this host). */
  private readonly since = Date.now() / 1000;

  /**
   * Wraps the application of one workspace edit: notes what it touches first; a revert (the run
   * is over by then) is saved right after it landed, by the same policy.
   */
  async apply<T>(params: ApplyWorkspaceEditParams, next: () => Promise<T>): Promise<T> {
    if (SETTLED.test(params.label ?? "")) {
      return this.keepSaved(params, next);
    }
    const match = LABEL.exec(params.label ?? "");
    if (match?.[1] === undefined) {
      return next();
    }
    const runId = match[1];
    const reverting = match[2] !== undefined;
    const touched = reverting ? new Map<string, Touched>() : this.forRun(runId);
    try {
      for (const raw of touchedUris(params)) {
        const uri = vscode.Uri.parse(raw, true);
        const key = uri.toString(); // the server's spelling of a URI may differ from VS Code's
        if (!touched.has(key)) {
          touched.set(key, { wasOpen: hasTab(uri), before: await currentText(uri) });
        }
      }
    } catch {
      // What is noted serves saving and Show Changes: it never stands in the edit's way.
    }
    const result = await next();
    if (reverting) {
      await this.save(touched).catch(() => undefined);
    }
    return result;
  }

  /**
   * A run document that was saved stays saved once Baton noted in it that it was answered (an
   * unsaved tab would ask the person about Baton's words); one with the person's unsaved edits
   * stays unsaved, theirs to save.
   */
  private async keepSaved<T>(params: ApplyWorkspaceEditParams, next: () => Promise<T>): Promise<T> {
    let saved: vscode.TextDocument[] = [];
    try {
      const keys = new Set(touchedUris(params).map((raw) => vscode.Uri.parse(raw, true).toString()));
      saved = vscode.workspace.textDocuments.filter((doc) => keys.has(doc.uri.toString()) && !doc.isDirty);
    } catch {
      // A URI that does not parse: the edit goes on, nothing is saved.
    }
    const result = await next();
    for (const doc of saved) {
      await Promise.resolve(doc.save()).catch(() => false);
    }
    return result;
  }

  private forRun(runId: string): Map<string, Touched> {
    let touched = this.byRun.get(runId);
    if (touched === undefined) {
      touched = new Map();
      this.byRun.set(runId, touched);
    }
    return touched;
  }

  /**
   * The files the run edited in this window, with their text before its first edit; undefined
   * for a run that began before this window: its earlier edits went by unseen, so the text noted
   * here is not what its files had before it, and a diff against it would be wrong.
   */
  changes(run: { runId: string; createdAt?: number | null }): { uri: vscode.Uri; before: string }[] | undefined {
    if ((run.createdAt ?? 0) < this.since) {
      return undefined;
    }
    return [...(this.byRun.get(run.runId) ?? new Map<string, Touched>()).entries()].map(([raw, t]) => ({ uri: vscode.Uri.parse(raw), before: t.before }));
  }

  /** A file's text before the run's first edit to it ("" when it was not noted). */
  before(runId: string, uri: string): string {
    return this.byRun.get(runId)?.get(uri)?.before ?? "";
  }

  /** The run is done: saves what `baton.saveEditedFiles` says. */
  async runDone(runId: string): Promise<void> {
    await this.save(this.byRun.get(runId));
  }

  /** Saves every unsaved document the run edited (the person chose "Save All"). */
  async saveAll(runId: string): Promise<number> {
    return this.saveWhere(this.byRun.get(runId), () => true);
  }

  private async save(touched: Map<string, Touched> | undefined): Promise<void> {
    const policy = vscode.workspace.getConfiguration("baton").get<SavePolicy>("saveEditedFiles", "unopened");
    if (policy !== "never") {
      await this.saveWhere(touched, (t) => policy === "all" || !t.wasOpen);
    }
  }

  private async saveWhere(touched: Map<string, Touched> | undefined, chosen: (t: Touched) => boolean): Promise<number> {
    let saved = 0;
    for (const [raw, t] of touched ?? []) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === raw);
      // A save that fails (a read-only file, a full disk) leaves the file unsaved, as it was.
      if (chosen(t) && doc?.isDirty === true && (await Promise.resolve(doc.save()).catch(() => false))) {
        saved += 1;
      }
    }
    return saved;
  }
}
