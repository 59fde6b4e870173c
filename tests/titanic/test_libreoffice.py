"""LibreOffice, forced to recalculate, agrees with every cached value the builder wrote."""

from __future__ import annotations

import math

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from tests import libreoffice

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def recalculated(built) -> openpyxl.Workbook:
    """One soffice run for the whole module."""
    return libreoffice.recalculate(built.path)


def formula_cells(wb: openpyxl.Workbook) -> list[tuple[str, str]]:
    """(sheet, coordinate) of every formula cell, each cell of an array formula's range too."""
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, ArrayFormula):
                    min_col, min_row, max_col, max_row = range_boundaries(value.ref)
                    found += [
                        (ws.title, ws.cell(r, c).coordinate)
                        for r in range(min_row, max_row + 1)
                        for c in range(min_col, max_col + 1)
                    ]
                elif isinstance(value, str) and value.startswith("="):
                    found.append((ws.title, cell.coordinate))
    return found


def test_every_formula_cell_matches_libreoffice(formulas, cached, recalculated):
    cells = formula_cells(formulas)
    assert len(cells) > 3 * 712 * 9  # derived + model columns of three sheets
    mismatches = []
    for sheet, coordinate in cells:
        ours, theirs = cached[sheet][coordinate].value, recalculated[sheet][coordinate].value
        numbers = isinstance(ours, (int, float)) and isinstance(theirs, (int, float))
        if not numbers or not math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12):
            mismatches.append((sheet, coordinate, ours, theirs))
    assert mismatches[:10] == []


@pytest.mark.parametrize("sheet", ["linear", "nnet", "mmult"])
def test_total_losses_match_libreoffice(cached, recalculated, built, sheet):
    theirs = recalculated[sheet]["B2"].value
    assert isinstance(theirs, float)
    assert cached[sheet]["B2"].value == pytest.approx(theirs, rel=1e-9)
    assert built.losses[sheet] == pytest.approx(theirs, rel=1e-9)
