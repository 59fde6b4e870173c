"""The workbook model: built from plain data and loaded from .xlsx files via openpyxl."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName as XlDefinedName
from openpyxl.worksheet.formula import ArrayFormula as XlArrayFormula
from openpyxl.worksheet.table import Table as XlTable

from xl_lesson3.errors import UnknownReferenceError, WorkbookIOError
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import ArrayFormula, DefinedName, Table, WorkbookModel

A1 = CellAddress("Sheet1", 1, 1)


def test_from_cells_splits_values_and_formulas():
    model = WorkbookModel.from_cells(
        {"Sheet1!A1": 2, "Sheet1!B1": "=A1*3", "'My Sheet'!C2": "x", "Sheet1!D1": None}
    )
    assert model.sheet_names == ("Sheet1", "My Sheet")
    assert model.cells[A1].value == 2 and model.cells[A1].formula is None
    assert model.cells[CellAddress("Sheet1", 1, 2)].formula == "=A1*3"
    assert model.cells[CellAddress("My Sheet", 2, 3)].value == "x"
    assert CellAddress("Sheet1", 1, 4) not in model.cells  # None is an empty cell


def test_model_is_frozen():
    model = WorkbookModel.from_cells({"Sheet1!A1": 1})
    with pytest.raises(TypeError):
        model.cells[A1] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        model.sheet_names = ()  # type: ignore[misc]


def test_used_range_and_formula_cells_in():
    model = WorkbookModel.from_cells(
        {"S!A1": 1, "S!B2": "=A1", "S!B5": "=A1", "S!D3": "=B2", "S!C9": 4},
    )
    assert model.used_range("S") == RangeAddress("S", 1, 1, 9, 4)
    found = model.formula_cells_in(RangeAddress.parse("S!A1:D4"))
    assert found == [CellAddress("S", 2, 2), CellAddress("S", 3, 4)]
    assert model.formula_cells_in(RangeAddress.parse("S!B5")) == [CellAddress("S", 5, 2)]


def test_cells_by_column_are_sorted_by_row_whatever_the_insertion_order():
    model = WorkbookModel.from_cells({"S!B9": "=A1", "S!A3": 2, "S!B2": "=A2", "S!A1": 1})
    formulas = model.formula_column("S", 2)
    assert formulas.rows == [2, 9] and [c.formula for c in formulas.cells] == ["=A2", "=A1"]
    assert formulas.span(3, 9) == (1, 2)
    values = model.value_columns()[("S", 1)]
    assert values.rows == [1, 3] and [c.value for c in values.cells] == [1, 2]
    assert model.formula_columns("S") == [2] and model.formula_column("S", 1) is None


def test_tables_names_and_arrays():
    table = Table("T1", RangeAddress.parse("S!A1:B4"), ("Age", "Fare"), 1, 1)
    model = WorkbookModel.from_cells(
        {"S!A2": 1},
        tables=[table],
        defined_names=[DefinedName("rate", "0.5"), DefinedName("rate", "S!$A$2", "S", True)],
        array_formulas=[ArrayFormula(RangeAddress.parse("S!D1:E2"), "=A1:B2*2")],
    )
    assert model.table("t1") is table  # table names are case-insensitive
    assert (table.first_data_row, table.last_data_row) == (2, 3)
    assert table.column_index("fare") == 2 and table.column_index("nope") is None
    assert model.table_at(CellAddress("S", 3, 2)) is table
    with pytest.raises(UnknownReferenceError):
        model.table("T2")
    assert model.defined_name("RATE", "S").text == "S!$A$2"  # the sheet's own name wins
    assert model.defined_name("rate", "Other").text == "0.5"
    assert model.cells[CellAddress("S", 1, 4)].formula == "=A1:B2*2"
    assert model.array_formula_covering(CellAddress("S", 2, 5)).text == "=A1:B2*2"
    assert model.array_formula_covering(CellAddress("S", 3, 5)) is None


def _write_sample(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Age", "Fare"])
    ws.append([22, 7.25])
    ws.append([38, 71.5])
    ws.add_table(XlTable(displayName="People", ref="A1:B3"))
    ws["D1"] = "=SUM(People[Age])"
    ws["D2"] = True
    ws["D3"] = dt.datetime(2020, 1, 2)
    ws["D4"] = "#N/A"
    ws["D4"].data_type = "e"
    ws["F1"] = XlArrayFormula("F1:G2", "=A2:B3*2")
    other = wb.create_sheet("Other Sheet")
    other["A1"] = "=Data!A2"
    wb.defined_names["rate"] = XlDefinedName("rate", attr_text="Data!$B$2")
    other.defined_names["local"] = XlDefinedName("local", attr_text="0.25", hidden=True)
    wb.save(path)


def test_load_workbook_reads_everything(tmp_path):
    path = tmp_path / "sample.xlsx"
    _write_sample(path)
    model = load_workbook(path)
    assert model.sheet_names == ("Data", "Other Sheet")
    assert model.source_path == path
    table = model.tables["People"]
    assert table.ref == RangeAddress.parse("Data!A1:B3") and table.columns == ("Age", "Fare")
    assert model.cells[CellAddress("Data", 1, 4)].formula == "=SUM(People[Age])"
    assert model.cells[CellAddress("Data", 2, 4)].value is True
    assert model.cells[CellAddress("Data", 3, 4)].value == 43832.0  # dates are serial numbers
    assert model.cells[CellAddress("Data", 4, 4)].value == ExcelError(ErrorCode.NA)
    array = model.array_formulas[CellAddress("Data", 1, 6)]
    assert array.ref == RangeAddress.parse("Data!F1:G2") and array.text == "=A2:B3*2"
    names = {(n.name, n.scope): n for n in model.defined_names}
    assert names[("rate", None)].text == "Data!$B$2"
    assert names[("local", "Other Sheet")].hidden and names[("local", "Other Sheet")].text == "0.25"


@pytest.mark.libreoffice
def test_load_cached_values(tmp_path, make_workbook):
    from tests.libreoffice import recalculated_copy

    path = recalculated_copy(make_workbook({"S!A1": 2, "S!B1": "=A1*3"}), tmp_path)
    model = load_workbook(path, cached_values=True)
    cell = model.cells[CellAddress("S", 1, 2)]
    assert cell.formula == "=A1*3" and cell.value == 6


def test_load_rejects_non_workbooks(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(WorkbookIOError, match="bad.xlsx"):
        load_workbook(bad)
    with pytest.raises(WorkbookIOError):
        load_workbook(tmp_path / "missing.xlsx")
