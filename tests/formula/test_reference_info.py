"""Reference information (ISREF, AREAS, ISFORMULA, CELL), SUBTOTAL, IS* inside array formulas and
circular references without iteration: against LibreOffice (one workbook, recalculated once)
and against the values Excel saved in the conformance workbooks (skipped when absent)."""

from __future__ import annotations

import dataclasses

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from tests.formula.excel_saved import disagreements, needs_conformance, saved_model
from tests.formula.functions.cells import err, same
from tests.libreoffice import recalculate
from xl_lesson3.formula.evaluate.check import values_agree
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.evaluate.tolerant import evaluate_all
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import CalcSettings, WorkbookModel

NA, VALUE = err("#N/A"), err("#VALUE!")

DATA = {"A1": 1, "A2": "=A1*2", "A3": "text", "A4": True, "B1": "=SUM(A1:A2)"}
# (id, formula, array block or "") -- each on its own row of sheet Calc, column B
CASES = [
    ("isref-cell", "=ISREF(Data!A1)", ""),
    ("isref-range", "=ISREF(Data!A1:B4)", ""),
    ("isref-number", "=ISREF(1)", ""),
    ("isref-text", '=ISREF("A1")', ""),
    ("isref-offset", "=ISREF(OFFSET(Data!A1,1,0))", ""),
    ("isref-indirect", '=ISREF(INDIRECT("Data!A2"))', ""),
    ("areas-one", "=AREAS(Data!A1:B4)", ""),
    ("areas-union", "=AREAS((Data!A1,Data!A3:A4,Data!B1))", ""),
    ("isformula-value", "=_xlfn.ISFORMULA(Data!A1)", ""),
    ("isformula-formula", "=_xlfn.ISFORMULA(Data!A2)", ""),
    ("isformula-array", "=_xlfn.ISFORMULA(Data!A1:B1)", "B:D"),
    ("cell-row", '=CELL("row",Data!B3)', ""),
    ("cell-col", '=CELL("col",Data!B3)', ""),
    ("cell-address", '=CELL("address",Data!B3)', ""),
    ("cell-address-here", '=CELL("address",C1)', ""),
    ("cell-contents", '=CELL("contents",Data!A3)', ""),
    ("cell-type-text", '=CELL("type",Data!A3)', ""),
    ("cell-type-number", '=CELL("type",Data!A1)', ""),
    ("cell-type-blank", '=CELL("type",Data!C9)', ""),
    # Implicit intersection of a scalar argument in a plain formula: the cell in its own row
    ("abs-intersects-row", "=ABS(Data!D1:D40)", ""),
    ("len-intersects-row", "=LEN(Data!D1:D40)", ""),
    ("abs-2d-no-cell", "=ABS(Data!D1:E40)", ""),
    ("abs-inside-sumproduct", "=SUMPRODUCT(ABS(Data!D1:D3))", ""),
    ("subtotal-sum", "=SUBTOTAL(9,Data!A1:A3)", ""),  # A4 is TRUE: LibreOffice would add it
    ("subtotal-counta", "=SUBTOTAL(3,Data!A1:A4,Data!B1)", ""),
    ("subtotal-average-hidden-form", "=SUBTOTAL(101,Data!A1:A2)", ""),
    ("subtotal-bad-number", "=SUBTOTAL(12,Data!A1:A2)", ""),
]


def _columns(block: str, row: int) -> str:
    first, last = block.split(":")
    return f"{first}{row}:{last}{row}"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("refinfo") / "refinfo.xlsx"
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    for cell, value in DATA.items():
        data[cell] = value
    for row in range(1, 41):
        data[f"D{row}"] = -row
    calc = wb.create_sheet("Calc")
    for row, (_, formula, block) in enumerate(CASES, start=1):
        if block:
            calc[f"B{row}"] = ArrayFormula(_columns(block, row), formula)
        else:
            calc[f"B{row}"] = formula
    wb.save(path)
    return path


def _cells(block: str, row: int) -> list[str]:
    if not block:
        return [f"B{row}"]
    first, last = block.split(":")
    return [f"{chr(c)}{row}" for c in range(ord(first), ord(last) + 1)]


@pytest.mark.libreoffice
def test_agrees_with_libreoffice(book):
    model = load_workbook(book)
    reference = recalculate(book)["Calc"]
    wrong = []
    for row, (case_id, formula, block) in enumerate(CASES, start=1):
        cells = _cells(block, row)
        ours = evaluate_cells(model, [f"Calc!{cell}" for cell in cells])
        for cell, value in zip(cells, ours, strict=True):
            expected = reference[cell].value
            if isinstance(expected, str) and expected.startswith("#"):
                expected = err(expected)
            if block and isinstance(value, bool):  # LibreOffice saves some array booleans as 1/0
                value, expected = float(value), float(expected)
            if not same(value, expected):
                wrong.append(f"{case_id} {cell}: {formula} ours {value!r} LibreOffice {expected!r}")
    assert not wrong, "\n".join(wrong)


# -- circular references without iteration: Excel leaves what reads the cycle at 0 -----------


def _circular(cells: dict[str, object]) -> dict[str, object]:
    model = WorkbookModel.from_cells(cells)
    model = dataclasses.replace(model, calc=CalcSettings(False, 100, 0.001))
    values = evaluate_all(model)
    return {f"{c.sheet}!{c.coordinate}": v for c, v in values.items() if isinstance(c, CellAddress)}


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            {"S!A1": "=A1+1", "S!B1": "=A1*10", "S!C1": "=5"},
            {"S!A1": 0.0, "S!B1": 0.0, "S!C1": 5.0},
        ),
        (
            {"S!A1": True, "S!B1": "=IF(A1,C1,1)", "S!C1": "=B1", "S!D1": "=C1+1"},
            {"S!B1": 0.0, "S!C1": 0.0, "S!D1": 0.0},
        ),
        (
            {"S!A1": False, "S!B1": "=IF(A1,C1,1)", "S!C1": "=B1", "S!D1": "=C1+1"},
            {"S!B1": 1.0, "S!C1": 1.0, "S!D1": 2.0},
        ),
        ({"S!A1": True, "S!B1": "=OR(A1,C1)", "S!C1": "=B1"}, {"S!B1": 0.0, "S!C1": 0.0}),
        (
            {"S!A1": "=1/0", "S!B1": "=IF(A1>0,C1,1)", "S!C1": "=B1"},
            {"S!B1": err("#DIV/0!"), "S!C1": err("#DIV/0!")},
        ),
    ],
    ids=["self-plus-one", "followed-if", "if-not-followed", "or-reads-all", "error-condition"],
)
def test_circular_without_iteration(cells, expected):
    # Excel's rule, seen in the values it saved in formulas' circular.xlsx (checked below).
    values = _circular(cells)
    for cell, value in expected.items():
        assert same(values[cell], value), (cell, values[cell])


# -- Excel's saved values (where LibreOffice differs: it shows #N/A past a smaller argument of
# an array formula even in IS* functions, which Excel answers) ----------------------------------------------------------------------

EXCEL_BLOCKS = [
    # (id, workbook under ../shared/conformance, cells)
    ("isformula", "formulas/test__test_files__test.xlsx", "INFORMATION!R10:AW10"),
    ("isref", "formulas/test__test_files__test.xlsx", "INFORMATION!R17:AH17"),
    ("areas", "formulas/test__test_files__test.xlsx", "LOOKUP!R4:AF4"),
    ("iserr-padded", "formulas/test__test_files__test.xlsx", "INFORMATION!AH7:AW7"),
    ("islogical-padded", "formulas/test__test_files__test.xlsx", "INFORMATION!AO11:AW11"),
    ("cell-contents", "pycel/tests__fixtures__information.xlsx", "Information!B22:K22"),
    ("subtotal-totals-row", "pycel/tests__fixtures__excelcompiler.xlsx", "sref!F4:F4"),
    ("sum-table-totals", "pycel/tests__fixtures__excelcompiler.xlsx", "sref!B4:B7"),
]


@needs_conformance
@pytest.mark.parametrize(
    ("name", "cells"), [b[1:] for b in EXCEL_BLOCKS], ids=[b[0] for b in EXCEL_BLOCKS]
)
def test_excel_saved_values(name, cells):
    wrong = disagreements(name, cells)
    assert not wrong, "\n".join(wrong)


@needs_conformance
def test_excel_saved_values_circular():
    model = saved_model("formulas/test__test_files__circular.xlsx")
    assert not model.calc.iterate  # iterateCount is set, iterate is not: iteration is off
    values = evaluate_all(model)
    wrong = [
        f"{cell}: ours {value!r} Excel {model.cached_value(cell)!r}"
        for cell, value in values.items()
        if not values_agree(model.cached_value(cell), value)
    ]
    assert not wrong, "\n".join(wrong)


def test_type_of_a_function_value_is_128():
    # Excel's saved value for TYPE(_xleta.SUM): formulas' test.xlsx INFORMATION!S24
    from xl_lesson3.formula.functions.core.function_values import FunctionValue
    from xl_lesson3.formula.functions.core.registry import lookup

    value = lookup("TYPE").impl(FunctionValue("SUM", lambda *args: args[0]))
    assert value.num.item() == 128.0
