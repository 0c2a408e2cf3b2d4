// Starts `baton serve` over stdio for every `file:` document and carries the extension's calls to
// it. The language client registers the server's own executeCommand ids (baton.plan.accept, ...)
// as VS Code commands for code actions; the extension's palette commands therefore have their
// own ids and reach the server through `execute` below.
import * as path from "node:path";
import * as vscode from "vscode";
import {
  CancellationToken,
  ExecuteCommandRequest,
  LanguageClient,
  State,
  type ApplyWorkspaceEditParams,
  type ClientCapabilities,
  type FeatureState,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
} from "vscode-languageclient/node";
import { RUN_CHANGED, type RunChanged, type ServerCommandName } from "./protocol";
import { SELECTION_COMMANDS, withSelectionTask } from "./selection";

export interface ServerSettings {
  command: string;
  env: NodeJS.ProcessEnv;
  cwd: string | undefined;
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** A path with a separator but not absolute is taken relative to the workspace root. */
function resolveSetting(value: string, root: string | undefined): string {
  if (root === undefined || path.isAbsolute(value) || !/[\\/]/.test(value)) {
    return value;
  }
  return path.join(root, value);
}

export function readServerSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration("baton");
  const root = workspaceRoot();
  const serverPath = config.get<string>("serverPath", "baton").trim() || "baton";
  const configPath = config.get<string>("configPath", "").trim();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (configPath !== "") {
    env["BATON_CONFIG"] = path.isAbsolute(configPath) || root === undefined ? configPath : path.join(root, configPath);
  }
  return { command: resolveSetting(serverPath, root), env, cwd: root };
}

/** What the extension does itself with two of the server's requests. */
export interface ClientHooks {
  /** Wraps VS Code's application of one of Baton's workspace edits (`next` applies it). */
  applyEdit<T>(params: ApplyWorkspaceEditParams, next: () => Promise<T>): Promise<T>;
  /** Shows a document the server asks to show; undefined leaves it to the language client. */
  showDocument(uri: vscode.Uri, takeFocus: boolean): Promise<boolean> | undefined;
}

/**
 * What the extension shows itself instead of what the language client would: Baton's prompts
 * (so the server sends no window/showMessageRequest for permissions and option questions) and
 * the run's state (so the server's work-done progress does not become a second, spinning status
 * item with internal state names). Registered after the built-in features, so it has the last word.
 */
class BatonUiFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), batonPrompts: true };
    if (capabilities.window !== undefined) {
      capabilities.window.workDoneProgress = false;
    }
  }

  initialize(): void {
    // Nothing to set up: the capabilities are the whole feature.
  }

  getState(): FeatureState {
    return { kind: "static" };
  }

  clear(): void {
    // Nothing to clear.
  }
}

export class BatonClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly runChanged = new vscode.EventEmitter<RunChanged>();
  readonly onRunChanged = this.runChanged.event;
  private readonly started = new vscode.EventEmitter<void>();
  /**
   * Fires each time a server answered `initialize`: the first start, a restart for a settings
   * change, the language client's own restart after a crash. It fires before that server's first
   * notice is handled, so what earlier servers said can be told from what this one says.
   */
  readonly onDidStart = this.started.event;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly hooks: ClientHooks,
  ) {}

  /**
   * Starts the server if it is not running; resolves once it answered `initialize`. Concurrent
   * callers share one start, and a client that is restarting after a crash is waited for, not
   * duplicated. A client whose start failed (a wrong `baton.serverPath`, say) cannot start again,
   * so the next call builds a new one.
   */
  async ready(): Promise<LanguageClient> {
    if (this.client === undefined || this.client.state === State.StartFailed) {
      const failed = this.client;
      this.client = this.create();
      failed?.dispose().catch(() => undefined);
    }
    const client = this.client;
    await client.start();
    return client;
  }

  private create(): LanguageClient {
    const settings = readServerSettings();
    const serverOptions: ServerOptions = {
      command: settings.command,
      // No `transport`: TransportKind.stdio would append `--stdio`, which `baton serve` does not take
      // (stdio is its default).
      args: ["serve"],
      options: { env: settings.env, ...(settings.cwd === undefined ? {} : { cwd: settings.cwd }) },
    };
    const clientOptions: LanguageClientOptions = {
      // Every file document, any language (plan.md included: its code actions come from Baton).
      documentSelector: [{ scheme: "file" }],
      outputChannel: this.output,
      traceOutputChannel: this.output,
      middleware: {
        // Server commands run from code actions pass through here; the selection ones need a task.
        executeCommand: async (command, args, next): Promise<unknown> => {
          if (!SELECTION_COMMANDS.has(command)) {
            return (await next(command, args)) as unknown;
          }
          const completed = await withSelectionTask(command, args);
          return completed === undefined ? undefined : ((await next(command, completed)) as unknown);
        },
        workspace: {
          handleApplyEdit: (params, next) => this.hooks.applyEdit(params, () => Promise.resolve(next(params, CancellationToken.None))),
        },
        window: {
          showDocument: async (params, token, next) => {
            const shown = params.external === true ? undefined : this.hooks.showDocument(vscode.Uri.parse(params.uri), params.takeFocus === true);
            return shown === undefined ? next(params, token) : { success: await shown };
          },
        },
      },
    };
    // The id "baton" makes the client read the `baton.trace.server` setting.
    const client = new LanguageClient("baton", "Baton", serverOptions, clientOptions);
    client.registerFeature(new BatonUiFeature());
    client.onNotification(RUN_CHANGED, (params: RunChanged) => {
      this.runChanged.fire(params);
    });
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Running) {
        this.started.fire();
      }
    });
    this.output.info(`starting ${settings.command} serve`);
    return client;
  }

  /** Sends one of Baton's commands with its single object argument. */
  async execute<T>(command: ServerCommandName, argument: object): Promise<T> {
    const client = await this.ready();
    const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
      command,
      arguments: [argument],
    });
    return result as T;
  }

  /** The LSP URI string for a VS Code URI, as the server expects it. */
  async toServerUri(uri: vscode.Uri): Promise<string> {
    const client = await this.ready();
    return client.code2ProtocolConverter.asUri(uri);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.ready();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      // A client whose start failed has no server to stop and says so: nothing left to clean up.
      await client.dispose().catch((error: unknown) => {
        this.output.debug(`stopping the client: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  }

  dispose(): void {
    void this.stop();
    this.runChanged.dispose();
    this.started.dispose();
  }
}
