// The "Lesson 3" ribbon tab and task pane buttons (overrides xlwings Server's ribbon.js).
//
// Each ExecuteFunction name in templates/manifest.xml is associated below with one Python
// script of custom_scripts (udfs.macros). xlwings' payload carries cell values but not
// formulas, and the macros need the formulas to compile the model, so they are read here with
// Office.js and passed as the script's first argument: formula cells only (no constants, no
// formatting), and for each dynamic-array formula the range it spills into. Legacy (CSE)
// arrays arrive as the same formula in every cell of their block; Python rebuilds them.
// Keep LESSON3_BUTTONS in step with the manifest: tests/addin checks both.
//
// Every failure (reading the workbook, the server's message, a lost connection) is caught and
// shown: in the task pane's status line, or in an alert for a ribbon command. Solve runs as a
// job the task pane polls (steps, best loss, elapsed) and can cancel.

const LESSON3_BUTTONS = {
  "lesson3-solve": "solve",
  "lesson3-reset": "reset_parameters",
  "lesson3-evaluate": "evaluate",
  "lesson3-build-titanic": "build_titanic_sheets",
  "lesson3-loss-chart": "loss_chart",
};
const LESSON3_POLL_MS = 500;
const LESSON3_SPILL_PROBES_PER_SYNC = 2000;

class Lesson3Error extends Error {}

// [{sheet, cells: {A1: "=..."}, spills: {anchor: "R6:S717"}}] for every sheet.
async function lesson3ReadFormulas() {
  return await Excel.run(async (context) => {
    const sheets = context.workbook.worksheets.load("items/name");
    await context.sync();
    const used = sheets.items.map((sheet) => {
      // valuesOnly: formatting-only cells (a formatted whole column) are left out
      const range = sheet.getUsedRangeOrNullObject(true);
      range.load("address, formulas, formulasR1C1");
      return { sheet: sheet, range: range };
    });
    await context.sync();
    const entries = [];
    for (const item of used) {
      const entry = { sheet: item.sheet.name, cells: {}, spills: {} };
      entries.push(entry);
      if (item.range.isNullObject) continue;
      const origin = lesson3ParseCell(item.range.address.split("!").pop().split(":")[0]);
      const candidates = lesson3CollectFormulas(item.range, origin, entry.cells);
      await lesson3ReadSpills(context, item.sheet, candidates, entry.spills);
    }
    return entries;
  });
}

// Fills `cells` with the formula cells of `range`; returns the spill candidates: formulas whose
// R1C1 text occurs once on the sheet (a formula copied down a column cannot spill).
function lesson3CollectFormulas(range, origin, cells) {
  const counts = new Map();
  const found = [];
  range.formulas.forEach((row, r) =>
    row.forEach((text, c) => {
      if (typeof text !== "string" || !text.startsWith("=") || text.length < 2) return;
      const address = lesson3CellName(origin.row + r, origin.col + c);
      cells[address] = text;
      const r1c1 = range.formulasR1C1[r][c];
      counts.set(r1c1, (counts.get(r1c1) || 0) + 1);
      found.push({ address: address, r1c1: r1c1 });
    }),
  );
  return found.filter((cell) => counts.get(cell.r1c1) === 1).map((cell) => cell.address);
}

async function lesson3ReadSpills(context, sheet, addresses, spills) {
  if (!Office.context.requirements.isSetSupported("ExcelApi", "1.12")) return;
  for (let i = 0; i < addresses.length; i += LESSON3_SPILL_PROBES_PER_SYNC) {
    const probes = addresses.slice(i, i + LESSON3_SPILL_PROBES_PER_SYNC).map((address) => {
      const spill = sheet.getRange(address).getSpillingToRangeOrNullObject();
      spill.load("address");
      return { address: address, spill: spill };
    });
    await context.sync();
    for (const probe of probes) {
      if (probe.spill.isNullObject) continue;
      const ref = probe.spill.address.split("!").pop().replace(/\$/g, "");
      if (ref.includes(":")) spills[probe.address] = ref;
    }
  }
}

function lesson3ParseCell(text) {
  const match = /^\$?([A-Z]+)\$?(\d+)$/.exec(text.toUpperCase());
  if (!match) throw new Lesson3Error(`${text}: not a cell address`);
  let col = 0;
  for (const ch of match[1]) col = col * 26 + (ch.charCodeAt(0) - 64);
  return { row: Number(match[2]), col: col };
}

function lesson3CellName(row, col) {
  let letters = "";
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return `${letters}${row}`;
}

function lesson3NewJobId() {
  const random = globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Math.random()}`;
  return "job-" + random.replace(/[^A-Za-z0-9-]/g, "");
}

function lesson3BaseUrl() {
  const appPath = (globalThis.config && globalThis.config.appPath) || "";
  return window.location.origin + appPath;
}

// The message of a failed response: xlwings' errors are plain text, FastAPI's JSON {detail}.
async function lesson3ResponseMessage(response) {
  const text = await response.text();
  try {
    const data = JSON.parse(text);
    if (data && typeof data.detail === "string") return data.detail;
  } catch (error) {
    // plain text
  }
  return text || `${response.status} ${response.statusText}`;
}

// The script's extra arguments after the formula payload.
function lesson3ScriptArgs(scriptName, jobId) {
  if (scriptName === "solve") return [jobId];
  if (scriptName === "reset_parameters") {
    const seedInput = document.querySelector("#lesson3-seed");
    const seed = seedInput && seedInput.value.trim() !== "" ? Number(seedInput.value) : null;
    if (seed !== null && !Number.isInteger(seed)) {
      throw new Lesson3Error(`seed: expected a whole number, got ${seedInput.value}`);
    }
    return [seed];
  }
  return [];
}

async function lesson3Run(scriptName, jobId) {
  let formulas;
  try {
    formulas = await lesson3ReadFormulas();
  } catch (error) {
    throw new Lesson3Error(`reading the workbook's formulas failed: ${error.message || error}`);
  }
  const args = [formulas, ...lesson3ScriptArgs(scriptName, jobId)];
  const auth =
    typeof globalThis.getAuth === "function"
      ? await globalThis.getAuth()
      : { token: "", provider: "" };
  await Excel.run(async (context) => {
    // getBookData adds Content-Type and, with a token, Authorization to `headers`
    const headers = { "Auth-Provider": auth.provider };
    const payload = await xlwings.getBookData({ auth: auth.token, headers: headers }, context);
    payload.args = args;
    headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`${lesson3BaseUrl()}/xlwings/custom-scripts-call/${scriptName}`, {
        method: "POST",
        headers: headers,
        body: JSON.stringify(payload),
      });
    } catch (error) {
      throw new Lesson3Error(`the Lesson 3 server did not answer (${error.message || error})`);
    }
    if (!response.ok) throw new Lesson3Error(await lesson3ResponseMessage(response));
    await xlwings.runActions(await response.json(), context);
    if (scriptName === "build_titanic_sheets") await lesson3HideSolverNames(context);
  });
}

// Excel's Solver keeps its solver_* names hidden; xlwings' namesAdd cannot, so hide them here.
async function lesson3HideSolverNames(context) {
  const sheets = context.workbook.worksheets.load("items/name");
  await context.sync();
  const collections = [context.workbook.names, ...sheets.items.map((sheet) => sheet.names)];
  collections.forEach((names) => names.load("items/name,items/visible"));
  await context.sync();
  for (const names of collections) {
    for (const item of names.items) {
      if (item.name.toLowerCase().startsWith("solver_") && item.visible) item.visible = false;
    }
  }
  await context.sync();
}

// ---- task pane ------------------------------------------------------------------------------

function lesson3Status(text, kind) {
  const status = document.querySelector("#lesson3-status");
  if (!status) return;
  status.textContent = text;
  status.dataset.kind = kind;
  status.className = `small alert py-1 px-2 alert-${{ error: "danger", ok: "success" }[kind] || "secondary"}`;
}

function lesson3ShowProgress(job) {
  const progress = document.querySelector("#lesson3-progress");
  if (!progress || !job) return;
  const best = job.best === null || job.best === undefined ? "–" : Number(job.best).toPrecision(6);
  progress.textContent = `step ${job.step}/${job.max_steps}, best loss ${best}, ${job.elapsed.toFixed(1)} s`;
}

function lesson3Poll(jobId) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      const response = await fetch(`${lesson3BaseUrl()}/lesson3/jobs/${jobId}`);
      if (response.ok) lesson3ShowProgress(await response.json());
    } catch (error) {
      // the next tick tries again; the solve's own request reports a lost server
    }
    if (!stopped) setTimeout(tick, LESSON3_POLL_MS);
  };
  setTimeout(tick, LESSON3_POLL_MS);
  return () => {
    stopped = true;
  };
}

async function lesson3Cancel(jobId) {
  const response = await fetch(`${lesson3BaseUrl()}/lesson3/jobs/${jobId}/cancel`, {
    method: "POST",
  });
  if (!response.ok && response.status !== 404) {
    throw new Lesson3Error(await lesson3ResponseMessage(response));
  }
}

async function lesson3OnTaskPaneButton(button) {
  const scriptName = LESSON3_BUTTONS[button.dataset.lesson3Button];
  const cancel = document.querySelector("#lesson3-cancel");
  const jobId = lesson3NewJobId();
  const label = button.textContent.trim();
  button.disabled = true;
  lesson3Status(`${label}: running…`, "running");
  let stopPolling = () => {};
  if (scriptName === "solve") {
    stopPolling = lesson3Poll(jobId);
    if (cancel) {
      cancel.dataset.jobId = jobId;
      cancel.disabled = false;
    }
  }
  try {
    await lesson3Run(scriptName, jobId);
    lesson3Status(`${label}: done`, "ok");
  } catch (error) {
    lesson3Status(`${label}: ${error.message || error}`, "error");
  } finally {
    stopPolling();
    button.disabled = false;
    if (cancel && scriptName === "solve") cancel.disabled = true;
  }
}

// Ribbon commands have no task pane to write into: show failures in a dialog (xlwings Server's
// alert page, the one xlwings' own alerts use) and in the task pane's status line, if open.
async function lesson3OnRibbonCommand(scriptName, event) {
  try {
    await lesson3Run(scriptName, lesson3NewJobId());
  } catch (error) {
    const message = error.message || `${error}`;
    console.error(message);
    lesson3Status(message, "error");
    lesson3Alert(message);
  } finally {
    event.completed();
  }
}

function lesson3Alert(message) {
  const query = new URLSearchParams({
    prompt: message,
    title: "Lesson 3",
    buttons: "ok",
    mode: "critical",
    callback: "",
  });
  Office.context.ui.displayDialogAsync(
    `${lesson3BaseUrl()}/xlwings/alert?${query}`,
    { height: 30, width: 40, displayInIframe: true },
    (result) => {
      if (result.status !== Office.AsyncResultStatus.Succeeded) console.error(result.error);
    },
  );
}

Office.onReady(() => {
  for (const [buttonId, scriptName] of Object.entries(LESSON3_BUTTONS)) {
    Office.actions.associate(buttonId, (event) => lesson3OnRibbonCommand(scriptName, event));
  }
});

function lesson3InitTaskPane() {
  document.querySelectorAll("[data-lesson3-button]").forEach((button) => {
    button.addEventListener("click", () => lesson3OnTaskPaneButton(button));
  });
  const cancel = document.querySelector("#lesson3-cancel");
  if (cancel) {
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        await lesson3Cancel(cancel.dataset.jobId);
        lesson3Status("Solve: cancelling…", "running");
      } catch (error) {
        lesson3Status(`Cancel: ${error.message || error}`, "error");
      }
    });
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", lesson3InitTaskPane);
} else {
  lesson3InitTaskPane();
}
