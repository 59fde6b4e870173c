"""torch.autograd.gradcheck (float64) through compiled programs, for every differentiable
function and the operators; and this project's own functions against spreadsheet equivalents."""

from __future__ import annotations

import pytest
import torch

from tests.formula.functions.library_compiled import LIBRARY_COMPILED_CASES
from tests.formula.functions.shaping_compiled import SHAPING_COMPILED_CASES
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.functions.core.registry import lookup, supported_names
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import ArrayFormula, WorkbookModel

# Data A1:A3, targets D1:D3, variables C1:C3 (away from kinks and domain edges).
BASE = {
    "S!A1": 0.5, "S!A2": 1.5, "S!A3": 2.0,
    "S!C1": 0.3, "S!C2": 0.7, "S!C3": 1.2,
    "S!D1": 1, "S!D2": 0, "S!D3": 1,
}  # fmt: skip
VARIABLES = RangeAddress.parse("S!C1:C3").cells()

# One formula per differentiable function (objective in S!F1).
CASES = {
    "SUMPRODUCT": "=SUMPRODUCT(A1:A3,C1:C3)",
    "MMULT": "=SUM(MMULT(TRANSPOSE(A1:A3),C1:C3*C1:C3))",
    "TRANSPOSE": "=SUMPRODUCT(TRANSPOSE(C1:C3),TRANSPOSE(A1:A3))",
    "SUM": "=SUM(C1:C3,C1)",
    "AVERAGE": "=AVERAGE(C1:C3)",
    "SUBTOTAL": "=SUBTOTAL(109,C1:C3)",
    "MAX": "=MAX(C1:C3)",
    "MIN": "=MIN(C1:C3)",
    "SUMSQ": "=SUMSQ(C1:C3)",
    "SUMXMY2": "=SUMXMY2(A1:A3,C1:C3)",
    "SUMX2MY2": "=SUMX2MY2(A1:A3,C1:C3)",
    "IF": "=IF(C1>0.5,C2*2,C3*3)",
    "IFERROR": "=IFERROR(LN(C1-1),C2^2)",
    "ABS": "=ABS(C1-1)",
    "SQRT": "=SQRT(C2)",
    "POWER": "=POWER(C2,C3)",
    "EXP": "=EXP(C1)",
    "LN": "=LN(C2)",
    "LOG": "=LOG(C2,C3+1)",
    "LOG10": "=LOG10(C3)",
    "TANH": "=TANH(C1)",
    "RELU": "=SUM(RELU(C1:C3-0.5))",
    "SIGMOID": "=SUM(SIGMOID(C1:C3))",
    "TORCH_SUMPRODUCT": "=TORCH_SUMPRODUCT(A1:A3,C1:C3)",
    "TORCH_MMULT": "=SUM(TORCH_MMULT(TRANSPOSE(A1:A3),C1:C3))",
    "TORCH_MSE": "=TORCH_MSE(C1:C3,A1:A3)",
    "TORCH_LOGLOSS": "=TORCH_LOGLOSS(C1:C3/2,D1:D3)",
    "operators": "=(C1+C2-C3)*C1/C2^2-(-C3)+C1%+C2^C3",
    # Look-ups with fixed positions: a gather, the picked changing cells get the gradient.
    "INDEX": "=INDEX(C1:C3,2)*2+INDEX(C1:C3,MATCH(2,A1:A3,0))^2",
    "VLOOKUP": "=VLOOKUP(1.5,A1:C3,3,FALSE)^2",
    "HLOOKUP": "=HLOOKUP(1.7,TRANSPOSE(A1:C3),3)*C1",
    "LOOKUP": "=LOOKUP(1.6,A1:A3,C1:C3)^3",
    "XLOOKUP": "=XLOOKUP(2,A1:A3,C1:C3)*C2",
    "CHOOSE": "=CHOOSE(2,C1,C2*C3,C3)",
    "OFFSET": "=SUMSQ(OFFSET(C1,1,0,2,1))",
    "INDIRECT": '=INDIRECT("C"&2)^2+SUM(INDIRECT("C1:C3"))',
    "SINGLE": "=_xlfn.SINGLE(C1:C3)*C2",
    "FILTER": "=SUMSQ(_xlfn._xlws.FILTER(C1:C3,A1:A3>1))",
}
CASES.update(LIBRARY_COMPILED_CASES)
CASES.update(SHAPING_COMPILED_CASES)
NOT_DIFFERENTIABLE_HERE = {"COUNT", "AND", "OR", "NOT"}  # piecewise constant: gradient 0
NOT_DIFFERENTIABLE_HERE |= {"ANCHORARRAY"}  # needs an array formula: test_spill_reference_...
# SORT's order and UNIQUE's rows would come from the changing cells here, which differ between
# gradcheck's probes (a shape must be fixed when compiling); functions/test_gradients.py checks
# their gathers.
NOT_DIFFERENTIABLE_HERE |= {"SORT", "UNIQUE"}


def test_every_differentiable_function_has_a_case():
    differentiable = {n for n in supported_names() if lookup(n).differentiable}
    assert differentiable - NOT_DIFFERENTIABLE_HERE - set(CASES) == set()


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    model = WorkbookModel.from_cells(BASE | {"S!F1": CASES[name]})
    program = compile_program(model, CellAddress("S", 1, 6), VARIABLES)
    (expected,) = evaluate_cells(model, ["S!F1"])
    assert program(program.initial).item() == pytest.approx(expected, rel=1e-12)
    params = program.initial + torch.tensor([0.01, -0.02, 0.03], dtype=torch.float64)
    params = params.unsqueeze(0).repeat(2, 1).requires_grad_(True)
    assert torch.autograd.gradcheck(program, (params,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize(
    ("ours", "spreadsheet"),
    [
        ("=SUM(RELU(A1:A3-1))", "=SUMPRODUCT((A1:A3-1>0)*(A1:A3-1))"),
        ("=RELU(-2)", "=IF(-2<0,0,-2)"),
        ("=SIGMOID(C2)", "=1/(1+EXP(-C2))"),
        ("=TORCH_SUMPRODUCT(A1:A3,C1:C3)", "=SUMPRODUCT(A1:A3,C1:C3)"),
        ("=SUM(TORCH_MMULT(TRANSPOSE(A1:A3),C1:C3))", "=SUM(MMULT(TRANSPOSE(A1:A3),C1:C3))"),
        ("=TORCH_MSE(C1:C3,A1:A3)", "=SUMXMY2(C1:C3,A1:A3)/3"),
        (
            "=TORCH_LOGLOSS(C1:C3/2,D1:D3)",
            "=-SUMPRODUCT(D1:D3*LN(C1:C3/2)+(1-D1:D3)*LN(1-C1:C3/2))/3",
        ),
        ("=XLWINGS.RELU(-1)+_xludf.SIGMOID(0)", "=0.5"),
    ],
)
def test_own_functions_match_their_spreadsheet_formulas(ours, spreadsheet):
    model = WorkbookModel.from_cells(BASE | {"S!F1": ours, "S!G1": spreadsheet})
    left, right = evaluate_cells(model, ["S!F1", "S!G1"])
    assert left == pytest.approx(right, rel=1e-12)


def test_spill_reference_gradient():
    """``G1#`` reads the array formula anchored at G1, whose cells depend on the variables."""
    arrays = [ArrayFormula(RangeAddress.parse("S!G1:G3"), "=C1:C3*A1:A3")]
    model = WorkbookModel.from_cells(BASE | {"S!F1": "=SUMSQ(G1#)"}, array_formulas=arrays)
    program = compile_program(model, CellAddress("S", 1, 6), VARIABLES)
    (expected,) = evaluate_cells(model, ["S!F1"])
    assert program(program.initial).item() == pytest.approx(expected, rel=1e-12)
    params = program.initial.unsqueeze(0).clone().requires_grad_(True)
    program(params).sum().backward()
    a = torch.tensor([0.5, 1.5, 2.0], dtype=torch.float64)
    assert torch.allclose(params.grad[0], 2 * a * a * program.initial, rtol=1e-12)
