"""The engine's model filled from a real xlwings Book (server mode, built from Excel's payload)."""

from __future__ import annotations

import pytest
import xlwings as xw

from xl_lesson3.errors import BadInputError, WorkbookIOError
from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load_xlwings import load_book


def _payload():
    values = [["x", "y", "double"], [1, 2, 2], [3, "#DIV/0!", 6], ["", True, ""]]
    table = {
        "name": "T",
        "range_address": "A1:C3",
        "row_count": 3,
        "column_count": 3,
        "columns": ["x", "y", "double"],
        "header_row_range_address": "A1:C1",
        "data_body_range_address": "A2:C3",
        "total_row_range_address": None,
        "show_headers": True,
        "show_totals": False,
    }
    names = [
        {
            "name": "solver_opt",
            "refers_to": "=S!$C$2",
            "type": "Range",
            "sheet_index": 0,
            "address": "C2",
            "scope_sheet_name": "S",
            "scope_sheet_index": 0,
            "book_scope": False,
        },
        {
            "name": "rate",
            "refers_to": "=0.5",
            "type": "Double",
            "sheet_index": None,
            "address": None,
            "scope_sheet_name": None,
            "scope_sheet_index": None,
            "book_scope": True,
        },
    ]
    sheet = {
        "name": "S",
        "values": values,
        "pictures": [],
        "tables": [table],
        "charts": [],
        "used_range_address": "A1:C4",
    }
    book = {"name": "B.xlsx", "active_sheet_index": 0, "selection": "A1"}
    return {
        "client": "Office.js",
        "version": xw.__version__,
        "book": book,
        "names": names,
        "sheets": [sheet],
    }


FORMULAS = [
    {
        "sheet": "S",
        "address": "S!A1:C4",
        "formulas": [["x", "y", "double"], [1, 2, "=A2*2"], [3, "=1/0", "=A3*2"], ["", True, ""]],
    }
]


def test_values_formulas_tables_and_names():
    model = load_book(xw.Book(json=_payload()), FORMULAS)
    cell = model.cells[CellAddress("S", 2, 3)]
    assert (cell.value, cell.formula) == (2, "=A2*2")
    assert model.cells[CellAddress("S", 3, 2)].value == ExcelError(ErrorCode.DIV0)
    assert model.cells[CellAddress("S", 3, 2)].formula == "=1/0"
    assert model.cells[CellAddress("S", 4, 2)].value is True
    assert CellAddress("S", 4, 1) not in model.cells  # "" is an empty cell
    table = model.tables["T"]
    assert (table.ref, table.columns) == (RangeAddress("S", 1, 1, 3, 3), ("x", "y", "double"))
    names = {(n.name, n.scope): n.text for n in model.defined_names}
    assert names == {("solver_opt", "S"): "S!$C$2", ("rate", None): "0.5"}
    assert evaluate_workbook(model)[CellAddress("S", 3, 3)] == 6.0


def test_server_books_need_the_formula_payload():
    with pytest.raises(WorkbookIOError, match="S: .*ribbon"):
        load_book(xw.Book(json=_payload()))


@pytest.mark.parametrize(
    "formulas",
    [
        {"sheet": "S"},
        [{"sheet": "S", "address": "A1"}],
        [{"sheet": "S", "address": "??", "formulas": [[1]]}],
    ],
    ids=["not-a-list", "no-formulas", "bad-address"],
)
def test_malformed_formula_payload(formulas):
    with pytest.raises(BadInputError, match="formula payload|not a cell"):
        load_book(xw.Book(json=_payload()), formulas)
