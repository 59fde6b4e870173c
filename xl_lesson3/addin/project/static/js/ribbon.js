// The "Lesson 3" ribbon tab and task pane buttons (overrides xlwings Server's ribbon.js).
//
// Each ExecuteFunction name in templates/manifest.xml is associated below with one Python
// script of custom_scripts (udfs.macros). xlwings' payload carries cell values but not
// formulas, and the macros need the formulas to compile the model, so they are read here
// with Office.js (every sheet's used range) and passed as the script's first argument.
// Keep LESSON3_BUTTONS in step with the manifest: tests/addin checks both.

const LESSON3_BUTTONS = {
  "lesson3-solve": "solve",
  "lesson3-reset": "reset_parameters",
  "lesson3-evaluate": "evaluate",
  "lesson3-build-titanic": "build_titanic_sheets",
  "lesson3-loss-chart": "loss_chart",
};

// [{sheet, address, formulas}] for every sheet with a used range; `formulas` holds the
// formula text of formula cells and the constant of the others, as Office.js reports them.
async function lesson3ReadFormulas() {
  return await Excel.run(async (context) => {
    const sheets = context.workbook.worksheets.load("items/name");
    await context.sync();
    const used = sheets.items.map((sheet) => {
      const range = sheet.getUsedRangeOrNullObject(false);
      range.load("address, formulas");
      return { name: sheet.name, range: range };
    });
    await context.sync();
    return used
      .filter((item) => !item.range.isNullObject)
      .map((item) => ({
        sheet: item.name,
        address: item.range.address.split("!").pop(),
        formulas: item.range.formulas,
      }));
  });
}

async function lesson3Run(scriptName) {
  const formulas = await lesson3ReadFormulas();
  let authResult =
    typeof globalThis.getAuth === "function"
      ? await globalThis.getAuth()
      : { token: "", provider: "" };
  await xlwings.runPython({
    auth: authResult.token,
    scriptName: scriptName,
    headers: { "Auth-Provider": authResult.provider },
    args: [formulas],
  });
}

for (const [buttonId, scriptName] of Object.entries(LESSON3_BUTTONS)) {
  Office.actions.associate(buttonId, async (event) => {
    try {
      await lesson3Run(scriptName);
    } finally {
      event.completed();
    }
  });
}

// Task pane: <button data-lesson3-button="lesson3-solve"> runs the same script.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-lesson3-button]").forEach((button) => {
    button.addEventListener("click", async () => {
      const scriptName = LESSON3_BUTTONS[button.dataset.lesson3Button];
      button.disabled = true;
      try {
        await lesson3Run(scriptName);
      } finally {
        button.disabled = false;
      }
    });
  });
});
