"""The task pane in a real browser: Debian's headless Chromium, the real add-in server, ribbon.js.

Excel is replaced by `office_stub.js`, an in-memory workbook behind the Office.js objects the
page uses; it applies and records the actions the server sends back. The test clicks each of
the five buttons, checks the workbook state afterwards (Solve on the spilled `mmult` sheet: the
written parameters re-evaluate to the reported loss), each button's failure message, a ribbon
command's error dialog, and calls the seven worksheet functions through xlwings' own
custom-functions code, including the message of a ``#VALUE!``. Skipped where Chromium,
chromedriver or selenium is missing (`.ci/run` installs them).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.utils.cell import column_index_from_string

from tests.udfs.excel_payload import empty_payload, office_payload
from udfs import macros
from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
from xl_lesson3.solver.excel_model import read_solver_model
from xl_lesson3.titanic.layout import MMULT
from xl_lesson3.workbook.address import CellAddress

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
STUB = (Path(__file__).parent / "office_stub.js").read_text()
WAIT_SECONDS = 120  # upper bound for a click's work on a loaded 2-core machine

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() or shutil.which("chromium")) or not CHROMEDRIVER.exists(),
    reason="needs Debian's chromium and chromium-driver",
)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(WAIT_SECONDS)
    try:
        # Office.js itself never loads: the stub stands in for it.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*office.js"]})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": STUB})
        yield driver
    finally:
        driver.quit()


def _state(model, payload: dict, arrays: str = "spill") -> dict:
    """The stub's workbook: what Office.js reports per sheet (formulas grid, R1C1 shapes)."""
    sheets, spills = {}, {}
    for name in model.sheet_names:
        used = model.used_range(name)
        grid = [["" for _ in range(used.max_col)] for _ in range(used.max_row)]
        shapes = [["" for _ in range(used.max_col)] for _ in range(used.max_row)]
        for address, cell in model.cells.items():
            if address.sheet != name:
                continue
            text = cell.formula if cell.formula is not None else cell.value
            grid[address.row - 1][address.col - 1] = "" if text is None else str(text)
            if cell.formula is not None:
                shapes[address.row - 1][address.col - 1] = _r1c1(cell.formula, address)
        spills[name] = {}
        for anchor, array in model.array_formulas.items():
            if anchor.sheet != name:
                continue
            if arrays == "spill":
                spills[name][anchor.coordinate] = array.ref.coordinate
            else:
                for cell in array.ref.cells():
                    grid[cell.row - 1][cell.col - 1] = array.text
                    shapes[cell.row - 1][cell.col - 1] = array.text
        sheets[name] = {"origin": {"row": 1, "col": 1}, "formulas": grid, "shapes": shapes}
    return {"payload": payload, "sheets": sheets, "spills": spills}


_A1 = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d+)")


def _r1c1(formula: str, at: CellAddress) -> str:
    """`formula` with its cell references in R1C1 form relative to `at` (Office.js' formulasR1C1)."""

    def convert(match: re.Match) -> str:
        col_abs, col, row_abs, row = match.groups()
        r = f"R{row}" if row_abs else f"R[{int(row) - at.row}]"
        c = (
            f"C{column_index_from_string(col)}"
            if col_abs
            else f"C[{column_index_from_string(col) - at.col}]"
        )
        return r + c

    parts = []
    for token in Tokenizer(formula).items:
        is_range = token.type == "OPERAND" and token.subtype == "RANGE"
        parts.append(_A1.sub(convert, token.value) if is_range else token.value)
    return "=" + "".join(parts)


def _load(browser, server: str, state: dict) -> None:
    browser.get(server + "/taskpane.html")
    browser.execute_script("__lesson3Stub.setState(arguments[0])", state)


def _click(browser, button: str) -> dict:
    """Click a task pane button; wait for its status line; the status and the new actions."""
    return browser.execute_async_script(
        """
        const [button, done] = arguments;
        const before = __lesson3Stub.actions.length;
        const status = document.querySelector("#lesson3-status");
        status.dataset.kind = "";
        document.querySelector(`[data-lesson3-button="${button}"]`).click();
        const poll = () => {
          if (["ok", "error"].includes(status.dataset.kind)) {
            done({kind: status.dataset.kind, text: status.textContent,
                  actions: __lesson3Stub.actions.slice(before)});
          } else setTimeout(poll, 50);
        };
        poll();
        """,
        button,
    )


def _block(actions: list[dict], title: str) -> dict:
    for action in actions:
        values = action.get("values") or []
        if action["func"] == "setValues" and values and values[0][0] == title:
            return {row[0]: row[1] for row in values[1:]}
    raise AssertionError(f"no block {title!r} in {actions}")


def _params(model, actions: list[dict], sheet: str) -> dict[CellAddress, float]:
    (area,) = read_solver_model(model, sheet).changing
    for action in actions:
        if action["func"] == "setValues" and (
            action["start_row"] + 1,
            action["start_column"] + 1,
        ) == (area.min_row, area.min_col):
            return {
                CellAddress(sheet, area.min_row + r, area.min_col + c): value
                for r, row in enumerate(action["values"])
                for c, value in enumerate(row)
            }
    raise AssertionError(f"no parameters written in {actions}")


def test_five_buttons_on_the_mmult_sheet(browser, server, titanic_model):
    payload, _ = office_payload(titanic_model, active_sheet="mmult")
    _load(browser, server, _state(titanic_model, payload))
    objective = read_solver_model(titanic_model, "mmult").objective

    solve = _click(browser, "lesson3-solve")
    assert solve["kind"] == "ok", solve["text"]
    note = _block(solve["actions"], macros.SOLVE_TITLE)
    params = _params(titanic_model, solve["actions"], "mmult")
    assert len(params) == MMULT.params.size
    reevaluated = evaluate_workbook(titanic_model, overrides=params)[objective]
    assert reevaluated == pytest.approx(note["Loss after"], rel=1e-9)
    assert note["Loss after"] < 0.5 * note["Loss before"]

    evaluate = _click(browser, "lesson3-evaluate")
    assert evaluate["kind"] == "ok", evaluate["text"]
    # Evaluate reads the workbook as it is now: with the parameters Solve wrote
    assert _block(evaluate["actions"], macros.EVALUATE_TITLE)["Total loss"] == pytest.approx(
        note["Loss after"], rel=1e-9
    )

    first_chart = _click(browser, "lesson3-loss-chart")
    assert [a["func"] for a in first_chart["actions"]].count("addChart") == 1
    second_chart = _click(browser, "lesson3-loss-chart")
    funcs = [a["func"] for a in second_chart["actions"]]
    assert "addChart" not in funcs and "setChartSourceData" in funcs  # its one chart

    resets = [_click(browser, "lesson3-reset") for _ in range(2)]
    seeds = [_block(r["actions"], macros.RESET_TITLE)["Seed"] for r in resets]
    assert seeds[0] != seeds[1]  # a new seed each click, shown
    browser.find_element("id", "lesson3-seed").send_keys(str(int(seeds[0])))
    repeat = _click(browser, "lesson3-reset")
    np.testing.assert_allclose(
        list(_params(titanic_model, repeat["actions"], "mmult").values()),
        list(_params(titanic_model, resets[0]["actions"], "mmult").values()),
    )

    clash = _click(browser, "lesson3-build-titanic")  # the lesson's sheets are already here
    assert clash["kind"] == "error"
    assert "already in this workbook" in clash["text"]


def test_formula_payload_is_formula_cells_and_spills_only(browser, server, titanic_model):
    payload, _ = office_payload(titanic_model, active_sheet="mmult")
    _load(browser, server, _state(titanic_model, payload))
    entries = browser.execute_async_script(
        "const done = arguments[0]; lesson3ReadFormulas().then(done, (e) => done(String(e)));"
    )
    by_sheet = {entry["sheet"]: entry for entry in entries}
    (anchor,) = [a for a in titanic_model.array_formulas if a.sheet == "mmult"]
    array = titanic_model.array_formulas[anchor]
    assert by_sheet["mmult"]["spills"] == {anchor.coordinate: array.ref.coordinate}
    for entry in entries:
        formulas = {
            a.coordinate: c.formula
            for a, c in titanic_model.cells.items()
            if a.sheet == entry["sheet"] and c.formula is not None
        }
        assert entry["cells"] == formulas  # no constants, no formatting


@pytest.mark.parametrize(
    ("button", "active", "message"),
    [
        ("lesson3-solve", "About", 'no Solver model and no "Total loss" label'),
        ("lesson3-evaluate", "About", 'no Solver model and no "Total loss" label'),
        ("lesson3-reset", "About", 'no Solver model and no "Total loss" label'),
        ("lesson3-loss-chart", "nnet", "press Solve first"),
    ],
    ids=["solve", "evaluate", "reset", "loss-chart"],
)
def test_each_buttons_failure_shows_the_project_message(
    browser, server, titanic_model, button, active, message
):
    payload, _ = office_payload(titanic_model, active_sheet=active)
    _load(browser, server, _state(titanic_model, payload))
    result = _click(browser, button)
    assert result["kind"] == "error"
    assert message in result["text"]
    assert not [a for a in result["actions"] if a["func"] == "setValues"]


def test_build_titanic_sheets_then_hides_the_solver_names(browser, server):
    payload = empty_payload()
    state = {
        "payload": payload,
        "sheets": {"Sheet1": {"origin": None, "formulas": [], "shapes": []}},
        "spills": {},
    }
    _load(browser, server, state)
    result = _click(browser, "lesson3-build-titanic")
    assert result["kind"] == "ok", result["text"]
    added = [a["args"][1] for a in result["actions"] if a["func"] == "addSheet"]
    assert added == ["data", "linear", "nnet", "mmult", "About"]
    visible = browser.execute_script("return __lesson3Stub.namesVisible")
    solver_names = {key: shown for key, shown in visible.items() if "!solver_" in key}
    assert len(solver_names) > 3 * 10  # linear, nnet and mmult each have a Solver model
    assert not any(solver_names.values())


def test_a_ribbon_commands_failure_opens_a_dialog_with_the_message(browser, server, titanic_model):
    payload, _ = office_payload(titanic_model, active_sheet="nnet")
    _load(browser, server, _state(titanic_model, payload))
    dialogs = browser.execute_async_script(
        """
        const done = arguments[0];
        const handler = __lesson3Stub.ribbonHandlers["lesson3-loss-chart"];
        handler({completed: () => done(__lesson3Stub.dialogs)});
        """
    )
    assert len(dialogs) == 1 and "press+Solve+first" in dialogs[0]


FUNCTION_CALLS = [
    ("RELU", [[[1.5, -2.0]]], [[1.5, 0.0]]),
    ("SIGMOID", [[[0.0]]], 0.5),
    ("TORCH_SUMPRODUCT", [[[[1.0, 2.0]], [[3.0, 4.0]]]], 11.0),
    ("TORCH_MMULT", [[[1.0, 2.0]], [[3.0], [4.0]]], 11.0),
    ("TORCH_MSE", [[[1.0], [3.0]], [[0.0], [1.0]]], 2.5),
    ("TORCH_LOGLOSS", [[[0.5]], [[1.0]]], float(np.log(2.0))),
    (
        "TORCH_SOLVE",
        [[[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]], [[1.0], [3.0], [5.0]], [[0.0, 0.0]], "linear",
         None, 400, 0.1, 0],
        [[2.0, 1.0]],
    ),
]  # fmt: skip


def _call_function(browser, name: str, args: list):
    return browser.execute_async_script(
        """
        const [name, args, done] = arguments;
        const invocation = {address: "Sheet1!C3", setResult: () => {}};
        Promise.resolve(__lesson3Stub.functions[name](...args, invocation)).then(
          (value) => done({value: value}),
          (error) => done({error: error.message, code: error.code}),
        );
        """,
        name,
        args,
    )


@pytest.mark.parametrize(
    ("name", "args", "expected"), FUNCTION_CALLS, ids=[c[0] for c in FUNCTION_CALLS]
)
def test_the_seven_functions_through_xlwings_custom_functions_code(
    browser, server, titanic_model, name, args, expected
):
    loaded = (
        "return typeof __lesson3Stub === 'undefined' ? [] : Object.keys(__lesson3Stub.functions)"
    )
    if "RELU" not in browser.execute_script(loaded):
        payload, _ = office_payload(titanic_model, active_sheet="nnet")
        _load(browser, server, _state(titanic_model, payload))
        browser.execute_async_script(
            """
            const done = arguments[0];
            const wait = () => __lesson3Stub.functions.RELU ? done() : setTimeout(wait, 50);
            wait();
            """
        )
    result = _call_function(browser, name, args)
    assert "error" not in result, result
    got = np.array(result["value"], dtype=float).squeeze()
    np.testing.assert_allclose(got, np.array(expected, dtype=float).squeeze(), atol=1e-6)


def test_a_function_error_shows_its_message_on_the_value_error(browser, server, titanic_model):
    payload, _ = office_payload(titanic_model, active_sheet="nnet")
    _load(browser, server, _state(titanic_model, payload))
    browser.execute_async_script(
        "const done = arguments[0];"
        "const wait = () => __lesson3Stub.functions.RELU ? done() : setTimeout(wait, 50); wait();"
    )
    result = _call_function(browser, "TORCH_SOLVE", [[[1.0]], [[1.0]], None, "bogus"])
    assert result.get("code") == "#VALUE!", result
    assert "model_kind must be one of linear, relu" in result["error"]
    assert json.dumps(result)  # plain data came back
