"""RANK.EQ/RANK.AVG take their number cell by cell in an array formula (formulas' test.xlsx
STATISTICAL!AH89 ``{=RANK.AVG(C89:Q89,C89:J89,1)}`` broke the engine before); the ranks
below follow the definitions: 1 + how many are better, ties averaged by RANK.AVG."""

from __future__ import annotations

import pytest

from xl_lesson3.formula.evaluate.tolerant import evaluate_all
from xl_lesson3.workbook.address import RangeAddress
from xl_lesson3.workbook.model import ArrayFormula, WorkbookModel

DATA = {"S!A1": 3, "S!A2": 1, "S!A3": 3, "S!A4": 7}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=RANK.AVG(A1:A4,A1:A4,1)", [2.5, 1.0, 2.5, 4.0]),
        ("=RANK.EQ(A1:A4,A1:A4)", [2.0, 4.0, 2.0, 1.0]),
        ("=RANK(A1:A4+{0;0;1;0},A1:A4)", [2.0, 4.0, "#N/A", 1.0]),  # 4 is not in A1:A4
        ("=RANK.AVG(A1:A3,A1:A4,1)", [2.5, 1.0, 2.5, "#N/A"]),  # a shorter number: #N/A after
    ],
    ids=["avg-ascending", "eq-descending", "missing", "shorter"],
)
def test_rank_of_each_number(formula, expected):
    block = RangeAddress.parse("S!C1:C4")
    model = WorkbookModel.from_cells(DATA, array_formulas=[ArrayFormula(block, formula)])
    found = evaluate_all(model)
    values = [found[cell] for cell in block.cells()]
    shown = [value if isinstance(value, float) else str(value) for value in values]
    assert shown == pytest.approx(expected)
