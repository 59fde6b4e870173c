"""Analysis ToolPak functions give #VALUE! for a multi-cell reference where they take one
value, in array formulas too (Excel's saved values: formulas' test.xlsx, e.g. DATE & TIME!AH9
``{=EDATE(E9:I9,C9:G9)}``, ENGINEERING!AH21 ``{=ERF(C21:I21)}``, INFORMATION!AH15
``{=ISODD(C15:Q15)}``); an array (``A1:A3+0``) or one cell is computed as usual."""

from __future__ import annotations

import pytest

from xl_lesson3.formula.evaluate.tolerant import evaluate_all
from xl_lesson3.workbook.address import RangeAddress
from xl_lesson3.workbook.model import ArrayFormula, WorkbookModel

DATA = {"S!A1": 1, "S!A2": 2, "S!A3": 40000}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=EDATE(A1:A3,1)", ["#VALUE!"] * 3),
        ("=ISODD(A1:A3)", ["#VALUE!"] * 3),
        ("=ERF(A1:A3)", ["#VALUE!"] * 3),
        ("=YEARFRAC(A1:A3,A3)", ["#VALUE!"] * 3),
        ("=DEC2HEX(A1:A3)", ["#VALUE!"] * 3),
        ("=ISODD(A1:A3+0)", [True, False, False]),
        ("=EDATE(A1:A3+0,1)", [32.0, 33.0, 40031.0]),
        ("=ISODD(A1)", [True, True, True]),
        ("=SIN(A1:A2)*0+A1:A3", [1.0, 2.0, "#N/A"]),  # not a ToolPak function: lifts
    ],
    ids=[
        "edate", "isodd", "erf", "yearfrac", "dec2hex",
        "isodd-array", "edate-array", "isodd-one-cell", "sin-lifts",
    ],
)  # fmt: skip
def test_toolpak_functions_refuse_multi_cell_references(formula, expected):
    block = RangeAddress.parse("S!C1:C3")
    model = WorkbookModel.from_cells(DATA, array_formulas=[ArrayFormula(block, formula)])
    found = evaluate_all(model)
    values = [found[cell] for cell in block.cells()]
    shown = [value if isinstance(value, (bool, float)) else str(value) for value in values]
    assert shown == pytest.approx(expected)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=N(A1:A3)", [1.0, 1.0, 1.0]),
        ("=N(A1:A3+0)", [1.0, 2.0, 40000.0]),
        ("=T(B1:B3)", ["x", "x", "x"]),
    ],
    ids=["n-reference", "n-array", "t-reference"],
)
def test_n_and_t_read_the_first_cell_of_a_reference(formula, expected):
    """Excel's saved values: formulas' test.xlsx INFORMATION!AH19:AW19, TEXT!AH42."""
    block = RangeAddress.parse("S!C1:C3")
    cells = {**DATA, "S!B1": "x", "S!B2": "y", "S!B3": 3}
    model = WorkbookModel.from_cells(cells, array_formulas=[ArrayFormula(block, formula)])
    found = evaluate_all(model)
    assert [found[cell] for cell in block.cells()] == pytest.approx(expected)
