"""The array-shaping functions (VSTACK ... TRIMRANGE, SORTBY) and PERCENTOF.

LibreOffice 7.4 has none of them, so the references are Microsoft's documentation examples
(expected values worked out by hand from the documented rules) and the values Excel saved in
formulas' test.xlsx (../shared/conformance; those tests skip when it is absent).
"""

from __future__ import annotations

import re

import pytest
import torch

from tests.formula.functions.cells import call, err, ref, same, val
from xl_lesson3.formula.evaluate.check import formula_text, values_agree
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.workbook.address import RangeAddress

# LibreOffice 7.4 lacks these: tested against Microsoft's documentation and Excel's saved values.
EXCEL_ONLY_FUNCTIONS = {"VSTACK", "HSTACK", "CHOOSECOLS", "CHOOSEROWS", "TAKE", "DROP", "EXPAND",
                        "TOCOL", "TOROW", "WRAPROWS", "WRAPCOLS", "TRIMRANGE", "SORTBY",
                        "PERCENTOF", "GROUPBY", "PIVOTBY"}  # fmt: skip
NA, NUM, VALUE, REF = err("#N/A"), err("#NUM!"), err("#VALUE!"), err("#REF!")
GRID = val([[1, 2, 3], [4, 5, 6], [7, 8, 9]])

CASES = [
    # (id, function, args, expected)
    ("vstack-doc", "VSTACK", [val([["A", "B"], ["C", "D"]]), val([[1, 2], [3, 4]])],
     [["A", "B"], ["C", "D"], [1, 2], [3, 4]]),
    ("vstack-ragged-na", "VSTACK", [val([[1, 2, 3]]), val([[4]])], [[1, 2, 3], [4, NA, NA]]),
    ("vstack-keeps-errors", "VSTACK", [val(NUM), val([[1]])], [[NUM], [1]]),
    ("hstack-doc", "HSTACK", [val([["A", "B"]]), val([["C", "D"]])], [["A", "B", "C", "D"]]),
    ("hstack-ragged-na", "HSTACK", [val([[1], [2]]), val(3)], [[1, 3], [2, NA]]),
    ("choosecols-doc", "CHOOSECOLS", [GRID, val(1), val(3)], [[1, 3], [4, 6], [7, 9]]),
    ("choosecols-negative", "CHOOSECOLS", [GRID, val(-1)], [[3], [6], [9]]),
    ("choosecols-truncates", "CHOOSECOLS", [GRID, val(-3.9)], [[1], [4], [7]]),
    ("choosecols-vector", "CHOOSECOLS", [GRID, val([[2, 2]])], [[2, 2], [5, 5], [8, 8]]),
    ("choosecols-zero", "CHOOSECOLS", [GRID, val(0)], VALUE),
    ("choosecols-too-far", "CHOOSECOLS", [GRID, val(4)], VALUE),
    ("choosecols-2d-index", "CHOOSECOLS", [GRID, val([[1, 2], [2, 1]])], VALUE),
    ("choosecols-error", "CHOOSECOLS", [GRID, ref(NA)], NA),
    ("chooserows-doc", "CHOOSEROWS", [GRID, val(1), val(3)], [[1, 2, 3], [7, 8, 9]]),
    ("chooserows-text-date", "CHOOSEROWS", [GRID, ref("01/01/1900")], [[1, 2, 3]]),
    ("chooserows-blank", "CHOOSEROWS", [GRID, ref(None)], VALUE),
    ("take-doc-rows", "TAKE", [GRID, val(2)], [[1, 2, 3], [4, 5, 6]]),
    ("take-doc-cols", "TAKE", [GRID, val(None), val(2)], [[1, 2], [4, 5], [7, 8]]),
    ("take-doc-negative", "TAKE", [GRID, val(-2)], [[4, 5, 6], [7, 8, 9]]),
    ("take-clamps", "TAKE", [GRID, val(-4)], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
    ("take-zero-is-calc", "TAKE", [GRID, val(0)], VALUE),
    ("take-lifted", "TAKE", [GRID, ref("1.1"), val([[1], [2]])], [[1], [1]]),
    ("drop-doc", "DROP", [GRID, val(2)], [[7, 8, 9]]),
    ("drop-doc-cols", "DROP", [GRID, val(None), val(2)], [[3], [6], [9]]),
    ("drop-negative", "DROP", [GRID, val(-2)], [[1, 2, 3]]),
    ("drop-zero-keeps-all", "DROP", [GRID, val(0)], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
    ("drop-everything", "DROP", [GRID, val(3)], VALUE),
    ("drop-lifted", "DROP", [GRID, val(1), val([[1], [2]])], [[5], [6]]),
    ("expand-doc", "EXPAND", [val([[1, 2], [3, 4]]), val(3), val(3)],
     [[1, 2, NA], [3, 4, NA], [NA, NA, NA]]),
    ("expand-pad", "EXPAND", [val([[1]]), val(2), val(2), val(4)], [[1, 4], [4, 4]]),
    ("expand-smaller", "EXPAND", [val([[1, 2]]), val(1), val(1)], VALUE),
    ("expand-omitted-rows", "EXPAND", [val([[1]]), val(None), val(2)], [[1, NA]]),
    ("tocol-doc", "TOCOL", [val([[1, 2], [3, 4]])], [[1], [2], [3], [4]]),
    ("tocol-by-column", "TOCOL", [val([[1, 2], [3, 4]]), val(0), val(True)], [[1], [3], [2], [4]]),
    ("tocol-skip-blanks", "TOCOL", [ref([[1, None], [VALUE, 2]]), val(1)], [[1], [VALUE], [2]]),
    ("tocol-skip-errors", "TOCOL", [ref([[1, None], [VALUE, 2]]), val(2)], [[1], [None], [2]]),
    ("tocol-skip-all", "TOCOL", [ref([[None, NA]]), val(3)], VALUE),
    ("tocol-bad-ignore", "TOCOL", [GRID, val(4)], VALUE),
    ("torow-doc", "TOROW", [val([[1, 2], [3, 4]])], [[1, 2, 3, 4]]),
    ("torow-lifted", "TOROW", [ref([[1, 2]]), val([[0, 5]])], [[1, VALUE]]),
    ("wraprows-doc", "WRAPROWS", [val([[1, 2, 3, 4, 5]]), val(2)], [[1, 2], [3, 4], [5, NA]]),
    ("wraprows-pad", "WRAPROWS", [val([[1, 2, 3]]), val(2), val("x")], [[1, 2], [3, "x"]]),
    ("wraprows-below-one", "WRAPROWS", [val([[1, 2, 3]]), val(0.5)], NUM),
    ("wraprows-2d", "WRAPROWS", [GRID, val(2)], VALUE),
    ("wrapcols-doc", "WRAPCOLS", [val([[1], [2], [3], [4], [5]]), val(2)],
     [[1, 3, 5], [2, 4, NA]]),
    ("trimrange-both", "TRIMRANGE", [ref([[None, None], [None, 1], [2, None], [None, None]])],
     [[None, 1], [2, None]]),
    ("trimrange-leading-rows", "TRIMRANGE", [ref([[None, None], [None, 1], [None, None]]),
                                             val(1), val(0)], [[None, 1], [None, None]]),
    ("trimrange-all-blank", "TRIMRANGE", [ref([[None, None]])], REF),
    ("trimrange-fraction", "TRIMRANGE", [ref([[1]]), val(2.3)], VALUE),
    ("sortby-doc", "SORTBY", [val([["Tom"], ["Fred"], ["Amy"]]), val([[52], [65], [22]])],
     [["Amy"], ["Tom"], ["Fred"]]),
    ("sortby-two-keys", "SORTBY", [val([[1, 2, 3], [4, 5, 6]]), val([[3, 2, 2]]), val(1),
                                   val([[5, 1, 4]]), val(-1)], [[3, 2, 1], [6, 5, 4]]),
    ("sortby-blanks-last", "SORTBY", [ref([[1], [2], [3]]), ref([[None], [2], [1]])],
     [[3], [2], [1]]),
    ("sortby-wrong-shape", "SORTBY", [GRID, val([[1, 2]])], VALUE),
    ("sortby-bad-order", "SORTBY", [val([[1], [2]]), val([[2], [1]]), val(2)], VALUE),
    ("percentof-doc", "PERCENTOF", [ref([[10], [30]]), ref([[10], [30], [60]])], 0.4),
    ("percentof-skips-text", "PERCENTOF", [ref([[1], ["a"]]), ref([[1], [True], [3]])], 0.25),
    ("percentof-error-is-num", "PERCENTOF", [ref([[1], [NA]]), ref([[4]])], NUM),
    ("percentof-zero-whole", "PERCENTOF", [ref([[1]]), ref([[0]])], err("#DIV/0!")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_documented_rules(name, args, expected):
    actual = call(name, *args)
    assert same(actual, expected), actual


def test_gather_keeps_gradients():
    """The values move with one gather: a gradient reaches exactly the cells picked."""
    x = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3).requires_grad_()
    from xl_lesson3.formula.values import Block

    out = lookup("CHOOSECOLS").impl(Block(x), val(-1))
    out.num.sum().backward()
    assert x.grad[0, 0, :, 2].tolist() == [1.0, 1.0, 1.0]
    assert float(x.grad.sum()) == 3.0


def test_run_of_counts_pads_with_na():
    """Cells of a run asking for different sizes: each result padded to the largest."""
    from xl_lesson3.formula.values import Block

    counts = Block(torch.tensor([1.0, 2.0], dtype=torch.float64).reshape(1, 2, 1, 1))
    out = lookup("TAKE").impl(GRID, counts)
    assert out.shape == (2, 3)
    assert out.err[0, 0].tolist() == [[0, 0, 0], [7, 7, 7]]
    assert out.num[0, 1, 1].tolist() == [4.0, 5.0, 6.0]


# -- Excel's saved values ------------------------------------------------------------------------

SHAPING = ("VSTACK", "HSTACK", "CHOOSECOLS", "CHOOSEROWS", "DROP", "TAKE", "TOCOL", "TOROW",
           "WRAPROWS", "WRAPCOLS", "EXPAND", "TRIMRANGE", "SORTBY", "PERCENTOF")  # fmt: skip
AREAS = (
    "LOOKUP!R6:AW21",
    "LOOKUP!R47:X49",
    "LOOKUP!R120:AW159",
    "LOOKUP!F155:Q159",
    "'MATH & TRIG'!R49:AW49",
)


@pytest.mark.parametrize("name", SHAPING)
def test_agrees_with_excel(formulas_test_book, name):
    calls = re.compile(rf"(?<![A-Z.])(_xlfn\.)?{re.escape(name)}\(", re.IGNORECASE)
    cells = [
        cell
        for area in AREAS
        for cell in RangeAddress.parse(area).cells()
        if calls.search(formula_text(formulas_test_book, cell) or "")
    ]
    assert cells, f"no {name} cells found"
    ours = evaluate_cells(formulas_test_book, cells)
    wrong = [(str(c), formulas_test_book.cached_value(c), v) for c, v in zip(cells, ours)
             if not values_agree(formulas_test_book.cached_value(c), v)]  # fmt: skip
    assert not wrong, wrong[:5]
