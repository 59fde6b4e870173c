"""Look-up and reference functions and operators, whole formulas against LibreOffice Calc.

One workbook: data on sheet Data (three more sheets for 3-D references), every formula on sheet
Calc, recalculated once by LibreOffice. Each case is evaluated by our engine from the file, so
parsing, binding, implicit intersection and the function library are all exercised. Where
Excel and LibreOffice differ, `excel` holds Excel's value (what we compute) and `lo`
LibreOffice's, so the known divergence is checked too. Functions LibreOffice 7.4 lacks (XLOOKUP,
XMATCH, FILTER, SORT, UNIQUE, SEQUENCE, LET) are checked against Excel's documented results in
`EXCEL_ONLY`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from openpyxl.worksheet.formula import ArrayFormula

from tests.formula.functions.cells import disagreement, err, same
from tests.libreoffice import recalculate, workbook_with_data
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.workbook.load import load_workbook

NA, REF, VALUE, NULL = err("#N/A"), err("#REF!"), err("#VALUE!"), err("#NULL!")
DATA = {
    "A": [1, 2, 3, 5, 8, 13],
    "B": ["one", "two", "three", "five", "eight", "thirteen"],
    "C": [10, 20, 30, 40, 50, 60],
    "E": [13, 8, 5, 3, 2, 1],  # descending
}
HORIZONTAL = {8: [1, 2, 3, 4, 5], 9: ["a", "b", "c", "d", "e"]}  # rows of D:H


@dataclass(frozen=True)
class Case:
    id: str
    formula: str
    row: int = 0  # the Calc row it sits in (0: its own row after the previous case)
    excel: object = None  # Excel's value where LibreOffice differs
    lo: object = None
    array: str = ""  # an array formula over this block of Calc (top-left is the case's cell)


CASES = [
    Case("match-exact", "=MATCH(5,Data!A1:A6,0)", row=2),
    Case("match-approx", "=MATCH(6,Data!A1:A6)"),
    Case("match-approx-below", "=MATCH(0,Data!A1:A6,1)"),
    Case("match-desc", "=MATCH(4,Data!E1:E6,-1)"),
    Case("match-text-case", '=MATCH("THREE",Data!B1:B6,0)'),
    Case("match-wildcard", '=MATCH("th*",Data!B1:B6,0)'),
    Case("match-wildcard-q", '=MATCH("?ive",Data!B1:B6,0)'),
    Case("match-missing", "=MATCH(4,Data!A1:A6,0)"),
    Case("match-2d", "=MATCH(4,Data!A1:B6,0)", excel=NA, lo=VALUE),
    Case("match-row", "=MATCH(3,Data!D8:H8,0)"),
    Case("index-2d", "=INDEX(Data!A1:C6,4,3)"),
    Case("index-col", "=INDEX(Data!B1:B6,5)"),
    Case("index-row-vector", "=INDEX(Data!D9:H9,2)"),
    Case("index-out", "=INDEX(Data!A1:C6,7,1)", excel=REF, lo=VALUE),
    Case("index-neg", "=INDEX(Data!A1:C6,-1,1)"),
    Case("index-array", "=INDEX({1,2;3,4},2,1)"),
    Case("index-sum-column", "=SUM(INDEX(Data!A1:C6,0,3))"),
    Case("index-match", "=INDEX(Data!C1:C6,MATCH(8,Data!A1:A6,0))"),
    Case("index-range", "=SUM(INDEX(Data!A1:A6,2):INDEX(Data!A1:A6,4))"),
    Case("vlookup-exact", "=VLOOKUP(5,Data!A1:C6,2,FALSE)"),
    Case("vlookup-approx", "=VLOOKUP(4,Data!A1:C6,3)"),
    Case("vlookup-missing", "=VLOOKUP(4,Data!A1:C6,3,FALSE)"),
    Case("vlookup-col-0", "=VLOOKUP(5,Data!A1:C6,0,FALSE)"),
    Case("vlookup-col-past", "=VLOOKUP(5,Data!A1:C6,4,FALSE)", excel=REF, lo=VALUE),
    Case("vlookup-text", '=VLOOKUP("Eight",Data!B1:C6,2,FALSE)'),
    Case("hlookup", "=HLOOKUP(4,Data!D8:H9,2,FALSE)"),
    Case("hlookup-approx", "=HLOOKUP(4.5,Data!D8:H9,2)"),
    Case("lookup-vector", "=LOOKUP(7,Data!A1:A6,Data!B1:B6)"),
    Case("lookup-array-tall", "=LOOKUP(3,Data!A1:C6)"),
    Case("lookup-array-wide", "=LOOKUP(2,Data!D8:H9)"),
    Case("lookup-below", "=LOOKUP(0,Data!A1:A6,Data!C1:C6)"),
    Case("choose", "=CHOOSE(3,Data!A1,Data!A2,Data!A3)"),
    Case("choose-out", "=CHOOSE(4,1,2,3)"),
    Case("choose-range", "=SUM(CHOOSE(2,Data!A1:A6,Data!C1:C6))"),
    Case("row", "=ROW(Data!B5)"),
    Case("row-self", "=ROW()", row=60),
    Case("column", "=COLUMN(Data!D1)"),
    Case("column-self", "=COLUMN()"),
    Case("rows", "=ROWS(Data!A1:C6)"),
    Case("columns", "=COLUMNS(Data!A1:C6)"),
    Case("rows-array", "=ROWS({1,2;3,4;5,6})"),
    Case("address", "=ADDRESS(3,4)"),
    Case("address-relative", "=ADDRESS(3,4,4)"),
    Case("address-sheet", '=ADDRESS(1,1,1,TRUE,"Data")'),
    Case("address-r1c1", "=ADDRESS(3,4,1,FALSE)"),
    Case("offset", "=OFFSET(Data!A1,2,2)"),
    Case("offset-sum", "=SUM(OFFSET(Data!A1,1,0,3,1))"),
    Case("offset-range-op", "=SUM(Data!A1:OFFSET(Data!A1,2,0))"),
    Case("offset-off-sheet", "=OFFSET(Data!A1,-1,0)", excel=REF, lo=VALUE),
    Case("indirect", '=INDIRECT("Data!C"&2)'),
    Case("indirect-range", '=SUM(INDIRECT("Data!A1:A3"))'),
    Case("indirect-bad", '=INDIRECT("nonsense!!")'),
    Case("transpose", "=TRANSPOSE(Data!A1:A3)", array="A1:C1"),
    Case("intersection", "=Data!A1:C3 Data!B2:B6"),
    Case("intersection-sum", "=SUM(Data!A1:C6 Data!C1:C3)"),
    Case("intersection-empty", "=SUM(Data!A1:A2 Data!C5:C6)", excel=NULL, lo=REF),
    Case("union-sum", "=SUM((Data!A1:A2,Data!C1:C2))"),
    Case("union-count", "=COUNT((Data!A1:A6,Data!B1:B6))"),
    Case("three-d", "=SUM(S1:S3!A1)"),
    Case("unknown-name", "=nosuchname"),
    # Implicit intersection: a range in a plain formula uses the cell in the formula's row.
    Case("implicit-row", "=Data!C1:C6*100", row=3),
    Case("implicit-outside", "=Data!C1:C6*100", row=9),
    Case("implicit-2d", "=Data!A1:C6*1", row=4),
    Case("implicit-sumproduct-no", "=SUMPRODUCT((Data!A1:A6>2)*Data!C1:C6)", row=5),
    Case("array-formula-no", "=SUM(Data!A1:A6*Data!C1:C6)", array="A1"),
]


EXCEL_ONLY = [  # Excel's documented results; LibreOffice 7.4 has none of these functions
    ("xlookup", '=_xlfn.XLOOKUP("five",Data!B1:B6,Data!C1:C6)', 40.0),
    ("xlookup-missing", '=_xlfn.XLOOKUP("six",Data!B1:B6,Data!C1:C6,"none")', "none"),
    ("xlookup-next-larger", "=_xlfn.XLOOKUP(4,Data!A1:A6,Data!C1:C6,,1)", 40.0),
    ("xlookup-next-smaller", "=_xlfn.XLOOKUP(4,Data!A1:A6,Data!C1:C6,,-1)", 30.0),
    ("xlookup-last", "=_xlfn.XLOOKUP(2,{2,1,2},{10,20,30},,0,-1)", 30.0),
    ("xlookup-row", "=SUM(_xlfn.XLOOKUP(3,Data!A1:A6,Data!A1:C6))", 33.0),
    ("xmatch", "=_xlfn.XMATCH(8,Data!A1:A6)", 5.0),
    ("xmatch-wild", '=_xlfn.XMATCH("t*e",Data!B1:B6,2)', 3.0),
    ("xmatch-reverse", "=_xlfn.XMATCH(1,{1,2,1},0,-1)", 3.0),
    ("sequence", "=SUM(_xlfn.SEQUENCE(3,2,10,5))", 135.0),
    ("filter", "=SUM(_xlfn._xlws.FILTER(Data!C1:C6,Data!A1:A6>4))", 150.0),
    ("filter-empty", '=_xlfn._xlws.FILTER(Data!C1:C6,Data!A1:A6>40,"no")', "no"),
    ("sort-first", "=INDEX(_xlfn._xlws.SORT(Data!E1:E6),1)", 1.0),
    ("sort-desc", "=INDEX(_xlfn._xlws.SORT(Data!A1:C6,3,-1),1,2)", "thirteen"),
    ("unique", "=ROWS(_xlfn.UNIQUE({1;2;1;3;2}))", 3.0),
    ("unique-once", "=SUM(_xlfn.UNIQUE({1;2;1;3;2},,TRUE))", 3.0),
    ("let", "=_xlfn.LET(_xlpm.x,Data!A4,_xlpm.y,_xlpm.x*2,_xlpm.x+_xlpm.y)", 15.0),
    ("single", "=_xlfn.SINGLE(Data!A1:A6)*1", 0.0),  # filled in by position below
    ("spill-ref", "=SUM(_xlfn.ANCHORARRAY(Calc!Z1))", 60.0),
    # An intersection with a union is the union of the intersections (a workbook in
    # ../shared/conformance has one); LibreOffice's xlsx import does not read it.
    ("intersect-union", "=SUM(Data!A1:C3 (Data!A1:A6,Data!C1:C6))", 66.0),
    ("intersect-union-empty", "=SUM(Data!A1:C2 (Data!C1:C2,Data!E5:E6))", 30.0),
]


def _layout() -> list[tuple[Case, int]]:
    placed, row = [], 1
    for case in CASES:
        row = case.row or row
        placed.append((case, row))
        row += 1
    return placed


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("lookup") / "lookup.xlsx"
    wb = workbook_with_data(DATA)
    data = wb["Data"]
    for row, values in HORIZONTAL.items():
        for j, value in enumerate(values):
            data.cell(row, 4 + j, value)
    calc = wb.create_sheet("Calc")
    for case, row in _layout():
        if case.array:
            first, _, last = case.array.partition(":")
            block = f"B{row}:{chr(ord('B') + ord(last[0]) - ord(first[0]))}{row}" if last else None
            calc[f"B{row}"] = ArrayFormula(block or f"B{row}", case.formula)
        else:
            calc[f"B{row}"] = case.formula
    for i, name in enumerate(("S1", "S2", "S3")):
        wb.create_sheet(name)["A1"] = 10**i
    calc["Z1"] = ArrayFormula("Z1:Z3", "=Data!C1:C3")
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def ours(book):
    model = load_workbook(book)
    return dict(
        zip(
            [case.id for case, _ in _layout()],
            evaluate_cells(model, [f"Calc!B{row}" for _, row in _layout()]),
            strict=True,
        )
    )


@pytest.mark.libreoffice
def test_agrees_with_libreoffice(book, ours):
    reference = recalculate(book)["Calc"]
    wrong = []
    for case, row in _layout():
        problem = disagreement(case, ours[case.id], reference[f"B{row}"].value)
        if problem:
            wrong.append(problem)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("formula", "expected"), [case[1:] for case in EXCEL_ONLY], ids=[c[0] for c in EXCEL_ONLY]
)
def test_excel_only_functions(tmp_path, formula, expected):
    wb = workbook_with_data(DATA)
    calc = wb.create_sheet("Calc")
    calc["B4"] = formula  # row 4: @Data!A1:A6 is A4 = 5
    calc["Z1"] = ArrayFormula("Z1:Z3", "=Data!C1:C3")
    wb.save(tmp_path / "x.xlsx")
    (value,) = evaluate_cells(load_workbook(tmp_path / "x.xlsx"), ["Calc!B4"])
    if formula.startswith("=_xlfn.SINGLE"):
        expected = 5.0
    assert same(value, expected), value
