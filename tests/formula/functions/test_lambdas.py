"""LAMBDA, named LAMBDAs, ``_xleta.`` built-ins, MAP, REDUCE, SCAN, BYROW, BYCOL and MAKEARRAY.

LibreOffice 7.4 has none of these, so the references are Microsoft's documentation examples
(hand-computed expectations on the documentation's data) and the values Excel saved in the
conformance workbook formulas' test.xlsx (skipped when ../shared/conformance is absent).
Excel's ``#CALC!`` is shown as ``#VALUE!`` by this engine, as for its other ``#CALC!`` cases.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName as XlDefinedName
from openpyxl.worksheet.formula import ArrayFormula

from tests.formula.functions.cells import err, same
from xl_lesson3.errors import UnsupportedFunctionError
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.check import formula_text, values_agree
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.functions.core.registry import supported_names
from xl_lesson3.formula.parse.ast import APPLY, Binary, Call, Missing, NameRef, Number
from xl_lesson3.formula.parse.parser import parse_formula
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import WorkbookModel

VALUE, NUM = err("#VALUE!"), err("#NUM!")
# The documentation's data: A1:C2 holds 1..6 row by row, E1:G2 the letters a..f.
DATA = {"A1": 1, "B1": 2, "C1": 3, "A2": 4, "B2": 5, "C2": 6}
DATA |= {"E1": "a", "F1": "b", "G1": "c", "E2": "d", "F2": "e", "G2": "f"}
NAMES = {
    "MYSUM3": "_xlfn.LAMBDA(_xlpm.x,_xlpm.y,_xlpm.z,_xlpm.x*2+_xlpm.y*3-_xlpm.z)",
    "FACT": "_xlfn.LAMBDA(_xlpm.n,IF(_xlpm.n<2,1,_xlpm.n*FACT(_xlpm.n-1)))",
    "ENDLESS": "_xlfn.LAMBDA(_xlpm.n,ENDLESS(_xlpm.n+1))",
}
P = "_xlpm."

# (id, formula, expected rows)  -- source: Microsoft's page for the function, or as noted
CASES = [
    ("lambda-doc-temperature", "=_xlfn.LAMBDA(_xlpm.Temp,(5/9)*(_xlpm.Temp-32))(104)", [[40.0]]),
    ("lambda-doc-plus-122", "=_xlfn.LAMBDA(_xlpm.x,_xlpm.x+122)(1)", [[123.0]]),
    ("lambda-range-argument", "=_xlfn.LAMBDA(_xlpm.r,SUM(_xlpm.r))(A1:C2)", [[21.0]]),
    ("lambda-no-parameters", "=_xlfn.LAMBDA(A1+C2)()", [[7.0]]),
    ("lambda-typed-names", "=LAMBDA(x,y,x*y)(6,7)", [[42.0]]),
    ("named-lambda", "=MYSUM3(2,1,2)", [[5.0]]),
    ("named-lambda-recursion", "=FACT(5)", [[120.0]]),
    (
        "let-holds-lambda",
        "=_xlfn.LET(_xlpm.f,_xlfn.LAMBDA(_xlpm.x,_xlpm.x*10),_xlpm.f(4))",
        [[40.0]],
    ),
    ("let-name-not-a-function", "=LET(sum,5,SUM(sum,1))", [[6.0]]),
    ("curried-lambda", "=LAMBDA(x,LAMBDA(y,x-y))(10)(3)", [[7.0]]),
    ("lambda-takes-lambda", "=LAMBDA(f,f(3))(LAMBDA(x,x+100))", [[103.0]]),
    ("inner-parameter-shadows", "=LAMBDA(x,_xlfn.MAP(A1:B1,LAMBDA(x,x*10)))(7)", [[10.0, 20.0]]),
    ("outer-parameter-captured", "=LAMBDA(y,_xlfn.MAP(A1:B1,LAMBDA(x,x+y)))(7)", [[8.0, 9.0]]),
    (
        "isomitted-doc",
        '=LAMBDA(x,y,IF(_xlfn.ISOMITTED(y),"y param is missing",x))(1,)',
        [["y param is missing"]],
    ),
    ("isomitted-given", '=LAMBDA(x,y,IF(_xlfn.ISOMITTED(y),"missing",x))(1,2)', [[1.0]]),
    (
        "map-doc",
        f"=_xlfn.MAP(A1:C2,_xlfn.LAMBDA({P}a,IF({P}a>4,{P}a*{P}a,{P}a)))",
        [[1.0, 2.0, 3.0], [4.0, 25.0, 36.0]],
    ),
    ("map-two-arrays", "=_xlfn.MAP(A1:C1,A2:C2,LAMBDA(a,b,a*b))", [[4.0, 10.0, 18.0]]),
    ("reduce-doc-sum-of-squares", "=_xlfn.REDUCE(,A1:C2,LAMBDA(a,b,a+b^2))", [[91.0]]),
    ("reduce-doc-count-even", "=_xlfn.REDUCE(0,A1:C2,LAMBDA(a,n,IF(ISEVEN(n),a+1,a)))", [[3.0]]),
    (
        "scan-doc-concatenate",
        '=_xlfn.SCAN("",E1:G2,LAMBDA(a,b,a&b))',
        [["a", "ab", "abc"], ["abcd", "abcde", "abcdef"]],
    ),
    ("scan-doc-running-product", "=_xlfn.SCAN(1,A1:C1,LAMBDA(a,b,a*b))", [[1.0, 2.0, 6.0]]),
    ("byrow-doc-max", "=_xlfn.BYROW(A1:C2,LAMBDA(r,MAX(r)))", [[3.0], [6.0]]),
    ("byrow-doc-sumsq", "=_xlfn.BYROW(A1:C2,LAMBDA(r,SUMSQ(r)))", [[14.0], [77.0]]),
    ("bycol-doc-max", "=_xlfn.BYCOL(A1:C2,LAMBDA(c,MAX(c)))", [[4.0, 5.0, 6.0]]),
    ("bycol-doc-sumsq", "=_xlfn.BYCOL(A1:C2,LAMBDA(c,SUMSQ(c)))", [[17.0, 29.0, 45.0]]),
    (
        "makearray-doc-products",
        "=_xlfn.MAKEARRAY(3,3,LAMBDA(r,c,r*c))",
        [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]],
    ),
    ("eta-byrow-sum", "=_xlfn.BYROW(A1:C2,_xleta.SUM)", [[6.0], [15.0]]),
    ("eta-bycol-max", "=_xlfn.BYCOL(A1:C2,_xleta.MAX)", [[4.0, 5.0, 6.0]]),
    ("eta-engine-function", "=_xlfn.BYCOL(A1:C2,_xleta.ROWS)", [[2.0, 2.0, 2.0]]),
    ("eta-map-abs", "=_xlfn.MAP({-1,2},_xleta.ABS)", [[1.0, 2.0]]),
    # Excel's error rules (LAMBDA's page): a function left in a cell is #CALC!, a wrong
    # number of arguments #VALUE!; an element's array result is #CALC! (#VALUE! here).
    ("lambda-in-a-cell", "=LAMBDA(x,x)", [[VALUE]]),
    ("too-few-arguments", "=LAMBDA(x,y,x+y)(1)", [[VALUE]]),
    ("too-many-arguments", "=LAMBDA(x,x)(1,2)", [[VALUE]]),
    ("function-in-arithmetic", "=1+LAMBDA(x,x)", [[VALUE]]),
    ("function-to-sum", "=SUM(LAMBDA(x,x))", [[VALUE]]),
    ("map-not-a-function", "=_xlfn.MAP(A1:C1,5)", [[VALUE]]),
    ("map-parameter-count", "=_xlfn.MAP(A1:C1,LAMBDA(a,b,a+b))", [[VALUE]]),
    ("byrow-array-result", "=_xlfn.BYROW(A1:C2,LAMBDA(r,r*2))", [[VALUE], [VALUE]]),
    ("makearray-fraction", "=_xlfn.MAKEARRAY(2.3,1,LAMBDA(r,c,r))", [[VALUE]]),
    ("runaway-recursion", "=ENDLESS(1)", [[NUM]]),
]


def _book(tmp_path: Path) -> Path:
    """One workbook holding every case, each formula spilled over its expected shape."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for coord, value in DATA.items():
        ws[coord] = value
    for name, text in NAMES.items():
        wb.defined_names[name] = XlDefinedName(name, attr_text=text)
    for row, (_, formula, expected) in _rows():
        rng = _where(row, expected)
        ws.cell(rng.min_row, rng.min_col).value = ArrayFormula(rng.coordinate, formula)
    path = tmp_path / "lambdas.xlsx"
    wb.save(path)
    return path


def _rows():
    return enumerate(CASES, start=10)


def _where(row: int, expected: list) -> RangeAddress:
    """The cells case `row` spills over (from column J, four rows apart)."""
    first = row * 4
    return RangeAddress("S", first, 10, first + len(expected) - 1, 9 + len(expected[0]))


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, object]:
    model = load_workbook(_book(tmp_path_factory.mktemp("lambdas")))
    values = evaluate_cells(model, [_where(row, expected) for row, (_, _, expected) in _rows()])
    return {case[0]: value for case, value in zip(CASES, values, strict=True)}


@pytest.mark.parametrize(("case_id", "formula", "expected"), CASES, ids=[c[0] for c in CASES])
def test_documented_results(results, case_id, formula, expected):
    assert same(results[case_id], expected), (formula, results[case_id])


def test_a_run_of_copied_cells_calls_the_lambda_once_for_all(tmp_path):
    """``=LAMBDA(x,x*2)(A1)`` copied down is one vectorised run; each cell gets its own row."""
    cells = {f"S!A{i}": float(i) for i in range(1, 6)}
    cells |= {
        f"S!B{i}": f"=LAMBDA(x,x*2)(A{i})+_xlfn.REDUCE(0,A{i}:A5,LAMBDA(a,b,a+b))"
        for i in range(1, 6)
    }
    model = WorkbookModel.from_cells(cells)
    (values,) = evaluate_cells(model, ["S!B1:B5"])
    assert values == [[2.0 + 15.0], [4.0 + 14.0], [6.0 + 12.0], [8.0 + 9.0], [10.0 + 5.0]]


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        (
            "=LAMBDA(x,x)((A1,B1),2+3*4,)",
            Call(
                APPLY,
                (
                    Call("LAMBDA", (NameRef(None, "x"), NameRef(None, "x"))),
                    Binary(",", parse_formula("=A1"), parse_formula("=B1")),
                    parse_formula("=2+3*4"),
                    Missing(),
                ),
            ),
        ),
        ("=_xlfn.LAMBDA(1)()", Call(APPLY, (Call("LAMBDA", (Number(1.0),)),))),
        (
            "=LAMBDA(x,LAMBDA(y,y))(1)(2)",
            Call(
                APPLY,
                (
                    Call(
                        APPLY,
                        (
                            Call(
                                "LAMBDA",
                                (
                                    NameRef(None, "x"),
                                    Call("LAMBDA", (NameRef(None, "y"), NameRef(None, "y"))),
                                ),
                            ),
                            Number(1.0),
                        ),
                    ),
                    Number(2.0),
                ),
            ),
        ),
    ],
    ids=["union-sum-and-empty-arguments", "no-arguments", "curried"],
)
def test_parse_calls_of_a_call(formula, expected):
    """Inside ``(...)`` after a call the tokenizer reads commas as unions; they separate the
    arguments there, while a parenthesised union stays one argument."""
    assert parse_formula(formula) == expected


def test_engine_names_are_not_listed_as_functions():
    assert "LAMBDA" in supported_names()
    assert not [name for name in supported_names() if name.startswith("_")]


# -- the solver: evaluation-only functions are refused where the changing cells flow in ----------

SOLVE_BASE = {"S!A1": 1.0, "S!A2": 2.0, "S!B1": 3.0, "S!B2": 4.0}


@pytest.mark.parametrize(
    ("objective", "name"),
    [
        ("=SUM(_xlfn.MAP(A1:A2,LAMBDA(v,v^2)))", "MAP"),
        ("=SUM(_xlfn.BYROW(A1:B2,_xleta.SUM))", "BYROW"),
        ("=LAMBDA(x,x^2)(A1)", "LAMBDA"),
        ("=LAMBDA(x,x*A2)(3)", "LAMBDA"),
    ],
    ids=["map", "byrow-eta", "lambda-argument", "lambda-body"],
)
def test_solver_refuses_lambdas_of_the_changing_cells(objective, name):
    model = WorkbookModel.from_cells(SOLVE_BASE | {"S!C1": objective})
    variables = [CellAddress("S", 1, 1), CellAddress("S", 2, 1)]
    with pytest.raises(UnsupportedFunctionError, match=f"^S!C1: {name} is evaluated in Python"):
        compile_program(model, CellAddress("S", 1, 3), variables)


def test_solver_folds_lambdas_of_constants():
    """A LAMBDA that reads no changing cell is a constant of the program."""
    objective = "=A1^2+SUM(_xlfn.MAP(B1:B2,LAMBDA(v,v*2)))"
    model = WorkbookModel.from_cells(SOLVE_BASE | {"S!C1": objective})
    program = compile_program(model, CellAddress("S", 1, 3), [CellAddress("S", 1, 1)])
    assert program(program.initial).item() == pytest.approx(1.0 + 14.0)


# -- Excel's saved values -------------------------------------------------------------------------

FUNCTIONS = ("LAMBDA", "MAP(", "REDUCE(", "SCAN(", "BYROW(", "BYCOL(", "MAKEARRAY(", "MYLAMBDA(")


def test_agrees_with_excels_saved_values(formulas_test_book):
    """formulas' test.xlsx, sheet LOGICAL: every cell calling these functions, over the grid of
    argument kinds (numbers, text, booleans, blanks, each error)."""
    model = formulas_test_book
    cells = [
        cell
        for cell in _formula_cells(model, "LOGICAL")
        if any(name in formula_text(model, cell).upper() for name in FUNCTIONS)
    ]
    assert len(cells) >= 150
    ours = evaluate_cells(model, cells)
    wrong = [
        (str(cell), model.cached_value(cell), value)
        for cell, value in zip(cells, ours, strict=True)
        if not values_agree(model.cached_value(cell), value)
    ]
    assert wrong == []


def _formula_cells(model: WorkbookModel, sheet: str) -> list[CellAddress]:
    used = model.used_range(sheet)
    return [
        CellAddress(sheet, row, col)
        for row in range(used.min_row, used.max_row + 1)
        for col in range(used.min_col, used.max_col + 1)
        if formula_text(model, CellAddress(sheet, row, col))
    ]


# Used by test_libreoffice_agreement's coverage check: functions LibreOffice 7.4 lacks.
EXCEL_ONLY_FUNCTIONS = {"LAMBDA", "ISOMITTED", "MAP", "REDUCE", "SCAN", "BYROW", "BYCOL"}
EXCEL_ONLY_FUNCTIONS |= {"MAKEARRAY"}
