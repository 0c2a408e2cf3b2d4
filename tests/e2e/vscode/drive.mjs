// Drives a real VS Code (code-server) in Debian's Chromium, as a person would, through the
// Baton extension: run a task, see the plan, accept it with the code action (Ctrl+.), check the
// file's new content on disk after saving, find the reviewer's finding in the Problems panel, open
// the run from the status bar (Show Runs), then revert the run and check the original is back.
//
// A second scenario ("interactive") covers the person staying in the loop: a planner question with
// options answered in VS Code's message box (window/showMessageRequest), the plan accepted with the
// palette command, an implementer's free-text question prompted in an input box, a steer note, the
// answer given with `Baton: Answer Question`, a follow-up run, and a question about a selection
// asked through its code action (the extension prompts for the text). A third ("review") runs in
// review edit mode: the changes wait in changes.diff, `Apply changes` sends them, and VS Code's
// Refactor Preview confirms them.
//
// Started by tests/e2e/test_vscode.py, which prepares the workspace and code-server and passes a
// JSON description of the scenario as the only argument:
//   {kind: "accept-revert" | "interactive" | "review", url, workspace, file, task, planIncludes, expected,
//    original, chromium, artifacts, timeoutMs, finding (accept-revert: a review finding's message),
//    and for "interactive": choice: {question, option}, freeText: {question, answer}, steer, followUp,
//    selectLines, selectionQuestion}
// Exit 0 when every step passed; otherwise prints the failed step and leaves a screenshot.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

const scenario = JSON.parse(process.argv[2] ?? "{}");
const STEP_TIMEOUT = scenario.timeoutMs ?? 30_000;
const QUICK_INPUT = ".quick-input-widget";
// The text of the editor in view: a group keeps hidden editors of its other tabs in the DOM.
const EDITOR_LINES = ".editor-group-container.active .monaco-editor .view-lines:visible";
const started = Date.now();

function log(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[vscode-e2e ${seconds}s] ${message}\n`);
}

/** Polls `probe` until it returns a truthy value or the deadline passes; never a fixed sleep. */
async function until(what, probe, { timeout = STEP_TIMEOUT, every = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) {
      return last;
    }
    await new Promise((resolve) => setTimeout(resolve, every));
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
}

async function diskText() {
  return readFile(path.join(scenario.workspace, scenario.file), "utf8");
}

async function statusText(page) {
  const items = page.locator(".statusbar-item").filter({ hasText: "Baton" });
  return (await items.count()) > 0 ? (await items.first().innerText()).trim() : "";
}

async function statusTooltip(page) {
  const item = page.locator(".statusbar-item").filter({ hasText: "Baton" }).first();
  return (await item.getAttribute("aria-label")) ?? "";
}

/** Waits for the Baton status item to read `Baton: <state>`; fails early on a failed run. */
async function waitForState(page, state) {
  await until(`the status bar to show "Baton: ${state}"`, async () => {
    const text = await statusText(page);
    if (text.includes("Baton: failed") && state !== "failed") {
      throw new Error(`the run failed: ${await statusTooltip(page)}`);
    }
    return text.includes(`Baton: ${state}`);
  });
}

async function quickInputVisible(page) {
  return page.locator(QUICK_INPUT).isVisible();
}

/**
 * Fails on an error the extension reported for a server call ("Baton: <action> failed: …"): a
 * command the server refused must not look like a step that worked.
 */
async function assertNoBatonError(page) {
  const toasts = page.locator(".notifications-toasts .notification-toast").filter({ hasText: /Baton: .* failed/ });
  if ((await toasts.count()) > 0) {
    throw new Error(`the extension reported: ${(await toasts.first().innerText()).replaceAll("\n", " ")}`);
  }
}

/** Runs a palette command by its full title, choosing the exact row rather than the first one. */
async function runCommand(page, title) {
  // Close a leftover picker first; a bare Escape in the editor would also drop the selection a
  // command like Run Task sends along.
  if (await quickInputVisible(page)) {
    await page.keyboard.press("Escape");
  }
  await page.keyboard.press("F1");
  const input = page.locator(`${QUICK_INPUT} input`);
  await input.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await input.fill(`>${title}`);
  const row = page.locator(`${QUICK_INPUT} .monaco-list-row`).filter({ hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await row.click();
  log(`ran "${title}"`);
}

async function openFile(page, relative) {
  await page.keyboard.press("Escape");
  await page.keyboard.press("F1");
  const input = page.locator(`${QUICK_INPUT} input`);
  await input.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await input.fill(relative);
  const row = page.locator(`${QUICK_INPUT} .monaco-list-row`).filter({ hasText: path.basename(relative) }).first();
  await row.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await page.keyboard.press("Enter");
  await activeTab(page, path.basename(relative));
  log(`opened ${relative}`);
}

function tab(page, name) {
  return page.locator(".tabs-container .tab").filter({ hasText: name }).first();
}

async function activeTab(page, name) {
  await until(`the editor tab "${name}" to be active`, async () => {
    const t = tab(page, name);
    return (await t.count()) > 0 && ((await t.getAttribute("class")) ?? "").includes("active");
  });
}

/** Focuses the text of the editor whose tab is `name`. */
async function focusEditor(page, name) {
  await tab(page, name).click();
  await activeTab(page, name);
  await page.locator(EDITOR_LINES).first().click();
}

/**
 * Saves the file whenever its editor holds unsaved changes, until the disk shows `expected`.
 * The workspace edit lands in the open buffer (VS Code decides when), so this polls instead of
 * guessing a delay.
 */
async function saveUntilOnDisk(page, expected, what) {
  await until(what, async () => {
    if ((await diskText()) === expected) {
      return true;
    }
    const t = tab(page, path.basename(scenario.file));
    if ((await t.count()) > 0 && ((await t.getAttribute("class")) ?? "").includes("dirty")) {
      await focusEditor(page, path.basename(scenario.file));
      await page.keyboard.press("Control+S");
    }
    return false;
  });
}

/** Opens the code actions (Ctrl+.) in the editor of `tabName` and chooses the one titled `title`. */
async function chooseCodeAction(page, tabName, title, { prepare = () => focusEditor(page, tabName) } = {}) {
  const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`);
  const row = page.locator(".action-widget .monaco-list-row").filter({ hasText: exact }).first();
  // The server answers code actions once the document is synced: retry Ctrl+. until the action shows.
  await until(`the "${title}" code action in ${tabName}`, async () => {
    // Each try starts over (focus, and the selection if any): the Escape that closes a list
    // without the action also clears the selection.
    await prepare();
    await page.keyboard.press("Control+.");
    try {
      await row.waitFor({ state: "visible", timeout: 2_000 });
      return true;
    } catch {
      await page.keyboard.press("Escape");
      return false;
    }
  });
  await row.click();
  log(`chose the code action ${title} in ${tabName}`);
}

/** Run a task, see the plan, accept it with the code action, check disk after save, revert. */
async function acceptRevert(page, setStep) {
  setStep("running Baton: Run Task");
  await startTask(page, scenario.task);

  setStep("waiting for the plan");
  await waitForPlan(page);

  setStep("accepting the plan through the code action");
  await chooseCodeAction(page, "plan.md", "Accept plan");
  await waitForState(page, "done");

  setStep("saving the edited file and checking it on disk");
  await saveUntilOnDisk(page, scenario.expected, `${scenario.file} to hold the new content on disk`);
  log(`${scenario.file} has the new content on disk`);

  setStep("finding the reviewer's finding in the Problems panel");
  await runCommand(page, "Problems: Focus on Problems View");
  await until(`the Problems panel to list "${scenario.finding}"`, async () => {
    const panel = page.locator(".markers-panel");
    return (await panel.count()) > 0 && (await panel.first().innerText()).includes(scenario.finding);
  });
  log("the reviewer's finding is in the Problems panel");

  setStep("showing the run from the status bar (Baton: Show Runs)");
  await page.locator(".statusbar-item").filter({ hasText: "Baton: done" }).first().click();
  const runRow = page.locator(`${QUICK_INPUT} .monaco-list-row`).filter({ hasText: scenario.task }).first();
  await runRow.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await runRow.click();
  await until("the run view to show the run", async () => {
    const shown = (await page.locator(EDITOR_LINES).first().innerText().catch(() => "")).replaceAll("\u00a0", " ");
    return shown.includes("# Baton run") && shown.includes(scenario.task);
  });
  const revertAction = page.locator(`${QUICK_INPUT} .monaco-list-row`).filter({ hasText: "Revert run" }).first();
  await revertAction.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await page.keyboard.press("Escape");
  log("Show Runs listed the run, showed it and offered Revert run");

  setStep("running Baton: Revert Run");
  await runCommand(page, "Baton: Revert Run");
  await saveUntilOnDisk(page, scenario.original, `${scenario.file} to be back to its original content on disk`);
  await assertNoBatonError(page);
  log(`${scenario.file} is back to its original content on disk`);
}

/**
 * Review mode: the changes wait in changes.diff; `Apply changes` (code action) sends them, and
 * VS Code's Refactor Preview lets the person confirm them before they land.
 */
async function review(page, setStep) {
  setStep("running Baton: Run Task");
  await startTask(page, scenario.task);

  setStep("waiting for the plan");
  await waitForPlan(page);

  setStep("accepting the plan through the code action");
  await chooseCodeAction(page, "plan.md", "Accept plan");

  setStep("waiting for the changes to review");
  await waitForState(page, "changes to apply");
  await until('the "changes.diff" tab', async () => (await tab(page, "changes.diff").count()) > 0);
  if ((await diskText()) !== scenario.original) {
    throw new Error(`${scenario.file} changed on disk before the changes were applied`);
  }

  setStep("applying the changes through the code action");
  await chooseCodeAction(page, "changes.diff", "Apply changes");

  setStep("confirming the edit in VS Code's Refactor Preview");
  const apply = page.locator(".bulk-edit-panel .buttons .monaco-button").filter({ hasText: /^Apply$/ }).first();
  const shown = await until("the Refactor Preview (or the run to end without it)", async () => {
    if (await apply.isVisible()) {
      return "preview";
    }
    return (await statusText(page)).includes("Baton: done") ? "landed" : false;
  });
  if (shown === "landed") {
    throw new Error("the edit landed without VS Code's Refactor Preview: the server's workspace edit did not ask for confirmation (change annotation needsConfirmation)");
  }
  // Edits that need confirmation start unchecked: the person ticks the file (all its edits).
  const fileBox = page.locator(".bulk-edit-panel .monaco-tl-contents .edit-checkbox").first();
  await fileBox.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  if (!((await fileBox.getAttribute("class")) ?? "").includes("checked")) {
    await fileBox.click();
  }
  await until("every edit in the Refactor Preview to be checked", async () => {
    const classes = await page.locator(".bulk-edit-panel .monaco-tl-contents .edit-checkbox").evaluateAll((boxes) => boxes.map((b) => b.className));
    return classes.length > 0 && classes.every((c) => c.split(/\s+/).includes("checked"));
  });
  await page.screenshot({ path: path.join(scenario.artifacts ?? ".", "vscode-review-preview.png") });
  await apply.click();
  log("confirmed the edit in the Refactor Preview");
  await waitForState(page, "done");
  await assertNoBatonError(page);

  setStep("saving the edited file and checking it on disk");
  await saveUntilOnDisk(page, scenario.expected, `${scenario.file} to hold the new content on disk`);
  log(`${scenario.file} has the new content on disk`);
}

/**
 * The person in the loop: a question with options answered in the message box; the plan accepted
 * with the palette command; a free-text question whose input box the person first dismisses to
 * steer the run, then answers with `Baton: Answer Question`; then a follow-up run.
 */
async function interactive(page, setStep) {
  const selectLines = async () => {
    await focusEditor(page, path.basename(scenario.file));
    await page.keyboard.press("Control+Home");
    for (let line = 0; line < scenario.selectLines; line += 1) {
      await page.keyboard.press("Shift+ArrowDown");
    }
  };
  setStep("running Baton: Run Task with a selection");
  await selectLines();
  await startTask(page, scenario.task);

  setStep(`answering "${scenario.choice.question}" in the message box`);
  const toast = page.locator(".notifications-toasts .notification-toast").filter({ hasText: scenario.choice.question }).first();
  await toast.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await waitForState(page, "question waiting");
  await toast.locator(".monaco-button").filter({ hasText: scenario.choice.option }).first().click();
  log(`chose "${scenario.choice.option}" in the message box`);

  setStep("waiting for the plan");
  await waitForPlan(page);

  setStep("accepting the plan with the palette command");
  await runCommand(page, "Baton: Accept Plan");
  await assertNoBatonError(page);

  setStep(`seeing "${scenario.freeText.question}" prompted in an input box`);
  await waitForQuickInput(page, scenario.freeText.question);
  await page.keyboard.press("Escape");
  await waitForState(page, "question waiting");

  setStep("steering the run with Baton: Steer Run");
  await runCommand(page, "Baton: Steer Run");
  await waitForQuickInput(page, "A note the working agent reads");
  await submitQuickInput(page, scenario.steer);
  await assertNoBatonError(page);
  log(`steered: "${scenario.steer}"`);

  setStep("answering with Baton: Answer Question");
  await runCommand(page, "Baton: Answer Question");
  await waitForQuickInput(page, scenario.freeText.question);
  await submitQuickInput(page, scenario.freeText.answer);
  log(`answered "${scenario.freeText.answer}"`);
  await waitForState(page, "done");
  await assertNoBatonError(page);

  setStep("saving the edited file and checking it on disk");
  await saveUntilOnDisk(page, scenario.expected, `${scenario.file} to hold the new content on disk`);
  log(`${scenario.file} has the new content on disk`);

  setStep("following up with Baton: Follow Up");
  await runCommand(page, "Baton: Follow Up");
  await waitForQuickInput(page, "What should Baton do?");
  await submitQuickInput(page, scenario.followUp);
  await activeTab(page, "answer.md");
  await waitForState(page, "done");
  await assertNoBatonError(page);
  log("the follow-up answered in answer.md");

  setStep("asking about a selection through its code action");
  await chooseCodeAction(page, path.basename(scenario.file), "Ask Baton about this selection", { prepare: selectLines });
  await waitForQuickInput(page, "Your question");
  await submitQuickInput(page, scenario.selectionQuestion);
  // The new answer.md may reuse the preview tab of the last one: tell them apart by their text.
  await until("the answer.md of the selection question", async () => {
    const shown = (await page.locator(EDITOR_LINES).first().innerText().catch(() => "")).replaceAll("\u00a0", " ");
    return shown.includes(scenario.selectionQuestion);
  });
  await waitForState(page, "done");
  await assertNoBatonError(page);
  log("the selection question answered in answer.md");
}

/**
 * Types into the open input box and accepts it. Waits until the box has closed: VS Code accepts
 * only after the extension's validation ran, and a key pressed before that (the next command's
 * Escape) would cancel the box instead.
 */
async function submitQuickInput(page, text) {
  await page.locator(`${QUICK_INPUT} input`).fill(text);
  await page.keyboard.press("Enter");
  await until("the input box to close", async () => !(await quickInputVisible(page)));
}

async function waitForQuickInput(page, text) {
  await until(`an input box showing "${text}"`, async () => (await quickInputVisible(page)) && (await page.locator(QUICK_INPUT).innerText()).includes(text));
}

async function startTask(page, task) {
  await runCommand(page, "Baton: Run Task");
  await waitForQuickInput(page, "What should Baton do?");
  await submitQuickInput(page, task);
}

async function waitForPlan(page) {
  await waitForState(page, "plan to review");
  await activeTab(page, "plan.md");
  // The editor renders the document a moment after its tab turns active: poll its text.
  const lines = page.locator(EDITOR_LINES).first();
  const wanted = scenario.planIncludes ?? "";
  let planText = "";
  await until(`plan.md to show ${wanted ? `"${wanted}"` : "its text"}`, async () => {
    // Monaco renders spaces as no-break spaces.
    planText = (await lines.innerText()).replaceAll("\u00a0", " ");
    return planText.trim() !== "" && planText.includes(wanted);
  }).catch((error) => {
    throw new Error(`${error.message}; the editor shows:\n${planText}`);
  });
  await page.screenshot({ path: path.join(scenario.artifacts ?? ".", `vscode-${scenario.kind ?? "accept-revert"}-plan.png`) });
  log(`plan shown (${planText.split("\n")[0]})`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: scenario.chromium ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(STEP_TIMEOUT);
  let step = "opening the workspace";
  try {
    await page.goto(`${scenario.url}/?folder=${encodeURIComponent(scenario.workspace)}`);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    log("workbench is up");

    step = "waiting for the extension to start the server";
    await until("the Baton status-bar item", async () => (await statusText(page)).includes("Baton"), { timeout: 60_000 });

    step = `opening ${scenario.file}`;
    await openFile(page, scenario.file);
    const scenarioSteps = { "accept-revert": acceptRevert, interactive, review }[scenario.kind ?? "accept-revert"];
    if (scenarioSteps === undefined) {
      throw new Error(`unknown scenario kind ${scenario.kind}`);
    }
    await scenarioSteps(page, (name) => {
      step = name;
    });
  } catch (error) {
    const shot = path.join(scenario.artifacts ?? ".", `vscode-${scenario.kind ?? "accept-revert"}-failure.png`);
    await page.screenshot({ path: shot }).catch(() => undefined);
    process.stderr.write(`FAILED while ${step}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.stderr.write(`status bar: ${await statusText(page).catch(() => "?")}; screenshot: ${shot}\n`);
    process.stderr.write(`on disk now:\n${await diskText().catch(() => "?")}\n`);
    await browser.close();
    process.exit(1);
  }
  await browser.close();
  log(`scenario ${scenario.kind ?? "accept-revert"} passed`);
}

await main();
