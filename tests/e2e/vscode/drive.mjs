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
import { tree, treeRow } from "./tree.mjs";
import { Workbench } from "./workbench.mjs";

const scenario = JSON.parse(process.argv[2] ?? "{}");
const kind = scenario.kind ?? "accept-revert";
const file = path.join(scenario.workspace ?? ".", scenario.file ?? "");
const fileName = path.basename(file);
const started = Date.now();

function log(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[vscode-e2e ${seconds}s] ${message}\n`);
}

async function startTask(wb, task) {
  await wb.runCommand("Baton: Run Task");
  await wb.waitForQuickInput("What should Baton do?");
  await wb.submitQuickInput(task);
}

async function waitForPlan(wb) {
  await wb.waitForState("plan to review");
  await wb.activeTab("plan.md");
  const wanted = scenario.planIncludes ?? "";
  const text = await wb.waitForEditorText(`plan.md to show "${wanted}"`, wanted);
  await wb.page.screenshot({ path: path.join(scenario.artifacts ?? ".", `vscode-${kind}-plan.png`) });
  log(`plan shown (${text.split("\n")[0]})`);
}

async function checkOnDisk(wb, expected, what) {
  await wb.saveUntilOnDisk(file, expected, `${scenario.file} to ${what} on disk`);
  log(`${scenario.file}: ${what} on disk`);
}

/**
 * Run a task, see the plan, accept it with the code action, check disk after save, see the
 * review finding in Problems, open the run from the status bar, revert.
 */
async function acceptRevert(wb, setStep) {
  setStep("running Baton: Run Task");
  await startTask(wb, scenario.task);

  setStep("waiting for the plan");
  await waitForPlan(wb);

  setStep("accepting the plan through the code action");
  await wb.chooseCodeAction("plan.md", "Accept plan");
  await wb.waitForState("done");

  setStep("saving the edited file and checking it on disk");
  await checkOnDisk(wb, scenario.expected, "hold the new content");

  setStep("finding the reviewer's finding in the Problems panel");
  await wb.runCommand("Problems: Focus on Problems View");
  await wb.until(`the Problems panel to list "${scenario.finding}"`, async () => {
    const panel = wb.page.locator(".markers-panel");
    return (await panel.count()) > 0 && (await panel.first().innerText()).includes(scenario.finding);
  });
  log("the reviewer's finding is in the Problems panel");

  setStep("showing the run from the status bar (Baton: Show Runs)");
  await wb.clickStatus("done");
  const runRow = wb.pickRow(scenario.task);
  await runRow.waitFor({ state: "visible", timeout: wb.timeout });
  await runRow.click();
  await treeRow(wb, scenario.task).waitFor({ state: "visible", timeout: wb.timeout }); // the run view: the Baton view
  await wb.pickRow("Revert run").waitFor({ state: "visible", timeout: wb.timeout });
  await wb.page.keyboard.press("Escape");
  log("Show Runs listed the run, showed it and offered Revert run");

  setStep("running Baton: Revert Run");
  await wb.runCommand("Baton: Revert Run");
  await checkOnDisk(wb, scenario.original, "be back to its original content");
  await wb.assertNoBatonError();
}

/**
 * Review mode: the changes wait in changes.diff; `Apply changes` (code action) sends them, and
 * VS Code's Refactor Preview lets the person confirm them before they land.
 */
async function review(wb, setStep) {
  const page = wb.page;
  setStep("running Baton: Run Task");
  await startTask(wb, scenario.task);

  setStep("waiting for the plan");
  await waitForPlan(wb);

  setStep("accepting the plan through the code action");
  await wb.chooseCodeAction("plan.md", "Accept plan");

  setStep("waiting for the changes to review");
  await wb.waitForState("changes to apply");
  await wb.until('the "changes.diff" tab', async () => (await wb.tab("changes.diff").count()) > 0);
  if ((await readFile(file, "utf8")) !== scenario.original) {
    throw new Error(`${scenario.file} changed on disk before the changes were applied`);
  }

  setStep("applying the changes through the code action");
  await wb.chooseCodeAction("changes.diff", "Apply changes");

  setStep("confirming the edit in VS Code's Refactor Preview");
  const apply = page.locator(".bulk-edit-panel .buttons .monaco-button").filter({ hasText: /^Apply$/ }).first();
  const shown = await wb.until("the Refactor Preview (or the run to end without it)", async () => {
    if (await apply.isVisible()) {
      return "preview";
    }
    return (await wb.statusText()).includes("Baton: done") ? "landed" : false;
  });
  if (shown === "landed") {
    throw new Error("the edit landed without VS Code's Refactor Preview: the server's workspace edit did not ask for confirmation (change annotation needsConfirmation)");
  }
  // Edits that need confirmation start unchecked: the person ticks the file (all its edits).
  const boxes = page.locator(".bulk-edit-panel .monaco-tl-contents .edit-checkbox");
  await boxes.first().waitFor({ state: "visible", timeout: wb.timeout });
  if (!((await boxes.first().getAttribute("class")) ?? "").includes("checked")) {
    await boxes.first().click();
  }
  await wb.until("every edit in the Refactor Preview to be checked", async () => {
    const classes = await boxes.evaluateAll((all) => all.map((b) => b.className));
    return classes.length > 0 && classes.every((c) => c.split(/\s+/).includes("checked"));
  });
  await page.screenshot({ path: path.join(scenario.artifacts ?? ".", "vscode-review-preview.png") });
  await apply.click();
  log("confirmed the edit in the Refactor Preview");
  await wb.waitForState("done");
  await wb.assertNoBatonError();

  setStep("saving the edited file and checking it on disk");
  await checkOnDisk(wb, scenario.expected, "hold the new content");
}

/**
 * The person in the loop: Run Task with a selection; a question with options answered in the
 * message box; the plan accepted with the palette command; a free-text question whose input box
 * the person first dismisses to steer the run, then answers with `Baton: Answer Question`; a
 * follow-up run; a question about a selection through its code action.
 */
async function interactive(wb, setStep) {
  const selectLines = () => wb.selectLines(fileName, scenario.selectLines);
  setStep("running Baton: Run Task with a selection");
  await selectLines();
  await startTask(wb, scenario.task);

  setStep(`answering "${scenario.choice.question}" in the message box`);
  const toast = wb.page.locator(".notifications-toasts .notification-toast").filter({ hasText: scenario.choice.question }).first();
  await toast.waitFor({ state: "visible", timeout: wb.timeout });
  await wb.waitForState("question waiting");
  await toast.locator(".monaco-button").filter({ hasText: scenario.choice.option }).first().click();
  log(`chose "${scenario.choice.option}" in the message box`);

  setStep("waiting for the plan");
  await waitForPlan(wb);

  setStep("accepting the plan with the palette command");
  await wb.runCommand("Baton: Accept Plan");
  await wb.assertNoBatonError();

  setStep(`seeing "${scenario.freeText.question}" prompted in an input box`);
  await wb.waitForQuickInput(scenario.freeText.question);
  await wb.page.keyboard.press("Escape");
  await wb.waitForState("question waiting");

  setStep("steering the run with Baton: Steer Run");
  await wb.runCommand("Baton: Steer Run");
  await wb.waitForQuickInput("A note the working agent reads");
  await wb.submitQuickInput(scenario.steer);
  await wb.assertNoBatonError();
  log(`steered: "${scenario.steer}"`);

  setStep("answering with Baton: Answer Question");
  await wb.runCommand("Baton: Answer Question");
  await wb.waitForQuickInput(scenario.freeText.question);
  await wb.submitQuickInput(scenario.freeText.answer);
  log(`answered "${scenario.freeText.answer}"`);
  await wb.waitForState("done");
  await wb.assertNoBatonError();

  setStep("saving the edited file and checking it on disk");
  await checkOnDisk(wb, scenario.expected, "hold the new content");

  setStep("following up with Baton: Follow Up");
  await wb.runCommand("Baton: Follow Up");
  await wb.waitForQuickInput("What should Baton do?");
  await wb.submitQuickInput(scenario.followUp);
  await wb.activeTab("answer.md");
  await wb.waitForState("done");
  await wb.assertNoBatonError();
  log("the follow-up answered in answer.md");

  setStep("asking about a selection through its code action");
  await wb.chooseCodeAction(fileName, "Ask Baton about this selection", { prepare: selectLines });
  await wb.waitForQuickInput("Your question");
  await wb.submitQuickInput(scenario.selectionQuestion);
  // The new answer.md may reuse the preview tab of the last one: tell them apart by their text.
  await wb.waitForEditorText("the answer.md of the selection question", scenario.selectionQuestion);
  await wb.waitForState("done");
  await wb.assertNoBatonError();
  log("the selection question answered in answer.md");
}

const SCENARIOS = { "accept-revert": acceptRevert, interactive, review, tree: (wb, setStep) => tree(wb, setStep, scenario) };

async function main() {
  const steps = SCENARIOS[kind];
  if (steps === undefined) {
    throw new Error(`unknown scenario kind ${kind}`);
  }
  const browser = await chromium.launch({
    executablePath: scenario.chromium ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const timeout = scenario.timeoutMs ?? 30_000;
  page.setDefaultTimeout(timeout);
  const wb = new Workbench(page, { timeout, log });
  let step = "opening the workspace";
  try {
    await page.goto(`${scenario.url}/?folder=${encodeURIComponent(scenario.workspace)}`);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    log("workbench is up");

    step = "waiting for the extension to start the server";
    await wb.until("the Baton status-bar item", async () => (await wb.statusText()).includes("Baton"), { timeout: 60_000 });

    step = `opening ${scenario.file}`;
    await wb.openFile(scenario.file);
    await steps(wb, (name) => {
      step = name;
    });
  } catch (error) {
    const shot = path.join(scenario.artifacts ?? ".", `vscode-${kind}-failure.png`);
    await page.screenshot({ path: shot }).catch(() => undefined);
    process.stderr.write(`FAILED while ${step}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.stderr.write(`status bar: ${await wb.statusText().catch(() => "?")}; screenshot: ${shot}\n`);
    process.stderr.write(`on disk now:\n${await readFile(file, "utf8").catch(() => "?")}\n`);
    await browser.close();
    process.exit(1);
  }
  await browser.close();
  log(`scenario ${kind} passed`);
}

await main();
