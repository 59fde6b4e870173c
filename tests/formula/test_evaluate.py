"""Full recalculation: values, array formulas, implicit intersection, overrides, ranges.

LibreOffice agreement for many more cases lives in test_libreoffice_agreement.py; these need
no soffice and state Excel's expected values directly.
"""

from __future__ import annotations

import pytest

from xl_lesson3.formula.evaluate.recalc import evaluate_cells, evaluate_workbook
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import ArrayFormula, DefinedName, Table, WorkbookModel

NA, DIV0, VALUE = (ExcelError(c) for c in (ErrorCode.NA, ErrorCode.DIV0, ErrorCode.VALUE))


def evaluate(cells: dict, *refs: str, **kwargs) -> list:
    return evaluate_cells(WorkbookModel.from_cells(cells, **kwargs), list(refs))


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=A1*2+A2", 7.0),
        ("=A1&A2", "23"),
        ('=IF(A1>2,"big","small")', "small"),
        ("=A1>1", True),
        ("=1/0", DIV0),
        ("=IFERROR(1/0,5)", 5.0),
        ('="a"+1', VALUE),
        ("=A9", 0.0),  # a formula showing a blank cell shows 0
        ('=A9&""', ""),
        ("=SUM(A:A)", 5.0),
        ("=SUM(1:1)", 2.0),
        ("=-2^2", 4.0),
        ("=rate*A1", 1.0),
    ],
)
def test_values(formula, expected):
    cells = {"S!A1": 2, "S!A2": 3, "S!C5": formula}
    (value,) = evaluate(cells, "S!C5", defined_names=[DefinedName("rate", "0.5")])
    assert value == expected and type(value) is type(expected)


def test_array_formula_fill_rules():
    arrays = [
        ArrayFormula(RangeAddress.parse("S!A1:B2"), "={1,2;3,4}*10"),
        ArrayFormula(RangeAddress.parse("S!D1:F2"), "={1,2}"),  # row repeated; F is #N/A
        ArrayFormula(RangeAddress.parse("S!H1:H1"), "={7;8}"),  # cropped to its range
    ]
    cells = {"S!J1": "=SUM(A1:B2)+D2"}
    values = evaluate(cells, "S!A1:B2", "S!D1:F2", "S!H1", "S!J1", array_formulas=arrays)
    assert values == [
        [[10.0, 20.0], [30.0, 40.0]],
        [[1.0, 2.0, NA], [1.0, 2.0, NA]],
        7.0,
        101.0,
    ]


def test_implicit_intersection_of_a_single_cell_formula():
    cells = {f"S!A{r}": r * 10 for r in range(1, 6)} | {"S!C1": 1, "S!D1": 2}
    cells |= {"S!B3": "=$A$1:$A$5", "S!B9": "=$A$1:$A$5", "S!D4": "=$C$1:$D$1"}
    assert evaluate(cells, "S!B3", "S!B9", "S!D4") == [30.0, VALUE, 2.0]


def test_single_cell_formula_with_an_array_result_shows_its_top_left():
    assert evaluate({"S!A1": "={5,6;7,8}*2"}, "S!A1") == [10.0]


def test_structured_references_and_this_row_runs():
    table = Table("T", RangeAddress.parse("S!A1:C4"), ("Age", "Fare", "Double"))
    cells = {"S!A1": "Age", "S!B1": "Fare", "S!C1": "Double"}
    for r, (age, fare) in enumerate([(20, 1.5), (40, 2.5), (30, 3.5)], start=2):
        cells |= {f"S!A{r}": age, f"S!B{r}": fare, f"S!C{r}": "=T[[#This Row],[Age]]*2"}
    cells |= {"Other!A1": "=SUM(T[Double])/MAX(T[Age])", "Other!A3": "=T[[#This Row],[Fare]]"}
    values = evaluate(cells, "S!C2:C4", "Other!A1", "Other!A3", tables=[table])
    assert values == [[[40.0], [80.0], [60.0]], 4.5, 2.5]


def test_overrides_replace_inputs():
    model = WorkbookModel.from_cells({"S!A1": 2, "S!B1": "=A1*3", "S!C1": "=B1+Z9"})
    values = evaluate_workbook(model, {CellAddress("S", 1, 1): 5, CellAddress("S", 9, 26): 1})
    assert values == {CellAddress("S", 1, 2): 15.0, CellAddress("S", 1, 3): 16.0}


def test_every_kind_of_value_passes_through_a_run():
    inputs = [1, "x", True, None, ExcelError(ErrorCode.NA), 2.5, "", False]
    cells = {f"S!A{r}": value for r, value in enumerate(inputs, start=1)}
    cells |= {f"S!B{r}": f"=A{r}" for r in range(1, len(inputs) + 1)}
    cells |= {f"S!C{r}": f'=IF(A{r}="x","text",A{r})' for r in range(1, 3)}
    values = evaluate_workbook(WorkbookModel.from_cells(cells))
    column_b = [values[CellAddress("S", r, 2)] for r in range(1, len(inputs) + 1)]
    assert column_b == [1.0, "x", True, 0.0, NA, 2.5, "", False]
    assert [type(v) for v in column_b[:3]] == [float, str, bool]
    assert [values[CellAddress("S", r, 3)] for r in (1, 2)] == [1.0, "text"]
    assert len(values) == len(inputs) + 2


def test_evaluate_cells_takes_addresses_ranges_and_text():
    model = WorkbookModel.from_cells({"S!A1": 1, "S!A2": "=A1+1", "S!B1": "x"})
    values = evaluate_cells(
        model, [CellAddress("S", 2, 1), RangeAddress.parse("S!A1:B2"), "S!A2", "S!B:B"]
    )
    assert values == [2.0, [[1.0, "x"], [2.0, None]], 2.0, [["x"], [None]]]


@pytest.mark.libreoffice
def test_cached_values_are_never_read(tmp_path):
    """Cached results in the file are ignored: changed inputs give freshly computed values."""
    import openpyxl

    from tests.libreoffice import recalculated_copy

    wb = openpyxl.Workbook()
    wb.active.title = "S"
    wb["S"]["A1"], wb["S"]["B1"] = 2, "=A1*3"
    wb.save(tmp_path / "in.xlsx")
    cached = recalculated_copy(tmp_path / "in.xlsx", tmp_path / "out")
    model = load_workbook(cached, cached_values=True)
    assert model.cells[CellAddress("S", 1, 2)].value == 6
    changed = evaluate_workbook(model, {CellAddress("S", 1, 1): 10})
    assert changed[CellAddress("S", 1, 2)] == 30.0
