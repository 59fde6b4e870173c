"""Agreement with LibreOffice Calc: one workbook of many formulas, recalculated once.

Each case is a formula for LibreOffice and the same computation done by calling our functions
on blocks built from the same inputs (no parser needed). Where LibreOffice differs from Excel
and we follow Excel, the case records LibreOffice's value in `lo` (so the divergence itself is
checked) and the Excel value is asserted by the unit tests; the reasons are in the modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import openpyxl
import pytest
from openpyxl.utils import range_boundaries
from openpyxl.worksheet.formula import ArrayFormula

from tests.formula.functions.cells import err
from tests.libreoffice import recalculate
from xl_lesson3.formula.functions.core.literals import block_from_values, block_to_values
from xl_lesson3.formula.functions.core.operators import BINARY_OPERATORS, UNARY_OPERATORS
from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block, ExcelError

DIV0, NA = err("#DIV/0!"), err("#N/A")
# Inputs on sheet Data; error cells are written as formulas that make them.
DATA = {
    "A": [1.5, -2, 3, 0.25, 4, 10],
    "B": [2, 0.5, -1, 4, 3, 1],
    "C": ["text", "3", None, 5],
    "D": [DIV0, NA, 2],
    "E": [1, 3, 5],
    "F": [2, 4, 6],
    "G": [1, 2],
    "H": [-1, 0.5],
    "P": [0.9, 0.2, 0.6, 0.99],
    "Q": [1, 0, 1, 1],
}
ERROR_FORMULAS = {DIV0: "=1/0", NA: "=NA()"}


def cell_value(column: str, row: int) -> object:
    values = DATA.get(column, [])
    return values[row - 1] if row <= len(values) else None


def R(text: str) -> Block:
    """The block a reference to Data!<text> evaluates to."""
    min_col, min_row, max_col, max_row = range_boundaries(text)
    grid = [
        [cell_value(openpyxl.utils.get_column_letter(c), r) for c in range(min_col, max_col + 1)]
        for r in range(min_row, max_row + 1)
    ]
    return block_from_values(grid, from_reference=True)


def V(value: object) -> Block:
    return block_from_values(value)


def F(name: str) -> Callable[..., Block]:
    return lookup(name).impl


OP = BINARY_OPERATORS


@dataclass(frozen=True)
class Case:
    id: str
    formula: str  # references are to sheet Data, written without the sheet name
    compute: Callable[[], Block]
    lo: object = None  # LibreOffice's value where it knowingly differs from Excel (and us)
    shape: tuple[int, int] = (1, 1)  # >1×1: written as an array formula over this block


def _qualify(formula: str) -> str:
    """Prefix every A1 reference with the Data sheet."""
    import re

    return re.sub(r"(?<![A-Za-z_.!\"])(\$?[A-Z]{1,2}\$?\d+)(?![\w(])", r"Data!\1", formula)


CASES = [
    Case("add-ranges", "=A1+B1", lambda: OP["+"](R("A1"), R("B1"))),
    Case("numeric-text-arith", '="3"+1', lambda: OP["+"](V("3"), V(1))),
    Case("text-cell-arith", "=C1+1", lambda: OP["+"](R("C1"), V(1))),
    Case("numeric-text-cell", "=C2*2", lambda: OP["*"](R("C2"), V(2))),
    Case("blank-cell-arith", "=C3+1", lambda: OP["+"](R("C3"), V(1))),
    Case("div0", "=A1/0", lambda: OP["/"](R("A1"), V(0))),
    Case("div-blank", "=A1/C3", lambda: OP["/"](R("A1"), R("C3"))),
    Case("na-beats-div0", "=D2/0", lambda: OP["/"](R("D2"), V(0))),
    Case("div0-then-na", "=1/0+D2", lambda: OP["+"](OP["/"](V(1), V(0)), R("D2"))),
    Case("power", "=A3^B2", lambda: OP["^"](R("A3"), R("B2"))),
    Case("power-0-0", "=0^0", lambda: OP["^"](V(0), V(0))),
    Case("power-0-neg", "=0^-1", lambda: OP["^"](V(0), UNARY_OPERATORS["-"](V(1)))),
    Case("power-odd-root", "=(-8)^(1/3)", lambda: OP["^"](V(-8), OP["/"](V(1), V(3)))),
    Case("power-neg-frac", "=(-8)^0.5", lambda: OP["^"](V(-8), V(0.5))),
    Case("power-overflow", "=10^400", lambda: OP["^"](V(10), V(400))),
    Case("percent", '=("5")%', lambda: UNARY_OPERATORS["%"](V("5"))),
    Case("negate-text", '=-"3"', lambda: UNARY_OPERATORS["-"](V("3"))),
    Case("concat", '=A1&"x"&C1', lambda: OP["&"](OP["&"](R("A1"), V("x")), R("C1"))),
    Case("concat-bool", '="a"&TRUE', lambda: OP["&"](V("a"), V(True)), lo="a1"),
    Case("lt-num-text", '=1<"a"', lambda: OP["<"](V(1), V("a"))),
    Case("lt-text-bool", '="a"<TRUE', lambda: OP["<"](V("a"), V(True)), lo=False),
    Case("gt-bool-num", "=TRUE>5", lambda: OP[">"](V(True), V(5)), lo=False),
    Case("eq-case", '="abc"="ABC"', lambda: OP["="](V("abc"), V("ABC"))),
    Case("lt-text", '="Z"<"a"', lambda: OP["<"](V("Z"), V("a"))),
    Case("text-num-cell", "=C2<9", lambda: OP["<"](R("C2"), V(9))),
    Case("blank-eq-0", "=C3=0", lambda: OP["="](R("C3"), V(0))),
    Case("blank-eq-text", '=C3=""', lambda: OP["="](R("C3"), V(""))),
    Case("blank-lt-neg", "=C3<-1", lambda: OP["<"](R("C3"), V(-1))),
    Case("ge", "=A5>=B5", lambda: OP[">="](R("A5"), R("B5"))),
    Case("ne-error", "=D1<>1", lambda: OP["<>"](R("D1"), V(1))),
    Case("sum", "=SUM(A1:B6)", lambda: F("SUM")(R("A1:B6"))),
    Case("sum-skips-text", "=SUM(C1:C4)", lambda: F("SUM")(R("C1:C4"))),
    Case("sum-direct", "=SUM(TRUE,2,A1)", lambda: F("SUM")(V(True), V(2), R("A1"))),
    Case("sum-direct-text", '=SUM("3",2)', lambda: F("SUM")(V("3"), V(2)), lo="#VALUE!"),
    Case("sum-error", "=SUM(D1:D3)", lambda: F("SUM")(R("D1:D3"))),
    Case("sum-error-order", "=SUM(D2,D1)", lambda: F("SUM")(R("D2"), R("D1"))),
    Case("sumsq", "=SUMSQ(A1:A6,3)", lambda: F("SUMSQ")(R("A1:A6"), V(3))),
    Case("average", "=AVERAGE(A1:A6)", lambda: F("AVERAGE")(R("A1:A6"))),
    Case("average-text", "=AVERAGE(C1:C4)", lambda: F("AVERAGE")(R("C1:C4"))),
    Case("average-none", "=AVERAGE(C1)", lambda: F("AVERAGE")(R("C1"))),
    Case(
        "count",
        '=COUNT(A1:C6,D1:D3,"7","x",TRUE)',
        lambda: F("COUNT")(R("A1:C6"), R("D1:D3"), V("7"), V("x"), V(True)),
    ),
    Case("max", "=MAX(A1:A6,B1:B6)", lambda: F("MAX")(R("A1:A6"), R("B1:B6"))),
    Case("max-none", "=MAX(C1,C3)", lambda: F("MAX")(R("C1"), R("C3"))),
    Case("min", "=MIN(B1:B6,C1:C4)", lambda: F("MIN")(R("B1:B6"), R("C1:C4"))),
    Case("min-error", "=MIN(A1,D2)", lambda: F("MIN")(R("A1"), R("D2"))),
    Case("sumproduct", "=SUMPRODUCT(A1:A6,B1:B6)", lambda: F("SUMPRODUCT")(R("A1:A6"), R("B1:B6"))),
    Case(
        "sumproduct-2d",
        "=SUMPRODUCT(E1:F3,E1:F3,E1:F3)",
        lambda: F("SUMPRODUCT")(R("E1:F3"), R("E1:F3"), R("E1:F3")),
    ),
    Case(
        "sumproduct-text",
        "=SUMPRODUCT(C1:C4,A1:A4)",
        lambda: F("SUMPRODUCT")(R("C1:C4"), R("A1:A4")),
    ),
    Case(
        "sumproduct-shape",
        "=SUMPRODUCT(A1:A6,B1:B5)",
        lambda: F("SUMPRODUCT")(R("A1:A6"), R("B1:B5")),
    ),
    Case(
        "sumproduct-error",
        "=SUMPRODUCT(D1:D3,A1:A3)",
        lambda: F("SUMPRODUCT")(R("D1:D3"), R("A1:A3")),
    ),
    Case("sumxmy2", "=SUMXMY2(A1:A6,B1:B6)", lambda: F("SUMXMY2")(R("A1:A6"), R("B1:B6"))),
    Case("sumx2my2", "=SUMX2MY2(A1:A6,B1:B6)", lambda: F("SUMX2MY2")(R("A1:A6"), R("B1:B6"))),
    Case(
        "sumxmy2-text",
        "=SUMXMY2(C1:C4,A1:A4)",
        lambda: F("SUMXMY2")(R("C1:C4"), R("A1:A4")),
        lo="#VALUE!",
    ),
    Case("if", "=IF(A2>0,A2,B2)", lambda: F("IF")(OP[">"](R("A2"), V(0)), R("A2"), R("B2"))),
    Case("if-no-else", "=IF(A2>0,1)", lambda: F("IF")(OP[">"](R("A2"), V(0)), V(1))),
    Case("if-text-test", '=IF("TRUE",1,2)', lambda: F("IF")(V("TRUE"), V(1), V(2))),
    Case("if-error-test", "=IF(D1,1,2)", lambda: F("IF")(R("D1"), V(1), V(2))),
    Case(
        "if-text-result",
        '=IF(A1>1,"big","small")',
        lambda: F("IF")(OP[">"](R("A1"), V(1)), V("big"), V("small")),
    ),
    Case("iferror", "=IFERROR(D1,7)", lambda: F("IFERROR")(R("D1"), V(7))),
    Case("iferror-ok", "=IFERROR(A1,7)", lambda: F("IFERROR")(R("A1"), V(7))),
    Case("and", "=AND(A1>0,B1:B2)", lambda: F("AND")(OP[">"](R("A1"), V(0)), R("B1:B2"))),
    Case("and-text-only", "=AND(C1)", lambda: F("AND")(R("C1"))),
    Case("or", "=OR(A2>0,C3,0)", lambda: F("OR")(OP[">"](R("A2"), V(0)), R("C3"), V(0))),
    Case("not", "=NOT(A1)", lambda: F("NOT")(R("A1"))),
    Case("abs", "=ABS(A2)", lambda: F("ABS")(R("A2"))),
    Case("sqrt", "=SQRT(A3)", lambda: F("SQRT")(R("A3"))),
    Case("sqrt-neg", "=SQRT(A2)", lambda: F("SQRT")(R("A2")), lo="#VALUE!"),
    Case("power-fn", "=POWER(A1,B1)", lambda: F("POWER")(R("A1"), R("B1"))),
    Case("exp", "=EXP(A1)", lambda: F("EXP")(R("A1"))),
    Case("exp-overflow", "=EXP(1000)", lambda: F("EXP")(V(1000))),
    Case("ln", "=LN(A6)", lambda: F("LN")(R("A6"))),
    Case("ln-zero", "=LN(0)", lambda: F("LN")(V(0)), lo="#VALUE!"),
    Case("log", "=LOG(A6,B1)", lambda: F("LOG")(R("A6"), R("B1"))),
    Case("log-default", "=LOG(A5)", lambda: F("LOG")(R("A5"))),
    Case("log-base-1", "=LOG(10,1)", lambda: F("LOG")(V(10), V(1)), lo="#VALUE!"),
    Case("log10", "=LOG10(A4)", lambda: F("LOG10")(R("A4"))),
    Case("sign", "=SIGN(A2)", lambda: F("SIGN")(R("A2"))),
    Case(
        "round",
        "=ROUND(2.5,0)+ROUND(-2.5,0)*10",
        lambda: OP["+"](F("ROUND")(V(2.5), V(0)), OP["*"](F("ROUND")(V(-2.5), V(0)), V(10))),
    ),
    Case("round-2.675", "=ROUND(2.675,2)", lambda: F("ROUND")(V(2.675), V(2))),
    Case("round-left", "=ROUND(1250,-2)", lambda: F("ROUND")(V(1250), V(-2))),
    Case("tanh", "=TANH(A1)", lambda: F("TANH")(R("A1"))),
    Case(
        "mse-as-sumxmy2",
        "=SUMXMY2(A1:A6,B1:B6)/COUNT(A1:A6)",
        lambda: F("TORCH_MSE")(R("A1:A6"), R("B1:B6")),
    ),
    Case(
        "logloss-as-formula",
        "=-SUMPRODUCT(Q1:Q4,LN(P1:P4))/4-SUMPRODUCT(1-Q1:Q4,LN(1-P1:P4))/4",
        lambda: F("TORCH_LOGLOSS")(R("P1:P4"), R("Q1:Q4")),
    ),
    Case(
        "relu-as-max",
        "=MAX(A2,0)+MAX(A3,0)",
        lambda: OP["+"](F("RELU")(R("A2")), F("RELU")(R("A3"))),
    ),
    Case("sigmoid-as-formula", "=1/(1+EXP(-A1))", lambda: F("SIGMOID")(R("A1"))),
    Case("mmult", "=MMULT(E1:F3,G1:H2)", lambda: F("MMULT")(R("E1:F3"), R("G1:H2")), shape=(3, 2)),
    Case(
        "mmult-error-row",
        "=MMULT(D1:D2,G1:H1)",
        lambda: F("MMULT")(R("D1:D2"), R("G1:H1")),
        shape=(2, 2),
    ),
    Case(
        "mmult-text",
        "=MMULT(C1:C2,G1:H1)",
        lambda: F("MMULT")(R("C1:C2"), R("G1:H1")),
        shape=(2, 2),
    ),
    Case("mmult-shape", "=MMULT(E1:F3,E1:F3)", lambda: F("MMULT")(R("E1:F3"), R("E1:F3"))),
    Case("transpose", "=TRANSPOSE(E1:F3)", lambda: F("TRANSPOSE")(R("E1:F3")), shape=(2, 3)),
    Case(
        "sqrt-array",
        "=SQRT(A1:A3)",
        lambda: F("SQRT")(R("A1:A3")),
        shape=(3, 1),
        lo=[[math.sqrt(1.5)], ["#VALUE!"], [math.sqrt(3)]],
    ),
    Case("broadcast", "=A1:A3+E1:F1", lambda: OP["+"](R("A1:A3"), R("E1:F1")), shape=(3, 2)),
    Case("broadcast-na", "=A1:A2*B1:B3", lambda: OP["*"](R("A1:A2"), R("B1:B3")), shape=(3, 1)),
    Case(
        "if-array",
        '=IF(A1:A3>0,A1:A3,"neg")',
        lambda: F("IF")(OP[">"](R("A1:A3"), V(0)), R("A1:A3"), V("neg")),
        shape=(3, 1),
    ),
]


def _ours(block: Block, shape: tuple[int, int]) -> list[list[object]]:
    values = block_to_values(block)
    grid = values if isinstance(values, list) else [[values]]
    if shape != (1, 1):
        assert (len(grid), len(grid[0])) in {shape, (1, 1)}, grid
    return [[str(v) if isinstance(v, ExcelError) else v for v in row] for row in grid]


def _agree(ours: object, theirs: object) -> bool:
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours == theirs and type(ours) is type(theirs)
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)
    return ours == theirs


def _write(path) -> dict[str, tuple[Case, str]]:
    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data"
    for column, values in DATA.items():
        for row, value in enumerate(values, start=1):
            if isinstance(value, ExcelError):
                value = ERROR_FORMULAS[value]
            data[f"{column}{row}"] = value
    sheet = book.create_sheet("Cases")
    where, row = {}, 1
    for case in CASES:
        formula = _qualify(case.formula)
        sheet.cell(row, 1, case.id)
        top_left = f"B{row}"
        if case.shape == (1, 1):
            sheet[top_left] = formula
        else:
            last = openpyxl.utils.get_column_letter(1 + case.shape[1]) + str(
                row + case.shape[0] - 1
            )
            sheet[top_left] = ArrayFormula(f"{top_left}:{last}", formula)
        where[case.id] = (case, row)
        row += case.shape[0]
    book.save(path)
    return where


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    path = tmp_path_factory.mktemp("lo") / "functions.xlsx"
    where = _write(path)
    return where, recalculate(path)["Cases"]


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_agrees_with_libreoffice(case, recalculated):
    where, sheet = recalculated
    _, row = where[case.id]
    rows, cols = case.shape
    theirs = [[sheet.cell(row + r, 2 + c).value for c in range(cols)] for r in range(rows)]
    ours = _ours(case.compute(), case.shape)
    if case.lo is not None:
        expected = case.lo if isinstance(case.lo, list) else [[case.lo]]
        assert all(
            _agree(e, t) for e_row, t_row in zip(expected, theirs) for e, t in zip(e_row, t_row)
        ), theirs
        assert not all(
            _agree(o, t) for o_row, t_row in zip(ours, theirs) for o, t in zip(o_row, t_row)
        ), "no longer a divergence: drop `lo`"
        return
    full = [
        [ours[r if len(ours) > 1 else 0][c if len(ours[0]) > 1 else 0] for c in range(cols)]
        for r in range(rows)
    ]
    assert all(_agree(o, t) for o_row, t_row in zip(full, theirs) for o, t in zip(o_row, t_row)), (
        full,
        theirs,
    )
