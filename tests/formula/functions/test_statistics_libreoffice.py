"""Descriptive statistics, regression and matrix functions against LibreOffice Calc: one
workbook, one soffice run.

Sheet Data holds the samples (numbers, text, booleans and a blank mixed in column E); each case
is a formula on sheet Calc, written as an array formula over its result's block when it
returns an array (LINEST with statistics, FREQUENCY, MINVERSE …). Our engine evaluates the same
file. Where Excel and LibreOffice differ, `excel` holds Excel's value (ours) and `lo`
LibreOffice's, so the known difference is checked too.
"""

from __future__ import annotations

import pytest
from openpyxl.utils import get_column_letter

from tests.formula.functions.cells import Case, disagreement, err
from tests.libreoffice import recalculate, workbook_with_data, write_formula
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.workbook.load import load_workbook

NA, NUM, VALUE, DIV0 = err("#N/A"), err("#NUM!"), err("#VALUE!"), err("#DIV/0!")
DATA = {
    "A": [3.1, 4.9, 7.2, 8.8, 11.1, 13.2, 14.8, 17.9],  # y
    "B": [1, 2, 3, 4, 5, 6, 7, 8],  # x1
    "C": [2, 1, 4, 3, 6, 5, 8, 9],  # x2
    "D": [2, 3.1, 4.4, 6.9, 10.2, 15.1, 22.8, 33.9],  # growing y
    "E": [1, "a", True, None, 5, 2, 2, False],  # mixed kinds
    "F": [2, 9, 5, 5, 12],  # bins, unsorted, one repeated
    "G": [2, 1, 1],  # a 3x3 matrix in G:I
    "H": [0, 3, 1],
    "I": [1, 2, 2],
}


CASES = [
    Case("kurt", "=KURT(Data!A1:A8)"),
    Case("kurt-direct", "=KURT(1,2,4,8,16)"),
    Case("kurt-too-few", "=KURT(1,2,3)"),
    Case("skew", "=SKEW(Data!D1:D8)"),
    Case("skew-p", "=_xlfn.SKEW.P(Data!D1:D8)"),
    # Microsoft: SKEW is #DIV/0! when the sample standard deviation is zero
    Case("skew-equal", "=SKEW(2,2,2,2)", excel=DIV0, lo=VALUE),
    Case("averagea", "=AVERAGEA(Data!E1:E8)"),
    Case("maxa", "=MAXA(Data!E1:E8,-1)"),
    Case("mina", "=MINA(Data!E1:E8)"),
    Case("vara", "=VARA(Data!E1:E8)"),
    Case("varpa", "=VARPA(Data!E1:E8)"),
    Case("stdeva", "=STDEVA(Data!E1:E8)"),
    Case("stdevpa", "=STDEVPA(Data!E1:E8,TRUE)"),
    Case("trimmean", "=TRIMMEAN(Data!A1:A8,0.3)"),
    Case("trimmean-none", "=TRIMMEAN(Data!A1:A8,0.2)"),
    # Excel's saved value (formulas test.xlsx STATISTICAL!S115)
    Case("trimmean-bad", "=TRIMMEAN(Data!A1:A8,1)", excel=NUM, lo=VALUE),
    # 3/7 truncated to 3 digits, as Microsoft's examples do (PERCENTRANK.INC(…,4) = 0.555);
    # LibreOffice rounds
    Case("percentrank-inc", "=_xlfn.PERCENTRANK.INC(Data!A1:A8,8.8)", excel=0.428, lo=0.429),
    Case("percentrank-inc-between", "=_xlfn.PERCENTRANK.INC(Data!A1:A8,10,4)"),
    Case("percentrank-exc", "=_xlfn.PERCENTRANK.EXC(Data!A1:A8,12)"),
    # Excel's saved values (formulas test.xlsx STATISTICAL!X80 and T80)
    Case("percentrank-outside", "=PERCENTRANK(Data!A1:A8,20)", excel=NA, lo=VALUE),
    Case("percentrank-digits", "=PERCENTRANK(Data!A1:A8,9,0)", excel=NUM, lo=VALUE),
    Case("mode-mult", "=_xlfn.MODE.MULT(1,3,3,2,2,5)", shape=(2, 1)),
    # Microsoft: no repeated number is #N/A
    Case("mode-mult-none", "=_xlfn.MODE.MULT(1,2,3)", excel=NA, lo=VALUE),
    Case("frequency", "=FREQUENCY(Data!A1:A8,Data!F1:F3)", shape=(4, 1)),
    # a repeated bin: Excel counts in the first (formulas test.xlsx EXTRA!H56:H62), LibreOffice
    # in the last
    Case("frequency-repeat", "=INDEX(FREQUENCY(Data!A1:A8,Data!F1:F5),3)", excel=2.0, lo=0),
    Case("minverse", "=MINVERSE(Data!G1:I3)", shape=(3, 3)),
    # Microsoft: a matrix that cannot be inverted is #NUM!
    Case("minverse-singular", "=MINVERSE({1,2;2,4})", excel=NUM, lo=VALUE),
    Case("mdeterm", "=MDETERM(Data!G1:I3)"),
    Case("munit", "=_xlfn.MUNIT(3)", shape=(3, 3)),
    Case("linest", "=LINEST(Data!A1:A8,Data!B1:B8)", shape=(1, 2)),
    Case("linest-stats", "=LINEST(Data!A1:A8,Data!B1:C8,TRUE,TRUE)", shape=(5, 3)),
    Case("linest-origin", "=LINEST(Data!A1:A8,Data!B1:C8,FALSE,TRUE)", shape=(5, 3)),
    Case("linest-row", "=LINEST({1,3,2,5},{1,2,3,4})", shape=(1, 2)),
    Case("logest", "=LOGEST(Data!D1:D8,Data!B1:B8,TRUE,TRUE)", shape=(5, 2)),
    Case("trend", "=TREND(Data!A1:A8,Data!B1:C8,{9,10;10,11})", shape=(2, 1)),
    Case("trend-default-x", "=TREND(Data!A1:A8)", shape=(8, 1)),
    Case("trend-origin", "=TREND(Data!A1:A8,Data!B1:B8,{9;10},FALSE)", shape=(2, 1)),
    Case("growth", "=GROWTH(Data!D1:D8,Data!B1:B8,{9;10})", shape=(2, 1)),
    # Excel rounds a fractional k up for LARGE (formulas test.xlsx STATISTICAL!AK57)
    Case("large-fraction", "=LARGE(Data!A1:A8,2.2)", excel=13.2, lo=14.8),
    Case("small-fraction", "=SMALL(Data!A1:A8,2.2)"),
]


def _layout() -> list[tuple[Case, int]]:
    placed, row = [], 1
    for case in CASES:
        placed.append((case, row))
        row += case.shape[0]
    return placed


def _cells(case: Case, row: int) -> list[str]:
    rows, cols = case.shape
    return [f"Calc!{get_column_letter(2 + c)}{row + r}" for r in range(rows) for c in range(cols)]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("statistics") / "statistics.xlsx"
    wb = workbook_with_data(DATA)
    calc = wb.create_sheet("Calc")
    for case, row in _layout():
        calc[f"A{row}"] = case.id
        write_formula(calc, row, 2, case.formula, case.shape)
    wb.save(path)
    return path


@pytest.mark.libreoffice
def test_agrees_with_libreoffice(book):
    addresses = [cell for case, row in _layout() for cell in _cells(case, row)]
    ours = dict(zip(addresses, evaluate_cells(load_workbook(book), addresses), strict=True))
    reference = recalculate(book)["Calc"]
    wrong = []
    for case, row in _layout():
        for cell in _cells(case, row):
            lo_value = reference[cell.split("!")[1]].value
            problem = disagreement(case, ours[cell], lo_value, rel=1e-9)
            if problem:
                wrong.append(f"{cell} {problem}")
    assert not wrong, "\n".join(wrong)
