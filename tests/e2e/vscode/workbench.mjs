// What a person does in the VS Code workbench, as playwright-core steps: the command palette,
// input boxes, editor tabs, code actions (Ctrl+.), saving, and the Baton status-bar item.
// Every wait polls for what the person would see; none sleeps for a fixed time.
import { readFile } from "node:fs/promises";
import path from "node:path";

const QUICK_INPUT = ".quick-input-widget";
// The text of the editor in view: a group keeps hidden editors of its other tabs in the DOM.
const EDITOR_LINES = ".editor-group-container.active .monaco-editor .view-lines:visible";

export class Workbench {
  /**
   * @param page a playwright Page showing code-server
   * @param options {timeout: ms for one step, log: (message) => void}
   */
  constructor(page, { timeout, log }) {
    this.page = page;
    this.timeout = timeout;
    this.log = log;
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

  /** Runs a palette command by its full title, choosing the exact row rather than the first one. */
  async runCommand(title) {
    // Close a leftover picker first; a bare Escape in the editor would also drop the selection a
    // command like Run Task sends along.
    if (await this.quickInputVisible()) {
      await this.page.keyboard.press("Escape");
    }
    await this.page.keyboard.press("F1");
    const input = this.page.locator(`${QUICK_INPUT} input`);
    await input.waitFor({ state: "visible", timeout: this.timeout });
    await input.fill(`>${title}`);
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
   * Types into the open input box and accepts it. Waits until the box has closed: VS Code accepts
   * only after the extension's validation ran, and a key pressed before that (the next command's
   * Escape) would cancel the box instead.
   */
  async submitQuickInput(text) {
    await this.page.locator(`${QUICK_INPUT} input`).fill(text);
    await this.page.keyboard.press("Enter");
    await this.until("the input box to close", async () => !(await this.quickInputVisible()));
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

  async openFile(relative) {
    if (await this.quickInputVisible()) {
      await this.page.keyboard.press("Escape");
    }
    await this.page.keyboard.press("F1");
    const input = this.page.locator(`${QUICK_INPUT} input`);
    await input.waitFor({ state: "visible", timeout: this.timeout });
    await input.fill(relative);
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

  /** Waits until the visible editor's text includes `wanted`; returns that text. */
  async waitForEditorText(what, wanted) {
    let text = "";
    await this.until(what, async () => {
      text = await this.editorText();
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
    const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`);
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
