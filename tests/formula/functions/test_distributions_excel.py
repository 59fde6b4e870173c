"""Distributions and hypothesis tests against the values Excel saved in the formulas test
workbook (../shared/conformance; skipped when absent).

Its STATISTICAL sheet gives each function one row: inputs of every kind in C:Q (numbers, a
blank, a text date, TRUE, each error) and formulas in R:AH that read them, two of them array
formulas over the whole input row. The rows of this area's functions are copied, formulas and
inputs at their own addresses, into a small workbook (the whole workbook takes half a minute to
load); every formula cell must agree with Excel's saved value by the conformance benchmark's
rule.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from xl_lesson3.formula.evaluate.check import values_agree
from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
from xl_lesson3.formula.values import ExcelError
from xl_lesson3.workbook.load import load_workbook

SOURCE = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "conformance"
    / "formulas"
    / "test__test_files__test.xlsx"
)
SHEET = "STATISTICAL"
FUNCTIONS = {
    "BETA.DIST", "BETA.INV", "BINOM.DIST", "BINOM.DIST.RANGE", "BINOM.INV", "CHISQ.DIST",
    "CHISQ.DIST.RT", "CHISQ.INV", "CHISQ.INV.RT", "CHISQ.TEST", "CONFIDENCE.NORM",
    "CONFIDENCE.T", "EXPON.DIST", "F.DIST", "F.DIST.RT", "F.INV", "F.INV.RT", "F.TEST",
    "GAMMA.DIST", "GAMMA.INV", "HYPGEOM.DIST", "LOGNORM.DIST", "LOGNORM.INV", "NEGBINOM.DIST",
    "PERMUTATIONA", "POISSON.DIST", "PROB", "T.DIST", "T.DIST.2T", "T.DIST.RT", "T.INV",
    "T.INV.2T", "T.TEST", "WEIBULL.DIST", "Z.TEST",
}  # fmt: skip
INPUTS = range(3, 18)  # columns C:Q
FORMULAS = range(18, 35)  # columns R:AH
EXTRA_INPUT_ROWS = (119, 120)  # Z.TEST reads C119:E121

pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason="../shared/conformance is absent")


def _copy(path: Path) -> dict[tuple[int, int], object]:
    """Write this area's rows to `path`; return Excel's saved value of each formula cell."""
    formulas, saved = _cells(data_only=False), _cells(data_only=True)
    rows = sorted({r for (r, c), cell in formulas.items() if c == 1 and cell.value in FUNCTIONS})
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    expected = {}
    for row in sorted(set(rows) | set(EXTRA_INPUT_ROWS)):
        for col in INPUTS:
            sheet.cell(row, col).value = getattr(saved.get((row, col)), "value", None)
        if row in EXTRA_INPUT_ROWS:
            continue
        for col in FORMULAS:
            formula = getattr(formulas.get((row, col)), "value", None)
            if isinstance(formula, ArrayFormula):
                sheet.cell(row, col).value = ArrayFormula(formula.ref, formula.text)
                first_col, first_row, last_col, last_row = range_boundaries(formula.ref)
                for r in range(first_row, last_row + 1):
                    for c in range(first_col, last_col + 1):
                        expected[(r, c)] = _saved(saved, r, c)
            elif isinstance(formula, str) and formula.startswith("="):
                sheet.cell(row, col).value = formula
                expected[(row, col)] = _saved(saved, row, col)
    book.save(path)
    return expected


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    path = tmp_path_factory.mktemp("distributions-excel") / "statistical.xlsx"
    expected = _copy(path)
    ours = evaluate_workbook(load_workbook(path))
    return {
        (address.row, address.col): (expected[(address.row, address.col)], value)
        for address, value in ours.items()
        if (address.row, address.col) in expected
    }


def test_every_cell_is_compared(cells):
    assert len(cells) > 1200


def test_agrees_with_excel(cells):
    differ = {
        f"{SHEET}!{get_column_letter(col)}{row}": (excel, ours)
        for (row, col), (excel, ours) in cells.items()
        if not values_agree(excel, ours)
    }
    assert not differ


def _cells(data_only: bool) -> dict:
    """The sheet's cells by (row, column), read in openpyxl's fast read-only mode."""
    book = openpyxl.load_workbook(SOURCE, read_only=True, data_only=data_only)
    found = {
        (cell.row, cell.column): cell
        for line in book[SHEET].iter_rows(max_row=130, max_col=50)
        for cell in line
        if hasattr(cell, "row")
    }
    book.close()
    return found


def _saved(cells: dict, row: int, col: int) -> object:
    """Excel's saved value; openpyxl reads an error as its text."""
    cell = cells.get((row, col))
    if cell is None:
        return None
    return ExcelError.from_text(cell.value) if cell.data_type == "e" else cell.value
