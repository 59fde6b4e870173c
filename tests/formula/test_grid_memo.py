"""The evaluator's constant grids are built once per model and copied: two grids of one model
never share their arrays, and each equals a grid built on its own."""

from __future__ import annotations

import numpy as np

from xl_lesson3.formula.evaluate.grid import ValueGrid
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.model import WorkbookModel


def _model() -> WorkbookModel:
    return WorkbookModel.from_cells(
        {"S!A1": 1.5, "S!A2": "text", "S!B1": True, "S!B2": "=A1*2", "T!C3": 4}
    )


def test_grids_of_one_model_are_independent_copies():
    model = _model()
    first = ValueGrid(model)
    assert "constant_grids" in model.memo
    first.sheets["S"].set(1, 1, 99.0)
    first.sheets["S"].set(2, 1, "changed")
    second = ValueGrid(model)
    assert second.get(CellAddress("S", 1, 1)) == 1.5
    assert second.get(CellAddress("S", 2, 1)) == "text"
    assert second.get(CellAddress("S", 1, 2)) is True
    fresh = ValueGrid(_model())
    for sheet in ("S", "T"):
        np.testing.assert_array_equal(second.sheets[sheet].num, fresh.sheets[sheet].num)
        np.testing.assert_array_equal(second.sheets[sheet].kind, fresh.sheets[sheet].kind)


def test_an_override_past_the_used_area_grows_the_grid():
    model = _model()
    ValueGrid(model)
    grown = ValueGrid(model, {CellAddress("T", 10, 6): 2.5})
    assert grown.get(CellAddress("T", 10, 6)) == 2.5
    assert grown.get(CellAddress("T", 3, 3)) == 4.0
    assert grown.get(CellAddress("T", 9, 6)) is None
    assert ValueGrid(model).sheets["T"].num.shape == (5, 5)  # the memo keeps its size
