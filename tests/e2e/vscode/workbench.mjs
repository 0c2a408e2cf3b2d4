// What a person does in the VS Code workbench, as playwright-core steps: the command palette,
// input boxes, editor tabs, code actions (Ctrl+.), CodeLenses, editor-title actions, dialogs,
// notifications, saving, and the Baton status-bar item. Every wait polls for what the person
// would see; none sleeps for a fixed time. With a `shots` folder, `shot` keeps a screenshot of
// each step (NN-scenario-step.png) for a person to review what changed on screen.
import { readFile } from "node:fs/promises";
import path from "node:path";

const QUICK_INPUT = ".quick-input-widget";
// The text of the editor in view: a group keeps hidden editors of its other tabs in the DOM.
const EDITOR_LINES = ".editor-group-container.active .monaco-editor .view-lines:visible";

/** A locator filter for an element whose whole text is `title` (spaces around aside). */
function exactly(title) {
  return new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`);
}

export class Workbench {
  /**
   * @param page a playwright Page showing code-server
   * @param options {timeout: ms for one step, log: (message) => void, shots: a folder or "",
   *   scenario: the scenario's name for the screenshots' names}
   */
  constructor(page, { timeout, log, shots = "", scenario = "scenario" }) {
    this.page = page;
    this.timeout = timeout;
    this.log = log;
    this.shots = shots;
    this.scenario = scenario;
    this.shotCount = 0;
  }

  /** Keeps a screenshot of the screen now as NN-<scenario>-<step>.png, when a folder was given. */
  async shot(step) {
    if (!this.shots) {
      return;
    }
    this.shotCount += 1;
    const slug = step.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
    const name = `${String(this.shotCount).padStart(2, "0")}-${this.scenario}-${slug}.png`;
    await this.page.screenshot({ path: path.join(this.shots, name) }).catch((error) => this.log(`no screenshot ${name}: ${error.message}`));
  }

  /** Polls `probe` until it returns a truthy value (returned) or the step's time is up. */
  async until(what, probe, { timeout = this.timeout, every = 250 } = {}) {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value) {
        return value;
      }
      await new Promise((resolve) => setTimeout(resolve, every));
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
  }

  // -- the Baton status-bar item ------------------------------------------------------------

  async statusText() {
    const items = this.page.locator(".statusbar-item").filter({ hasText: "Baton" });
    return (await items.count()) > 0 ? (await items.first().innerText()).trim() : "";
  }

  async statusTooltip() {
    const item = this.page.locator(".statusbar-item").filter({ hasText: "Baton" }).first();
    return (await item.getAttribute("aria-label")) ?? "";
  }

  /** Waits for the status item to read `Baton: <label>`; fails at once on a failed run. */
  async waitForState(label) {
    await this.until(`the status bar to show "Baton: ${label}"`, async () => {
      const text = await this.statusText();
      if (text.includes("Baton: failed") && label !== "failed") {
        throw new Error(`the run failed: ${await this.statusTooltip()}`);
      }
      return text.includes(`Baton: ${label}`);
    });
  }

  async clickStatus(label) {
    await this.page.locator(".statusbar-item").filter({ hasText: `Baton: ${label}` }).first().click();
  }

  /** The Baton status item's background: VS Code paints a warning item with its theme colour. */
  async statusIsWarning() {
    const item = this.page.locator(".statusbar-item").filter({ hasText: "Baton" }).first();
    return ((await item.getAttribute("class")) ?? "").includes("warning-kind");
  }

  // -- dialogs and notifications -------------------------------------------------------------

  dialog() {
    return this.page.locator(".monaco-dialog-box");
  }

  /** The open modal dialog's buttons: their labels, and which one is the default (focused, primary). */
  async dialogButtons() {
    const buttons = this.dialog().locator(".dialog-buttons .monaco-button");
    return buttons.evaluateAll((all) =>
      all.map((b) => ({ label: b.textContent.trim(), primary: !b.classList.contains("secondary"), focused: b === document.activeElement })));
  }

  async clickDialogButton(label) {
    await this.dialog().locator(".dialog-buttons .monaco-button").filter({ hasText: label }).first().click();
    this.log(`clicked "${label}" in the dialog`);
  }

  /** A notification toast whose text includes `text`. */
  toast(text) {
    return this.page.locator(".notifications-toasts .notification-toast").filter({ hasText: text }).first();
  }

  async waitForToast(text) {
    const toast = this.toast(text);
    await toast.waitFor({ state: "visible", timeout: this.timeout });
    return (await toast.innerText()).replaceAll("\n", " ");
  }

  // -- CodeLenses and editor-title actions ---------------------------------------------------

  /** Clicks the CodeLens titled `title` (its text, icons aside) in the editor of tab `tabName`. */
  async clickCodeLens(tabName, title) {
    await this.tab(tabName).click();
    await this.activeTab(tabName);
    const lens = this.page.locator(".editor-group-container.active .codelens-decoration a").filter({ hasText: title }).first();
    await lens.waitFor({ state: "visible", timeout: this.timeout });
    await lens.click();
    this.log(`clicked the CodeLens ${title} in ${tabName}`);
  }

  /** The editor group that shows the tab `tabName`, focused or not. */
  groupShowing(tabName) {
    return this.page.locator(".editor-group-container").filter({ has: this.tab(tabName) }).first();
  }

  /** The text of the CodeLenses in the editor of tab `tabName` (the group need not be active). */
  async codeLensText(tabName) {
    const lenses = this.groupShowing(tabName).locator(".codelens-decoration");
    return (await lenses.count()) > 0 ? (await lenses.first().innerText()).replaceAll("\u00a0", " ") : "";
  }

  /** An action of the active editor's title bar shown as text (a command without an icon). */
  editorTitleAction(title) {
    const exact = exactly(title);
    return this.page.locator(".editor-group-container.active .title .action-label").filter({ hasText: exact }).first();
  }

  /**
   * Fails on an error the extension reported for a server call ("Baton: <action> failed: …"): a
   * command the server refused must not look like a step that worked.
   */
  async assertNoBatonError() {
    const toasts = this.page.locator(".notifications-toasts .notification-toast").filter({ hasText: /Baton: .* failed/ });
    if ((await toasts.count()) > 0) {
      throw new Error(`the extension reported: ${(await toasts.first().innerText()).replaceAll("\n", " ")}`);
    }
  }

  // -- palette, pickers and input boxes -----------------------------------------------------

  async quickInputVisible() {
    return this.page.locator(QUICK_INPUT).isVisible();
  }

  pickRow(text) {
    return this.page.locator(`${QUICK_INPUT} .monaco-list-row`).filter({ hasText: text }).first();
  }

  /** Opens the quick input (F1) holding `text`: ">title" finds a command, a path a file. */
  async quickOpen(text) {
    // Close a leftover picker first; a bare Escape in the editor would also drop the selection a
    // command like Run Task sends along.
    if (await this.quickInputVisible()) {
      await this.page.keyboard.press("Escape");
    }
    await this.page.keyboard.press("F1");
    const input = this.page.locator(`${QUICK_INPUT} input`);
    await input.waitFor({ state: "visible", timeout: this.timeout });
    await input.fill(text);
  }

  /** Runs a palette command by its full title, choosing the exact row rather than the first one. */
  async runCommand(title) {
    await this.quickOpen(`>${title}`);
    const row = this.pickRow(title);
    await row.waitFor({ state: "visible", timeout: this.timeout });
    await row.click();
    this.log(`ran "${title}"`);
  }

  async waitForQuickInput(text) {
    await this.until(`an input box showing "${text}"`, async () =>
      (await this.quickInputVisible()) && (await this.page.locator(QUICK_INPUT).innerText()).includes(text));
  }

  /**
   * Types into the open input box and accepts it. Waits until the box has closed, or shows
   * something else (a prompt that follows at once, such as Baton's question, reuses the widget):
   * VS Code accepts only after the extension's validation ran, and a key pressed before that (the
   * next command's Escape) would cancel the box instead.
   */
  async submitQuickInput(text) {
    const widget = this.page.locator(QUICK_INPUT);
    const before = await widget.innerText();
    await this.page.locator(`${QUICK_INPUT} input`).fill(text);
    await this.page.keyboard.press("Enter");
    await this.until("the input box to close", async () => !(await this.quickInputVisible()) || (await widget.innerText()) !== before);
  }

  // -- editors ------------------------------------------------------------------------------

  tab(name) {
    return this.page.locator(".tabs-container .tab").filter({ hasText: name }).first();
  }

  async activeTab(name) {
    await this.until(`the editor tab "${name}" to be active`, async () => {
      const t = this.tab(name);
      return (await t.count()) > 0 && ((await t.getAttribute("class")) ?? "").includes("active");
    });
  }

  /** Whether the focused editor group shows the tab `name` (the person's focus is there). */
  async focusedGroupShows(name) {
    const group = this.page.locator(".editor-group-container.active");
    return (await group.locator(".tabs-container .tab.active").filter({ hasText: name }).count()) > 0;
  }

  async openFile(relative) {
    await this.quickOpen(relative);
    await this.pickRow(path.basename(relative)).waitFor({ state: "visible", timeout: this.timeout });
    await this.page.keyboard.press("Enter");
    await this.activeTab(path.basename(relative));
    this.log(`opened ${relative}`);
  }

  /** Focuses the text of the editor whose tab is `name`. */
  async focusEditor(name) {
    await this.tab(name).click();
    await this.activeTab(name);
    await this.page.locator(EDITOR_LINES).first().click();
  }

  /** Selects the first `count` lines of the editor whose tab is `name`. */
  async selectLines(name, count) {
    await this.focusEditor(name);
    await this.page.keyboard.press("Control+Home");
    for (let line = 0; line < count; line += 1) {
      await this.page.keyboard.press("Shift+ArrowDown");
    }
  }

  /** The visible editor's text (Monaco renders spaces as no-break spaces). */
  async editorText() {
    const text = await this.page.locator(EDITOR_LINES).first().innerText().catch(() => "");
    return text.replaceAll("\u00a0", " ");
  }

  /** The text of the editor whose tab is `tabName`, in whichever group shows it (focused or not). */
  async tabText(tabName) {
    const text = await this.groupShowing(tabName).locator(".monaco-editor .view-lines:visible").first().innerText().catch(() => "");
    return text.replaceAll("\u00a0", " ");
  }

  /**
   * Waits until the visible editor's text (or with `tabName`, that tab's editor's, focused or
   * not) includes `wanted`; returns that text.
   */
  async waitForEditorText(what, wanted, tabName = undefined) {
    let text = "";
    await this.until(what, async () => {
      text = tabName === undefined ? await this.editorText() : await this.tabText(tabName);
      return text.trim() !== "" && text.includes(wanted);
    }).catch((error) => {
      throw new Error(`${error.message}; the editor shows:\n${text}`);
    });
    return text;
  }

  /**
   * Opens the code actions (Ctrl+.) in the editor of `tabName` and chooses the one titled `title`.
   * `prepare` sets the editor up before each try (default: focus it).
   */
  async chooseCodeAction(tabName, title, { prepare = () => this.focusEditor(tabName) } = {}) {
    const exact = exactly(title);
    const row = this.page.locator(".action-widget .monaco-list-row").filter({ hasText: exact }).first();
    // The server answers code actions once the document is synced: retry Ctrl+. until it shows.
    await this.until(`the "${title}" code action in ${tabName}`, async () => {
      // Each try starts over (focus, and the selection if any): the Escape that closes a list
      // without the action also clears the selection.
      await prepare();
      await this.page.keyboard.press("Control+.");
      try {
        await row.waitFor({ state: "visible", timeout: 2_000 });
        return true;
      } catch {
        await this.page.keyboard.press("Escape");
        return false;
      }
    });
    await row.click();
    this.log(`chose the code action ${title} in ${tabName}`);
  }

  /**
   * Saves `file` (absolute) whenever its editor holds unsaved changes, until the disk shows
   * `expected`. The workspace edit lands in the open buffer when VS Code decides, so this polls
   * instead of guessing a delay.
   */
  async saveUntilOnDisk(file, expected, what) {
    const name = path.basename(file);
    await this.until(what, async () => {
      if ((await readFile(file, "utf8")) === expected) {
        return true;
      }
      const t = this.tab(name);
      if ((await t.count()) > 0 && ((await t.getAttribute("class")) ?? "").includes("dirty")) {
        await this.focusEditor(name);
        await this.page.keyboard.press("Control+S");
      }
      return false;
    });
  }
}
