// A stand-in for Excel's Office.js runtime in a plain browser: the objects the Lesson 3 task pane
// (ribbon.js) and xlwings' custom-functions code use, over an in-memory workbook that the test
// sets with `__lesson3Stub.setState(...)`. It records what the page does (the actions xlwings
// Server returns and the stub applies, dialogs, custom-function registrations and errors) so the
// test can check the workbook state afterwards. Injected before any page script runs.
(() => {
  const stub = {
    state: null, // {payload, sheets: {name: {origin, formulas, shapes}}, spills: {sheet: {A1: ref}}}
    actions: [],
    dialogs: [],
    functions: {},
    ribbonHandlers: {},
    completedEvents: 0,
    namesVisible: {},
  };
  globalThis.__lesson3Stub = stub;
  const nameKey = (name) => `${name.book_scope ? "" : name.scope_sheet_name}!${name.name}`;

  stub.setState = (state) => {
    stub.state = state;
    stub.namesVisible = {};
    for (const name of state.payload.names) stub.namesVisible[nameKey(name)] = true;
  };

  // ---- Office ------------------------------------------------------------------------------
  const ready = Promise.resolve({ host: "Excel", platform: "OfficeOnline" });
  globalThis.Office = {
    onReady: (callback) => (callback ? ready.then(callback) : ready),
    context: {
      requirements: { isSetSupported: () => true },
      ui: {
        displayDialogAsync: (url, options, callback) => {
          stub.dialogs.push(url);
          if (callback) callback({ status: "succeeded" });
        },
      },
      document: { settings: { get: () => null, set: () => {}, saveAsync: () => {} } },
    },
    actions: { associate: (id, handler) => (stub.ribbonHandlers[id] = handler) },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    addin: { setStartupBehavior: () => Promise.resolve(), showAsTaskpane: () => Promise.resolve() },
  };

  class CustomFunctionsError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }
  globalThis.CustomFunctions = {
    associate: (name, fn) => (stub.functions[name] = fn),
    Error: CustomFunctionsError,
    ErrorCode: { invalidValue: "#VALUE!", notAvailable: "#N/A" },
  };

  // ---- Excel: an in-memory workbook ----------------------------------------------------------
  const loadable = (object) => {
    object.load = () => object;
    return object;
  };

  function sheetState(name) {
    return stub.state.sheets[name] || { origin: null, formulas: [], shapes: [] };
  }

  function usedRange(name) {
    const sheet = sheetState(name);
    if (!sheet.origin) return loadable({ isNullObject: true });
    const rows = sheet.formulas.length;
    const cols = sheet.formulas[0].length;
    const last = cellName(sheet.origin.row + rows - 1, sheet.origin.col + cols - 1);
    return loadable({
      isNullObject: false,
      address: `${name}!${cellName(sheet.origin.row, sheet.origin.col)}:${last}`,
      formulas: sheet.formulas,
      formulasR1C1: sheet.shapes,
    });
  }

  function cellName(row, col) {
    let letters = "";
    for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) {
      letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
    }
    return `${letters}${row}`;
  }

  function rangeObject(sheet, address) {
    return loadable({
      address: `${sheet}!${address}`,
      getSpillingToRangeOrNullObject: () => {
        const ref = (stub.state.spills[sheet] || {})[address];
        return loadable(ref ? { isNullObject: false, address: `${sheet}!${ref}` } : { isNullObject: true });
      },
    });
  }

  function namesCollection(scope) {
    const items = () =>
      stub.state.payload.names
        .filter((n) => (scope === null ? n.book_scope : n.scope_sheet_name === scope))
        .map((n) => {
          const item = { name: n.name };
          Object.defineProperty(item, "visible", {
            get: () => stub.namesVisible[nameKey(n)] !== false,
            set: (value) => (stub.namesVisible[nameKey(n)] = value),
          });
          return item;
        });
    return loadable({
      get items() {
        return items();
      },
    });
  }

  function worksheet(name) {
    return loadable({
      name: name,
      getUsedRangeOrNullObject: () => usedRange(name),
      getRange: (address) => rangeObject(name, address),
      names: namesCollection(name),
    });
  }

  function context() {
    const datetimeFormat = loadable({ shortDatePattern: "M/d/yyyy" });
    return {
      sync: () => Promise.resolve(),
      application: loadable({ cultureInfo: loadable({ name: "en-US", datetimeFormat }) }),
      workbook: loadable({
        name: "titanic.xlsx",
        names: namesCollection(null),
        worksheets: loadable({
          get items() {
            return stub.state.payload.sheets.map((s) => worksheet(s.name));
          },
          getItem: (name) => worksheet(name),
        }),
      }),
    };
  }

  globalThis.Excel = {
    run: async (callback) => await callback(context()),
    RequestContext: function RequestContext() {
      return context();
    },
  };

  // ---- xlwings' payload and actions ---------------------------------------------------------
  // The real getBookData/runActions are xlwings' (tested there) and need the whole Office.js
  // API; here the payload is the workbook state and the actions are applied to it.
  function getBookData() {
    return Promise.resolve(JSON.parse(JSON.stringify(stub.state.payload)));
  }

  function applyAction(action) {
    const sheets = stub.state.payload.sheets;
    if (action.func === "setValues") {
      const values = sheets[action.sheet_position].values;
      action.values.forEach((row, r) =>
        row.forEach((value, c) => {
          const rr = action.start_row + r;
          const cc = action.start_column + c;
          while (values.length <= rr) values.push([]);
          while (values[rr].length <= cc) values[rr].push("");
          values[rr][cc] = value;
        }),
      );
      const width = Math.max(...values.map((row) => row.length));
      values.forEach((row) => {
        while (row.length < width) row.push("");
      });
    } else if (action.func === "addSheet") {
      const [position, name] = action.args;
      sheets.splice(position + 1, 0, { name: name, values: [[""]], pictures: [], shapes: [],
        charts: [], tables: [], pivot_tables: [] });
    } else if (action.func === "namesAdd") {
      const bookScope = action.sheet_position === null || action.sheet_position === undefined;
      const name = { name: action.args[0], refers_to: action.args[1], book_scope: bookScope,
        scope_sheet_name: bookScope ? null : sheets[action.sheet_position].name };
      stub.state.payload.names.push(name);
      stub.namesVisible[nameKey(name)] = true;
    } else if (action.func === "addChart") {
      sheets[action.sheet_position].charts.push({ name: action.args[0], chart_type: action.args[1] });
    }
  }

  function runActions(data) {
    for (const action of data.actions || []) {
      stub.actions.push(action);
      applyAction(action);
    }
    return Promise.resolve();
  }

  // xlwings' own module sets globalThis.xlwings when it loads; keep its other members.
  let xlwingsNamespace = { getBookData, runActions };
  Object.defineProperty(globalThis, "xlwings", {
    configurable: true,
    get: () => xlwingsNamespace,
    set: (value) => {
      xlwingsNamespace = Object.assign(value, { getBookData, runActions });
    },
  });
})();
