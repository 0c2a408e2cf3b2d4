// Drives a real VS Code (code-server) in Debian's Chromium, as a person would, through the
// Baton extension, and checks what is on screen at each step.
//
// "accept-revert": run a task; the plan opens beside the code with labelled CodeLens actions;
// accept it there and see "Accepted —"; the implementer's write outside the plan asks a permission:
// the status item says "waiting for you — permission to write …" in the warning colour, the modal's
// default button shows the diff (never Allow), nothing is denied while nobody answers (past the
// server's client_request_timeout_s), Escape leaves it waiting and the status item brings it back;
// Show Diff, then Allow Once from the diff's title bar; the completion notification with the
// summary; the file Baton created unopened is saved by itself (baton.saveEditedFiles), the open one
// is not; Show Changes; the finding in Problems; Show Runs (no destructive action first); revert.
//
// "interactive": the person in the loop: a question with options in a quick pick (the extension
// prompts; the server sends no message box to a client with batonPrompts), the plan accepted with
// the palette command, a free-text question in an input box dismissed then answered with
// `Baton: Answer Question`, a steer note, a follow-up run, and a question about a selection asked
// through its code action. "review": review edit mode: the changes wait in changes.diff, one
// CodeLens "Apply Changes" applies exactly what it shows (no second confirmation).
//
// Started by tests/e2e/test_vscode.py, which prepares the workspace and code-server and passes a
// JSON description of the scenario as the only argument:
//   {kind: "accept-revert" | "interactive" | "review" | "tree", url, workspace, file, task,
//    planIncludes, expected, original, chromium, artifacts (the failure screenshot), shots (a
//    folder for a screenshot of each step, or ""), timeoutMs, finding (a review finding's message),
//    for "accept-revert": permission: {file, content, waitMs}, summaryIncludes: [text];
//    for "interactive": choice: {question, option}, freeText: {question, answer}, steer, followUp,
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

/** The plan opens beside the code (its own editor group, the code still in view), with its actions. */
async function waitForPlan(wb) {
  await wb.waitForState("plan waiting for you");
  if (!(await wb.statusIsWarning())) {
    throw new Error("the status item waits on the person without the warning colour");
  }
  await wb.activeTab("plan.md");
  const wanted = scenario.planIncludes ?? "";
  const text = await wb.waitForEditorText(`plan.md to show "${wanted}"`, wanted, "plan.md");
  await wb.until(`plan.md beside ${fileName}, both in view`, async () => {
    const groups = await wb.page.locator(".editor-group-container").count();
    const code = ((await wb.tab(fileName).getAttribute("class")) ?? "").includes("active");
    return groups >= 2 && code;
  });
  await wb.until("plan.md's CodeLens to offer Accept Plan", async () => (await wb.codeLensText("plan.md")).includes("Accept Plan"));
  log(`plan shown beside the code (${text.split("\n")[0]})`);
}

async function checkOnDisk(wb, expected, what) {
  await wb.saveUntilOnDisk(file, expected, `${scenario.file} to ${what} on disk`);
  log(`${scenario.file}: ${what} on disk`);
}

/**
 * Run a task, see the plan beside the code, accept it with its CodeLens, answer the permission
 * the implementer's write asks (after checking it waits, unanswered, without being denied), see
 * the completion notification and what was saved, the finding in Problems, Show Runs, revert.
 */
async function acceptRevert(wb, setStep) {
  const permission = scenario.permission;
  const created = path.join(scenario.workspace, permission.file);
  await setStep("running Baton: Run Task");
  await startTask(wb, scenario.task);

  await setStep("waiting for the plan");
  await waitForPlan(wb);

  await setStep("accepting the plan with its CodeLens");
  await wb.clickCodeLens("plan.md", "Accept Plan");

  await setStep("seeing the permission prompt in front");
  const waiting = `waiting for you — permission to write ${permission.file}`;
  await wb.waitForState(waiting);
  await wb.dialog().waitFor({ state: "visible", timeout: wb.timeout });
  const prompt = await wb.dialog().innerText();
  if (!prompt.includes(permission.file)) {
    throw new Error(`the permission dialog does not name ${permission.file}:\n${prompt}`);
  }
  const buttons = await wb.dialogButtons();
  const primary = buttons.filter((b) => b.primary || b.focused).map((b) => b.label);
  if (primary.length === 0 || primary.some((label) => !/^Show Diff$/.test(label))) {
    throw new Error(`the dialog's default button must show the diff, not allow: ${JSON.stringify(buttons)}`);
  }
  if (!(await wb.statusIsWarning())) {
    throw new Error("the status item waits on the person without the warning colour");
  }
  if ((await wb.statusText()).includes("implementing") || (await wb.page.locator(".statusbar-item .codicon-sync.codicon-modifier-spin").count()) > 0) {
    throw new Error(`the status bar spins or says "implementing" while the person is asked: ${await wb.statusText()}`);
  }
  log(`the permission waits: "${await wb.statusText()}", buttons ${buttons.map((b) => b.label).join(" | ")}`);

  await setStep("leaving the permission unanswered past the server's client timeout");
  // Deliberately longer than [limits] client_request_timeout_s: an unanswered prompt used to turn
  // into Deny then. Nothing may change: the prompt stays, the status item still waits.
  await wb.page.waitForTimeout(permission.waitMs);
  if (!(await wb.dialog().isVisible()) || !(await wb.statusText()).includes(waiting)) {
    throw new Error(`after ${permission.waitMs} ms unanswered the permission is gone: ${await wb.statusText()}`);
  }
  await wb.assertNoBatonError();

  await setStep("dismissing the prompt and bringing it back from the status item");
  await wb.page.keyboard.press("Escape");
  await wb.until("the dialog to close", async () => !(await wb.dialog().isVisible()));
  await wb.waitForState(waiting);
  await wb.clickStatus("waiting for you");
  await wb.dialog().waitFor({ state: "visible", timeout: wb.timeout });
  log("Escape left the permission waiting; the status item brought it back");

  await setStep("showing the diff and allowing once from its title bar");
  await wb.clickDialogButton("Show Diff");
  await wb.waitForEditorText("the diff of what would be written", permission.content);
  const allow = wb.editorTitleAction("Allow Once");
  await allow.waitFor({ state: "visible", timeout: wb.timeout });
  if ((await wb.editorTitleAction("Deny").count()) === 0) {
    throw new Error("the diff's title bar offers Allow Once without Deny");
  }
  await allow.click();
  log("allowed once from the diff's title bar");

  await setStep("seeing the completion notification with the summary");
  await wb.waitForState("done");
  const done = await wb.waitForToast("Baton: done");
  for (const wanted of scenario.summaryIncludes ?? []) {
    if (!done.includes(wanted)) {
      throw new Error(`the completion notification lacks "${wanted}": ${done}`);
    }
  }
  await wb.until('the plan to say "Accepted — done"', async () => (await wb.codeLensText("plan.md")).includes("Accepted — done"));
  // The document itself says so too (any editor's), on the line that asked for an answer.
  const plan = await wb.waitForEditorText("plan.md to say it was accepted", "Accepted at ", "plan.md");
  if (plan.includes("Waiting for you")) {
    throw new Error(`plan.md still asks to be accepted:\n${plan}`);
  }
  // Saved before, so saved after Baton's note (the save follows the edit: wait for it).
  await wb.until("plan.md saved after Baton's note", async () => !((await wb.tab("plan.md").getAttribute("class")) ?? "").includes("dirty"));
  log(`completion: ${done}`);

  await setStep("checking what was saved by itself");
  // baton.saveEditedFiles = "unopened": the file Baton created (never open) is on disk by itself;
  // the file the person had open keeps Baton's edit unsaved, for them to review and save.
  await wb.until(`${permission.file} saved by itself`, async () =>
    (await readFile(created, "utf8").catch(() => "")).includes(permission.content));
  if (!((await wb.tab(fileName).getAttribute("class")) ?? "").includes("dirty")) {
    throw new Error(`${fileName}, open before the run, was saved without the person`);
  }

  await setStep("showing the changes from the notification");
  await wb.toast("Baton: done").locator(".monaco-button").filter({ hasText: "Show Changes" }).first().click();
  await wb.activeTab(scenario.task);
  log("Show Changes opened the run's multi-file diff");

  await setStep("saving the edited file and checking it on disk");
  await checkOnDisk(wb, scenario.expected, "hold the new content");

  await setStep("finding the reviewer's finding in the Problems panel");
  await wb.runCommand("Problems: Focus on Problems View");
  await wb.until(`the Problems panel to list "${scenario.finding}"`, async () => {
    const panel = wb.page.locator(".markers-panel");
    return (await panel.count()) > 0 && (await panel.first().innerText()).includes(scenario.finding);
  });
  log("the reviewer's finding is in the Problems panel");

  await setStep("showing the run from the status bar (Baton: Show Runs)");
  await wb.clickStatus("done");
  const runRow = wb.pickRow(scenario.task);
  await runRow.waitFor({ state: "visible", timeout: wb.timeout });
  await runRow.click();
  await treeRow(wb, scenario.task).waitFor({ state: "visible", timeout: wb.timeout }); // the run view: the Baton view
  await wb.pickRow("Revert run").waitFor({ state: "visible", timeout: wb.timeout });
  const first = (await wb.page.locator(".quick-input-widget .monaco-list-row").first().innerText()).trim();
  if (/revert|reject|cancel/i.test(first)) {
    throw new Error(`Show Runs preselects a destructive action: "${first}"`);
  }
  await wb.page.keyboard.press("Escape");
  log(`Show Runs listed the run, showed it and offered Revert run (first: ${first})`);

  await setStep("running Baton: Revert Run");
  await wb.runCommand("Baton: Revert Run");
  await checkOnDisk(wb, scenario.original, "be back to its original content");
  await wb.assertNoBatonError();
}

/**
 * Review mode: the changes wait in changes.diff (beside the code, nothing on disk); one click on
 * its "Apply Changes" CodeLens applies exactly what it shows, without a second confirmation.
 */
async function review(wb, setStep) {
  const page = wb.page;
  await setStep("running Baton: Run Task");
  await startTask(wb, scenario.task);

  await setStep("waiting for the plan");
  await waitForPlan(wb);

  await setStep("accepting the plan through the code action");
  await wb.chooseCodeAction("plan.md", "Accept plan");
  await wb.until(`the focus back on ${fileName}, the plan beside`, () => wb.focusedGroupShows(fileName));

  await setStep("waiting for the changes to review");
  await wb.waitForState("changes waiting for you");
  await wb.activeTab("changes.diff");
  const shown = await wb.waitForEditorText("changes.diff to show the change", "+def hello(name=", "changes.diff");
  const added = shown.split("\n").filter((line) => line.startsWith("+") && !line.startsWith("+++")).map((line) => line.slice(1).trim());
  const notice = await wb.waitForToast("Baton: changes waiting for you");
  if (!notice.includes("1 file changed (hello.py)")) {
    throw new Error(`the notification does not say what changed: ${notice}`);
  }
  if ((await readFile(file, "utf8")) !== scenario.original) {
    throw new Error(`${scenario.file} changed on disk before the changes were applied`);
  }

  await setStep("applying with the one Apply Changes CodeLens");
  await wb.clickCodeLens("changes.diff", "Apply Changes");
  await wb.waitForState("done");
  if (await page.locator(".bulk-edit-panel").isVisible()) {
    throw new Error("Apply opened the Refactor Preview: a second confirmation");
  }
  await wb.assertNoBatonError();

  await setStep("saving the edited file and checking it on disk");
  await checkOnDisk(wb, scenario.expected, "hold the new content");
  const landed = (await readFile(file, "utf8")).split("\n").map((line) => line.trim());
  const missing = added.filter((line) => line !== "" && !landed.includes(line));
  if (missing.length > 0) {
    throw new Error(`what changes.diff showed did not land: ${JSON.stringify(missing)}`);
  }
  log("Apply Changes applied what changes.diff showed");
}

/**
 * The person in the loop: Run Task with a selection; a question with options answered in the
 * message box; the plan accepted with the palette command; a free-text question whose input box
 * the person first dismisses to steer the run, then answers with `Baton: Answer Question`; a
 * follow-up run; a question about a selection through its code action.
 */
async function interactive(wb, setStep) {
  const selectLines = () => wb.selectLines(fileName, scenario.selectLines);
  await setStep("running Baton: Run Task with a selection");
  await selectLines();
  await startTask(wb, scenario.task);

  await setStep(`answering "${scenario.choice.question}" in the quick pick`);
  await wb.waitForQuickInput(scenario.choice.question);
  await wb.waitForState("question waiting for you");
  if ((await wb.page.locator(".notifications-toasts .notification-toast").filter({ hasText: scenario.choice.question }).count()) > 0) {
    throw new Error("the question was asked twice: also in a message box");
  }
  await wb.pickRow(scenario.choice.option).click();
  log(`chose "${scenario.choice.option}" in the quick pick`);

  await setStep("waiting for the plan");
  await waitForPlan(wb);

  await setStep("accepting the plan with the palette command");
  await wb.runCommand("Baton: Accept Plan");
  await wb.assertNoBatonError();

  await setStep(`seeing "${scenario.freeText.question}" prompted in an input box`);
  await wb.waitForQuickInput(scenario.freeText.question);
  await wb.page.keyboard.press("Escape");
  await wb.waitForState("question waiting for you");

  await setStep("steering the run with Baton: Steer Run");
  await wb.runCommand("Baton: Steer Run");
  await wb.waitForQuickInput("A note the working agent reads");
  await wb.submitQuickInput(scenario.steer);
  await wb.assertNoBatonError();
  log(`steered: "${scenario.steer}"`);

  await setStep("answering with Baton: Answer Question");
  await wb.runCommand("Baton: Answer Question");
  await wb.waitForQuickInput(scenario.freeText.question);
  await wb.submitQuickInput(scenario.freeText.answer);
  log(`answered "${scenario.freeText.answer}"`);
  await wb.waitForState("done");
  await wb.assertNoBatonError();

  await setStep("saving the edited file and checking it on disk");
  await checkOnDisk(wb, scenario.expected, "hold the new content");

  await setStep("following up with Baton: Follow Up");
  await wb.runCommand("Baton: Follow Up");
  await wb.waitForQuickInput("What should Baton do?");
  await wb.submitQuickInput(scenario.followUp);
  await wb.activeTab("answer.md");
  await wb.waitForState("done");
  await wb.assertNoBatonError();
  log("the follow-up answered in answer.md");

  await setStep("asking about a selection through its code action");
  await wb.chooseCodeAction(fileName, "Ask Baton about this selection", { prepare: selectLines });
  await wb.waitForQuickInput("Your question");
  await wb.submitQuickInput(scenario.selectionQuestion);
  // The new answer.md opens beside, next to the last one's tab: tell them apart by their text.
  await wb.waitForEditorText("the answer.md of the selection question", scenario.selectionQuestion, "answer.md");
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
  const wb = new Workbench(page, { timeout, log, shots: scenario.shots ?? "", scenario: kind });
  let step = "opening the workspace";
  try {
    await page.goto(`${scenario.url}/?folder=${encodeURIComponent(scenario.workspace)}`);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    log("workbench is up");

    step = "waiting for the extension to start the server";
    await wb.until("the Baton status-bar item", async () => (await wb.statusText()).includes("Baton"), { timeout: 60_000 });

    step = `opening ${scenario.file}`;
    await wb.openFile(scenario.file);
    // Each step's screenshot is taken when it is over: what the person sees after it.
    await steps(wb, async (name) => {
      await wb.shot(step);
      step = name;
    });
    await wb.shot(step);
  } catch (error) {
    const shot = path.join(scenario.shots || scenario.artifacts || ".", `vscode-${kind}-failure.png`);
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
