"""GROUPBY and PIVOTBY, called with function values built here from registered built-ins (what
``_xleta.SUM`` evaluates to), against a documentation-style example worked out by hand and
against the values Excel saved in formulas' test.xlsx (../shared/conformance; skipped when
absent). LibreOffice 7.4 has neither function.
"""

from __future__ import annotations

import pytest

from tests.formula.functions.cells import call, err, ref, same, val
from xl_lesson3.formula.evaluate.check import values_agree
from xl_lesson3.formula.functions.core.function_values import FunctionValue, builtin_function
from xl_lesson3.workbook.address import RangeAddress
from xl_lesson3.workbook.load import load_workbook

VALUE = err("#VALUE!")


def fn(name: str) -> FunctionValue:
    """A built-in passed as a value, as ``_xleta.NAME`` evaluates."""
    return builtin_function(name)


# Sales by region and product, like Microsoft's GROUPBY examples.
REGION = ref([["Region"], ["East"], ["West"], ["East"], ["West"], ["East"]])
PRODUCT = ref([["Product"], ["Pen"], ["Pen"], ["Ink"], ["Ink"], ["Ink"]])
SALES = ref([["Sales"], [10], [20], [30], [40], [50]])

EXAMPLES = [
    # (id, function, args, expected worked out by hand)
    ("groupby-sum", "GROUPBY", [REGION, SALES, fn("SUM")],
     [["East", 90], ["West", 60], ["Total", 150]]),
    ("groupby-headers-shown", "GROUPBY", [REGION, SALES, fn("SUM"), val(3), val(0)],
     [["Region", "Sales"], ["East", 90], ["West", 60]]),
    ("groupby-sort-by-value-desc", "GROUPBY", [REGION, SALES, fn("SUM"), val(1), val(0), val(-2)],
     [["East", 90], ["West", 60]]),
    ("groupby-totals-on-top", "GROUPBY", [REGION, SALES, fn("COUNT"), val(1), val(-1)],
     [["Total", 5], ["East", 3], ["West", 2]]),
    ("groupby-filter", "GROUPBY", [REGION, SALES, fn("SUM"), val(1), val(0), None,
                                   ref([["f"], [True], [False], [True], [True], [False]])],
     [["East", 40], ["West", 40]]),
    ("groupby-two-levels-subtotals", "GROUPBY",
     [ref([["East", "Pen"], ["West", "Pen"], ["East", "Ink"], ["West", "Ink"]]),
      ref([[1], [2], [3], [4]]), fn("SUM"), val(0), val(2)],
     [["East", "Ink", 3], ["East", "Pen", 1], ["East", "", 4], ["West", "Ink", 4],
      ["West", "Pen", 2], ["West", "", 6], ["Grand Total", "", 10]]),
    ("groupby-percentof", "GROUPBY", [REGION, SALES, fn("PERCENTOF")],
     [["East", 0.6], ["West", 0.4], ["Total", 1.0]]),
    ("groupby-sort-index-too-big", "GROUPBY", [REGION, SALES, fn("SUM"), val(1), val(1), val(3)],
     VALUE),
    ("groupby-not-a-function", "GROUPBY", [REGION, SALES, ref(err("#N/A"))], err("#N/A")),
    ("groupby-unequal-lengths", "GROUPBY", [REGION, ref([[1], [2]]), fn("SUM")], VALUE),
    ("pivotby-sum", "PIVOTBY", [REGION, PRODUCT, SALES, fn("SUM")],
     [["", "Ink", "Pen", "Total"], ["East", 80, 10, 90], ["West", 40, 20, 60],
      ["Total", 120, 30, 150]]),
    ("pivotby-empty-combination", "PIVOTBY",
     [ref([[1], [2]]), ref([["a"], ["b"]]), ref([[5], [6]]), fn("SUM"), val(0), val(0), None,
      val(0)],
     [["", "a", "b"], [1, 5, ""], [2, "", 6]]),
    ("pivotby-percent-of-row", "PIVOTBY", [REGION, PRODUCT, SALES, fn("PERCENTOF"), val(1), val(0),
                                           None, val(0), None, None, val(1)],
     [["", "Ink", "Pen"], ["East", 80 / 90, 10 / 90], ["West", 40 / 60, 20 / 60]]),
    ("pivotby-if-is-not-an-aggregate", "PIVOTBY",
     [ref([[1]]), ref([[1]]), ref([[1]]), fn("IF"), val(0), val(0), None, val(0)],
     [["", 1], [1, VALUE]]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "expected"), [c[1:] for c in EXAMPLES],
                         ids=[c[0] for c in EXAMPLES])  # fmt: skip
def test_worked_examples(name, args, expected):
    actual = call(name, *args)
    assert same(actual, expected), actual


# -- Excel's saved values ------------------------------------------------------------------------
# (id, output range, function, arguments: "Sheet!A1:B2" read from the book, "=NAME" a function
#  value, anything else a literal)
SAVED = [
    ("groupby-subtotals", "LOOKUP!M25:Q39", "GROUPBY",
     ["LOOKUP!C25:E43", "LOOKUP!I25:J43", "=SUM", 3, 3]),
    ("groupby-percentof", "LOOKUP!S25:W39", "GROUPBY",
     ["LOOKUP!C25:E43", "LOOKUP!I25:J43", "=PERCENTOF", 3, 3]),
    ("groupby-auto-headers", "LOOKUP!Y25:AC32", "GROUPBY",
     ["LOOKUP!C25:E43", "LOOKUP!I25:J43", "=AVERAGE"]),
    ("groupby-filter-table", "LOOKUP!AE25:AI32", "GROUPBY",
     ["LOOKUP!F25:H43", "LOOKUP!I25:J43", "=AVERAGE", 3, 1, 1, "LOOKUP!K25:K43", 1]),
    ("groupby-lengths", "LOOKUP!Y34:Y34", "GROUPBY",
     ["LOOKUP!C25:E43", "LOOKUP!I25:J42", "=AVERAGE"]),
    ("groupby-sort-range", "LOOKUP!Z34:Z34", "GROUPBY",
     ["LOOKUP!C25:E43", "LOOKUP!I25:J43", "=AVERAGE", 1, 2, 6]),
    ("pivotby-totals-on-top", "LOOKUP!AJ92:AM95", "PIVOTBY",
     ["LOOKUP!C93:C111", "LOOKUP!F93:F111", "LOOKUP!I93:I111", "=SUM", 1, -1, 2, -1, 2,
      "LOOKUP!K93:K111"]),
    ("pivotby-three-levels", "LOOKUP!N93:AB103", "PIVOTBY",
     ["LOOKUP!C93:E111", "LOOKUP!F93:H111", "LOOKUP!I93:J111", "=SUM", 1, 1, 1, 0, 3,
      "LOOKUP!K93:L111"]),
    ("pivotby-sort-by-value", "LOOKUP!AR96:AW99", "PIVOTBY",
     ["LOOKUP!C93:C111", "LOOKUP!F93:G111", "LOOKUP!I93:I111", "=SUM", 1, 0, 2, 1, 3,
      "LOOKUP!K93:K111"]),
    ("pivotby-sort-keys-array", "LOOKUP!AJ101:AO105", "PIVOTBY",
     ["LOOKUP!C93:C111", "LOOKUP!F93:G111", "LOOKUP!I93:I111", "=SUM", 1, 1, 1, 1, [[1, -2]],
      "LOOKUP!K93:K111"]),
    ("pivotby-filter-error", "LOOKUP!N105:N105", "PIVOTBY",
     ["LOOKUP!C93:E111", "LOOKUP!F93:H111", "LOOKUP!I93:J111", "=SUM", 1, 1, 1, 0, 1,
      "LOOKUP!L93:L111"]),
    ("pivotby-depth-too-deep", "EXTRA!AX3:AX3", "PIVOTBY",
     ["LOOKUP!C93:C111", "LOOKUP!F93:F111", "LOOKUP!I93:I111", "=PERCENTOF", 1, 3, 1, 3, 1,
      "LOOKUP!K93:K111", 0]),
    *[(f"pivotby-relative-{mode}", f"LOOKUP!AE{96 + 4 * mode}:AH{99 + 4 * mode}", "PIVOTBY",
       ["LOOKUP!C93:C111", "LOOKUP!F93:F111", "LOOKUP!I93:I111", "=PERCENTOF", 1, 1, 1, 1, 1,
        "LOOKUP!K93:K111", mode]) for mode in range(4)],
    *[(f"pivotby-parent-{mode}", f"EXTRA!{cols}95:{end}104", "PIVOTBY",
       [[["r1", "r2"], [2, 1], [2, 2], [3, 1]], [["c1", "c2"], [1, 1], [2, 1], [2, 2]],
        [["v1", "v2"], [1, 3], [2, 5], [3, 2]], "=PERCENTOF", 3, 2, 1, 0, 1,
        [["f"], [1], [1], [1]], mode]) for mode, cols, end in ((3, "BD", "BK"), (4, "BM", "BT"))],
    ("pivotby-defaults", "EXTRA!H96:K99", "PIVOTBY", [[[2], [2], [3]], [[1], [2], [2]],
                                                     [[1], [2], [3]], "=SUM"]),
    ("pivotby-if", "EXTRA!H100:K103", "PIVOTBY", [[[2], [2], [3]], [[1], [2], [2]],
                                                 [[1], [2], [3]], "=IF"]),
]  # fmt: skip


def _argument(book, arg):
    if isinstance(arg, str) and arg.startswith("="):
        return fn(arg[1:])
    if isinstance(arg, str):
        rng = RangeAddress.parse(arg)
        cells = rng.cells()
        width = rng.shape[1]
        values = [book.cached_value(c) for c in cells]
        return ref([values[i : i + width] for i in range(0, len(values), width)])
    return val(arg)


@pytest.mark.parametrize(("area", "name", "args"), [c[1:] for c in SAVED],
                         ids=[c[0] for c in SAVED])  # fmt: skip
def test_agrees_with_excel(formulas_test_book, area, name, args):
    result = call(name, *[_argument(formulas_test_book, a) for a in args])
    grid = result if isinstance(result, list) else [[result]]
    rng = RangeAddress.parse(area)
    wrong = []
    for cell in rng.cells():
        r, c = cell.row - rng.min_row, cell.col - rng.min_col
        ours = grid[r][c] if r < len(grid) and c < len(grid[0]) else err("#N/A")
        if not values_agree(formulas_test_book.cached_value(cell), ours):
            wrong.append((str(cell), formulas_test_book.cached_value(cell), ours))
    assert not wrong, wrong[:5]


ENGINE_FORMULAS = [
    # (id, formula, expected): through the parser and the engine, LAMBDA and _xleta included
    ("lambda-aggregate", "=INDEX(GROUPBY(A2:A6,B2:B6,LAMBDA(x,MAX(x))),1,2)", 50.0),
    ("eta-sum", "=INDEX(_xlfn.GROUPBY(A2:A6,B2:B6,_xleta.SUM),2,2)", 60.0),
    ("pivot-count", "=INDEX(_xlfn.PIVOTBY(A2:A6,C2:C6,B2:B6,_xleta.COUNT),2,2)", 2.0),
    ("shaping-chain", "=SUM(TAKE(SORTBY(B2:B6,B2:B6,-1),2))", 90.0),
]


@pytest.mark.parametrize(("formula", "expected"), [c[1:] for c in ENGINE_FORMULAS],
                         ids=[c[0] for c in ENGINE_FORMULAS])  # fmt: skip
def test_through_the_engine(make_workbook, formula, expected):
    from xl_lesson3.formula.evaluate.recalc import evaluate_cells

    rows = [("East", 10, "Pen"), ("West", 20, "Pen"), ("East", 30, "Ink"), ("West", 40, "Ink"),
            ("East", 50, "Ink")]  # fmt: skip
    cells = {"S!D1": formula}
    for i, (region, sales, product) in enumerate(rows, start=2):
        cells.update({f"S!A{i}": region, f"S!B{i}": sales, f"S!C{i}": product})
    (value,) = evaluate_cells(load_workbook(make_workbook(cells)), ["S!D1"])
    assert same(value, expected), value
