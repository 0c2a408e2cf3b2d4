// The Baton view in a real VS Code, as a person sees it: its activity-bar container, the run with
// its state in words, what waits (the plan, then a permission) with its inline action, then the
// files the run changed
// and the reviewer's finding (a click goes to its line); Show Runs reveals the run there (the run
// view); and a palette that offers only the commands that fit (Accept Plan gone once the plan was
// accepted, Revert Run there).
// Then a window opened after the run, whose server first fails to start (a wrong
// baton.serverPath) and starts once the setting is fixed: the view, the palette's keys and
// Show Changes come from the journal by themselves (no Refresh), and Show Changes does not diff
// against text this window never saw.
// Dispatched by drive.mjs as the scenario kind "tree" (scenario: task, file, finding,
// permissionFile: the file the implementer writes outside the plan, which asks, and serverPath).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

const VIEW = ".pane-body .monaco-list";

/** Sets baton.serverPath in the workspace's settings (machine-overridable); the extension restarts the server. */
async function setServerPath(scenario, serverPath) {
  const folder = path.join(scenario.workspace, ".vscode");
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, "settings.json"), JSON.stringify({ "baton.serverPath": serverPath }, null, 2));
}

/** The Baton view's row whose text includes `text` (any case), or matches a RegExp. */
export function treeRow(wb, text) {
  return wb.page.locator(`${VIEW} .monaco-list-row`).filter({ hasText: text }).first();
}

/** Opens the Baton container from the activity bar (the palette's "View: Show Baton" if hidden). */
async function openView(wb) {
  const icon = wb.page.locator('.activitybar .action-item .action-label[aria-label^="Baton"]').first();
  if ((await icon.count()) > 0 && (await icon.isVisible())) {
    const checked = (await icon.locator("xpath=..").getAttribute("class")) ?? "";
    if (!checked.includes("checked")) {
      await icon.click();
    }
  } else {
    await wb.runCommand("View: Show Baton");
  }
  await wb.until("the Baton view", async () => (await wb.page.locator(".pane-header").filter({ hasText: "Runs" }).count()) > 0);
}

/** The palette's rows for `query`, once the list settled on them. */
async function paletteRows(wb, query, expected) {
  await wb.quickOpen(`>${query}`);
  await wb.pickRow(expected).waitFor({ state: "visible", timeout: wb.timeout });
  const rows = await wb.page.locator(".quick-input-widget .monaco-list-row").allInnerTexts();
  await wb.page.keyboard.press("Escape");
  return rows.map((row) => row.replaceAll("\n", " "));
}

async function expand(wb, text, child) {
  if ((await treeRow(wb, child).count()) > 0) {
    return;
  }
  await treeRow(wb, text).click();
  await treeRow(wb, child).waitFor({ state: "visible", timeout: wb.timeout });
}

export async function tree(wb, setStep, scenario) {
  await setStep("opening the Baton view from the activity bar");
  await openView(wb);
  await wb.until("the view's welcome (no runs yet)", async () =>
    (await wb.page.locator(".pane-body").filter({ hasText: "No Baton runs yet" }).count()) > 0);

  await setStep("starting a run from the view's title (Run Task)");
  await wb.page.locator('.pane-header .actions .action-label[aria-label^="Run Task"], .title-actions .action-label[aria-label^="Run Task"]').first().click();
  await wb.waitForQuickInput("What should Baton do?");
  await wb.submitQuickInput(scenario.task);

  await setStep("seeing the run and its plan waiting in the view");
  const waiting = treeRow(wb, "Review the plan");
  await waiting.waitFor({ state: "visible", timeout: wb.timeout });
  await wb.until("the run's row to say the plan waits for the person", async () =>
    (await treeRow(wb, scenario.task).innerText()).includes("plan waiting for you"));

  await setStep("accepting the plan with the waiting item's inline action");
  await waiting.hover();
  const accept = waiting.locator('.actions .action-label[aria-label^="Accept Plan"]').first();
  await accept.waitFor({ state: "visible", timeout: wb.timeout });
  await accept.click();

  await setStep("seeing the implementer's permission wait in the view");
  // The prompt comes up in front by itself; left for later, it waits in the view.
  await wb.dialog().waitFor({ state: "visible", timeout: wb.timeout });
  await wb.page.keyboard.press("Escape");
  await wb.until("the dialog to close", async () => !(await wb.dialog().isVisible()));
  // Case matters: the run's own row says "… permission to write …" too.
  const permission = treeRow(wb, /Permission to write/);
  await permission.waitFor({ state: "visible", timeout: wb.timeout });
  await wb.until("the run's row to say a permission waits", async () =>
    (await treeRow(wb, scenario.task).innerText()).includes(`permission to write ${scenario.permissionFile}`));
  if (!(await permission.innerText()).includes(scenario.permissionFile)) {
    throw new Error(`the permission's row does not name ${scenario.permissionFile}: ${await permission.innerText()}`);
  }

  await setStep("answering the permission with its inline action");
  await permission.hover();
  await permission.locator('.actions .action-label[aria-label^="Answer Permission"]').first().click();
  await wb.dialog().waitFor({ state: "visible", timeout: wb.timeout });
  await wb.clickDialogButton("Allow once");

  await wb.until("the run's row to say done", async () => (await treeRow(wb, scenario.task).innerText()).includes("done"));
  await wb.until("the waiting items to go", async () => (await waiting.count()) + (await permission.count()) === 0);

  await setStep("seeing the files the run changed and the reviewer's finding");
  await expand(wb, scenario.task, "Files changed");
  for (const changed of [scenario.file, scenario.permissionFile]) {
    await treeRow(wb, changed).waitFor({ state: "visible", timeout: wb.timeout });
  }
  await expand(wb, "Findings", scenario.finding);
  const finding = treeRow(wb, scenario.finding);
  await wb.until("the finding's row to name its place", async () => (await finding.innerText()).includes(`${scenario.file}:`));

  await setStep("going to the finding's line from the view");
  await finding.click();
  await wb.activeTab(scenario.file);

  await setStep("showing the run from Baton: Show Runs (the run view is the run in this view)");
  await wb.runCommand("Baton: Show Runs");
  const picked = wb.pickRow(scenario.task);
  await picked.waitFor({ state: "visible", timeout: wb.timeout });
  await picked.click();
  await wb.until("the run selected in the Baton view", async () => {
    const selected = wb.page.locator(`${VIEW} .monaco-list-row.selected`).filter({ hasText: scenario.task });
    return (await selected.count()) > 0;
  });
  if (await wb.quickInputVisible()) {
    await wb.page.keyboard.press("Escape"); // Show Runs' list of the run's actions
  }

  await setStep("checking the palette offers only the commands that fit");
  const rows = await paletteRows(wb, "Baton: ", "Baton: Revert Run");
  for (const unfit of ["Baton: Accept Plan", "Baton: Apply Changes", "Baton: Answer Question", "Baton: Cancel Run"]) {
    if (rows.some((row) => row.includes(unfit))) {
      throw new Error(`the palette offers "${unfit}" with no run it fits: ${rows.join(" | ")}`);
    }
  }
  wb.log("the view showed the run, its plan, files and finding; the palette offered only what fits");

  await setStep("opening a new window whose server does not start (a wrong baton.serverPath)");
  await setServerPath(scenario, path.join(scenario.workspace, "no-such-baton"));
  await wb.page.reload();
  await wb.page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
  await wb.waitForToast("could not start");
  await openView(wb);

  await setStep("fixing the setting: the view lists the run from the journal by itself");
  await setServerPath(scenario, scenario.serverPath);
  await treeRow(wb, scenario.task).waitFor({ state: "visible", timeout: wb.timeout });
  await wb.until("the run's row to say done", async () => (await treeRow(wb, scenario.task).innerText()).includes("done"));
  const offered = await paletteRows(wb, "Baton: ", "Baton: Revert Run");
  if (offered.some((row) => row.includes("Baton: Accept Plan"))) {
    throw new Error(`the palette offers Accept Plan with no plan waiting: ${offered.join(" | ")}`);
  }

  await setStep("Show Changes of a run from before this window says so (no diff against unseen text)");
  await expand(wb, scenario.task, "Files changed");
  const files = treeRow(wb, "Files changed");
  await files.hover();
  await files.locator('.actions .action-label[aria-label^="Show Changes"]').first().click();
  await wb.waitForToast("the run began before this window");
  wb.log("after the restart the view, the palette and Show Changes came from the journal");
}
