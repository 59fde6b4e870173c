"""The ribbon's macros against real xlwings Book objects (xlwings Server mode, no Excel).

Each test builds the book from the JSON payload Excel's add-in sends for the Titanic workbook
(values, tables, the sheets' Solver names, the selection) plus the ribbon's formula payload, runs
the macro, and checks the actions it recorded, which are what Excel then applies.
"""

from __future__ import annotations

import numpy as np
import pytest
import xlwings as xw

from tests.udfs.excel_payload import actions, book, empty_payload, office_payload
from udfs import macros
from xl_lesson3.errors import BadInputError, WorkbookIOError
from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
from xl_lesson3.titanic.layout import FIRST_DATA_ROW, NNET
from xl_lesson3.workbook.address import CellAddress, RangeAddress

PARAMS = NNET.params  # nnet!G2:P3


def written(recorded: list[dict], sheet_position: int, area: RangeAddress) -> list[list]:
    """The values one setValues action wrote to exactly `area`."""
    for action in recorded:
        if (
            action["func"] == "setValues"
            and action["sheet_position"] == sheet_position
            and (action["start_row"] + 1, action["start_column"] + 1)
            == (area.min_row, area.min_col)
            and (action["row_count"], action["column_count"]) == area.shape
        ):
            return action["values"]
    raise AssertionError(f"nothing written to {area}: {recorded}")


def block(recorded: list[dict], title: str) -> dict[str, object]:
    """The label → value pairs of the labelled block titled `title`."""
    for action in recorded:
        values = action.get("values") or []
        if action["func"] == "setValues" and values and values[0][0] == title:
            return {label: value for label, value in values[1:]}
    raise AssertionError(f"no block {title!r} in {recorded}")


def nnet_index(model) -> int:
    return model.sheet_names.index("nnet")


def numpy_nnet(model, params: np.ndarray) -> tuple[float, float]:
    """The nnet sheet's loss and accuracy at 0.5 computed with numpy from its input columns."""
    rows = range(FIRST_DATA_ROW, model.used_range("nnet").max_row + 1)
    inputs = np.array(
        [
            [
                model.cells[CellAddress("nnet", r, c)].value
                for c in range(PARAMS.min_col, PARAMS.max_col + 1)
            ]
            for r in rows
        ],
        dtype=float,
    )
    survived = np.array([model.cells[CellAddress("nnet", r, 1)].value for r in rows], dtype=float)
    preds = np.maximum(inputs @ params.T, 0).sum(axis=1)
    return float(np.mean((preds - survived) ** 2)), float(np.mean((preds >= 0.5) == survived))


def current_params(model) -> np.ndarray:
    return np.array([[model.cells[c].value for c in row] for row in _rows(PARAMS)], dtype=float)


def _rows(area: RangeAddress):
    return [
        [CellAddress(area.sheet, r, c) for c in range(area.min_col, area.max_col + 1)]
        for r in range(area.min_row, area.max_row + 1)
    ]


def test_reset_draws_a_new_seed_each_click_and_shows_it(titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    clicks = []
    for _ in range(2):
        b = book(payload)
        macros.reset_parameters(b, formulas)
        recorded = actions(b)
        values = np.array(written(recorded, nnet_index(titanic_model), PARAMS))
        assert values.shape == (2, 10)
        assert ((values >= -0.5) & (values < 0.5)).all()
        assert len(np.unique(values)) == values.size
        clicks.append((block(recorded, macros.RESET_TITLE)["Seed"], values))
    (seed1, values1), (seed2, values2) = clicks
    assert seed1 != seed2 and not np.allclose(values1, values2)
    again = book(payload)
    macros.reset_parameters(again, formulas, seed1)  # the seed shown repeats that start
    np.testing.assert_allclose(written(actions(again), nnet_index(titanic_model), PARAMS), values1)


def test_evaluate_writes_loss_and_accuracy(titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    b = book(payload)
    macros.evaluate(b, formulas)
    result = block(actions(b), macros.EVALUATE_TITLE)
    loss, accuracy = numpy_nnet(titanic_model, current_params(titanic_model))
    assert result["Total loss"] == pytest.approx(loss, rel=1e-12)
    assert result["Accuracy (pred >= 0.5)"] == pytest.approx(accuracy, rel=1e-12)
    assert result["Rows"] == titanic_model.used_range("nnet").max_row - FIRST_DATA_ROW + 1


def test_solve_lowers_the_engine_loss(titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    b = book(payload)
    macros.solve(b, formulas, None, 60)
    recorded = actions(b)
    trained = written(recorded, nnet_index(titanic_model), PARAMS)
    overrides = {
        cell: value
        for row_cells, row_values in zip(_rows(PARAMS), trained)
        for cell, value in zip(row_cells, row_values)
    }
    objective = CellAddress("nnet", 2, 2)
    before = evaluate_workbook(titanic_model)[objective]
    after = evaluate_workbook(titanic_model, overrides=overrides)[objective]
    assert after < 0.8 * before
    note = block(recorded, macros.SOLVE_TITLE)
    assert note["Loss before"] == pytest.approx(before, rel=1e-9)
    assert note["Loss after"] == pytest.approx(after, rel=1e-9)
    assert 1 <= note["Steps"] <= 60
    # the loss history goes to its own sheet, for the Loss chart button: per step, the best
    # loss among the restarts (restart 0 starts from the sheet's values)
    added = actions(b, "addSheet")
    assert [a["args"][1] for a in added] == [macros.HISTORY_SHEET]
    rows = note["Steps"] + 1
    history = next(a for a in recorded if a["func"] == "setValues" and a["row_count"] == rows)
    assert history["values"][0] == ["Step", "Loss"]
    losses = [loss for _, loss in history["values"][1:]]
    assert losses[0] <= before * (1 + 1e-9)
    assert min(losses) >= after * (1 - 1e-9)


def test_solve_uses_the_selection_without_a_solver_model(titanic_model):
    # Drop the nnet sheet's Solver names: the selected cells become the parameters and the
    # "Total loss" cell the objective.
    payload, formulas = office_payload(titanic_model, active_sheet="nnet", selection="G2:P2")
    payload["names"] = [n for n in payload["names"] if n["scope_sheet_name"] != "nnet"]
    b = book(payload)
    macros.solve(b, formulas, None, 20)
    recorded = actions(b)
    first_row = RangeAddress("nnet", 2, PARAMS.min_col, 2, PARAMS.max_col)
    assert len(written(recorded, nnet_index(titanic_model), first_row)[0]) == 10
    assert block(recorded, macros.SOLVE_TITLE)["Parameters"] == "10 (selection)"


def test_macros_need_formulas_from_the_ribbon(titanic_model):
    payload, _ = office_payload(titanic_model, active_sheet="nnet")
    with pytest.raises(xw.XlwingsError, match="ribbon") as info:
        macros.evaluate(book(payload))
    assert isinstance(info.value.__cause__, WorkbookIOError)


def test_loss_chart_charts_the_history(titanic_model):
    history = [["Step", "Loss"], [0, 0.9], [1, 0.5], [2, 0.4]]
    payload, formulas = office_payload(
        titanic_model, active_sheet="nnet", extra_sheets={macros.HISTORY_SHEET: history}
    )
    b = book(payload)
    macros.loss_chart(b, formulas)
    recorded = actions(b)
    (chart,) = [a for a in recorded if a["func"] == "addChart"]
    assert chart["args"][1:4] == ["Line", macros.HISTORY_SHEET, "$A$1:$B$4"]


def test_loss_chart_needs_a_solve_first(titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    with pytest.raises(xw.XlwingsError, match="press Solve first") as info:
        macros.loss_chart(book(payload), formulas)
    assert isinstance(info.value.__cause__, BadInputError)


def _empty_book(sheet_names=("Sheet1",)):
    return book(empty_payload(tuple(sheet_names)))


def test_build_titanic_sheets_adds_the_lessons_sheets():
    b = _empty_book()
    macros.build_titanic_sheets(b)
    recorded = actions(b)
    added = [a["args"][1] for a in recorded if a["func"] == "addSheet"]
    assert added == ["data", "linear", "nnet", "mmult", "About"]
    position = {name: i + 1 for i, name in enumerate(added)}  # Sheet1 stays first
    tables = {a["args"][-1] for a in recorded if a["func"] == "addTable"}
    assert tables == {"titanic", "linear_data", "nnet_data", "mmult_data"}
    # every write goes after the sheet it targets exists, formulas after the tables
    order = [a["func"] for a in recorded]
    assert order.index("addTable") < order.index("setFormula")
    formulas = [
        a for a in recorded if a["func"] == "setFormula" and a["sheet_position"] == position["nnet"]
    ]
    hidden1 = next(a for a in formulas if (a["start_row"], a["start_column"]) == (5, 16))
    assert hidden1["row_count"] == 712
    assert hidden1["values"][0][0] == "=SUMPRODUCT(G6:P6,$G$2:$P$2)"
    mmult = [
        a
        for a in recorded
        if a["func"] == "setFormula"
        and a["sheet_position"] == position["mmult"]
        and a["start_column"] == 17
    ]
    assert [(a["start_row"], a["row_count"]) for a in mmult] == [(5, 1)]  # spills from R6
    names = {(a["args"][0]) for a in recorded if a["func"] == "namesAdd"}
    assert {"solver_opt", "solver_adj"} <= names


def test_build_titanic_sheets_refuses_to_overwrite():
    with pytest.raises(xw.XlwingsError, match="nnet") as info:
        macros.build_titanic_sheets(_empty_book(("Sheet1", "nnet")))
    assert isinstance(info.value.__cause__, BadInputError)


def test_a_runaway_maximisation_is_refused_and_nothing_written(titanic_model):
    # "Max" on a loss: the parameters grow without end. Excel users met +-2.5e6 values written
    # with status "finished"; the Solve button must say so and leave the sheet alone.
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    for name in payload["names"]:
        if name["scope_sheet_name"] == "nnet" and name["name"] == "solver_typ":
            name["refers_to"] = "=1"  # Excel's code for Max
    b = book(payload)
    with pytest.raises(xw.XlwingsError, match="unbounded, so nothing was written"):
        macros.solve(b, formulas)
    assert actions(b, "setValues") == []


def test_loss_chart_updates_its_one_chart(titanic_model):
    history = [["Step", "Loss"], [0, 0.9], [1, 0.5], [2, 0.4]]
    payload, formulas = office_payload(
        titanic_model, active_sheet="nnet", extra_sheets={macros.HISTORY_SHEET: history}
    )
    chart = {"name": macros.LOSS_CHART, "chart_type": "line", "left": 200, "top": 10}
    payload["sheets"][-1]["charts"] = [chart]
    b = book(payload)
    macros.loss_chart(b, formulas)
    recorded = actions(b)
    assert not [a for a in recorded if a["func"] == "addChart"]
    (update,) = [a for a in recorded if a["func"] == "setChartSourceData"]
    assert update["args"] == [0, macros.HISTORY_SHEET, "$A$1:$B$4"]
