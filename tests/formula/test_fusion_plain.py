"""Units proven to hold plain numbers run over bare tensors (`compile.plain`).

Each formula is compiled twice, with the proof on and off (off: the general lowering, block by
block), and both are checked against the formula written out in torch here: values and
gradients, for several restarts at once. Formulas that cannot be proven plain (a division by a
cell, a reference to text) must keep Excel's error values.
"""

from __future__ import annotations

import math

import pytest
import torch

from xl_lesson3.errors import EvaluationError
from xl_lesson3.formula.compile import program as program_module
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook

ROWS = 5  # a run of formulas in rows 3..7 of column C, reading A (a variable) and B (constants)
B_VALUES = [0.5, -2.0, 3.0, 0.0, 1.25]
VARIABLES = [CellAddress.parse("s!A1"), CellAddress.parse("s!A2")]
OBJECTIVE = CellAddress.parse("s!E1")


def _book(make_workbook, formula: str, extra: dict | None = None):
    """C3:C7 = `formula` with {r} for the row; A3:A7 = $A$1*B{r}+$A$2 (on the variables);
    D1 = SUM(C3:C7) and E1 = AVERAGE(C3:C7)+D1*0.5."""
    cells = {"s!A1": 1.0, "s!A2": 0.5}
    for i, b in enumerate(B_VALUES):
        r = 3 + i
        cells[f"s!B{r}"] = b
        cells[f"s!A{r}"] = f"=$A$1*B{r}+$A$2"
        cells[f"s!C{r}"] = formula.format(r=r)
    cells["s!D1"] = "=SUM(C3:C7)"
    cells["s!E1"] = "=AVERAGE(C3:C7)+D1*0.5"
    cells.update(extra or {})
    return load_workbook(make_workbook(cells))


def _run(model, params, plain: bool, monkeypatch):
    if not plain:
        monkeypatch.setattr(program_module, "lower_plain", lambda *args: None)
    try:
        program = compile_program(model, OBJECTIVE, VARIABLES)
    finally:
        monkeypatch.undo()
    p = params.clone().requires_grad_(True)
    values = program(p)
    (grad,) = torch.autograd.grad(values.sum(), p)
    return values.detach(), grad, program.op_count


# (formula for row r, the same in torch from a = A{r}, b = B{r} and the variables p)
CASES = [
    ("=(A{r}-B{r})^2", lambda a, b, p: (a - b) ** 2),
    ("=A{r}*B{r}-A{r}/4+7", lambda a, b, p: a * b - a / 4 + 7),
    ("=-A{r}+A{r}^3", lambda a, b, p: -a + a**3),
    ("=IF(A{r}<0,0,A{r})", lambda a, b, p: torch.where(a < 0, 0.0, a)),
    ("=IF(A{r}<=0,0,A{r})*B{r}", lambda a, b, p: torch.where(a <= 0, 0.0, a) * b),
    ("=IF(A{r}>B{r},A{r}*2,B{r})", lambda a, b, p: torch.where(a > b, a * 2, b)),
    # MAX shares the gradient between tied arguments (A3 - 1 is 0 at the first restart)
    ("=MAX(0,A{r}-1)", lambda a, b, p: torch.maximum(a - 1, torch.zeros_like(a))),
    # B1 holds the constant 2: a parameter and a constant in one range
    ("=SUMPRODUCT(A{r}:B{r},$A$1:$B$1)", lambda a, b, p: a * p[:, :1] + b * 2.0),
    ("=A{r}*$A$2+$B$3", lambda a, b, p: a * p[:, 1:] + B_VALUES[0]),
]
_P = torch.tensor([[1.0, 0.5], [-0.7, 2.0], [0.3, -0.1]], dtype=torch.float64)


@pytest.mark.parametrize(("formula", "torch_formula"), CASES, ids=[c[0] for c in CASES])
def test_plain_units_match_torch_and_the_general_lowering(
    make_workbook, monkeypatch, formula, torch_formula
):
    model = _book(make_workbook, formula, {"s!B1": 2.0})
    plain = _run(model, _P, True, monkeypatch)
    general = _run(model, _P, False, monkeypatch)

    p = _P.clone().requires_grad_(True)
    a = p[:, :1] * torch.tensor(B_VALUES, dtype=torch.float64) + p[:, 1:]  # (batch, rows)
    b = torch.tensor(B_VALUES, dtype=torch.float64)
    c = torch_formula(a, b, p)
    expected = c.mean(1) + c.sum(1) * 0.5
    (expected_grad,) = torch.autograd.grad(expected.sum(), p)

    for values, grad, _ in (plain, general):
        assert torch.allclose(values, expected.detach(), rtol=1e-13, atol=1e-13)
        assert torch.allclose(grad, expected_grad, rtol=1e-13, atol=1e-13)
    assert plain[2] <= general[2]  # never more torch operations per call


def test_the_kink_takes_the_branch_if_takes(make_workbook, monkeypatch):
    """IF(x<0,0,x) at x = 0 exactly: value 0 and gradient 1 (the x branch), as the general IF."""
    model = _book(make_workbook, "=IF(A{r}<0,0,A{r})")
    params = torch.tensor([[0.0, 0.0]], dtype=torch.float64)  # every A{r} is 0
    values, grad, _ = _run(model, params, True, monkeypatch)
    general_values, general_grad, _ = _run(model, params, False, monkeypatch)
    assert values.tolist() == general_values.tolist() == [0.0]
    assert grad.tolist() == general_grad.tolist()
    assert grad[0, 1] == pytest.approx(1 + 0.5 * ROWS)  # d/dA2 of mean(C) + sum(C)/2


def test_a_division_by_a_changing_cell_stays_general(make_workbook, monkeypatch):
    """=B{r}/A{r}: #DIV/0! where A{r} is 0 (every row at A1 = A2 = 0), reaching the objective."""
    model = _book(make_workbook, "=B{r}/A{r}")
    params = torch.tensor([[1.0, 0.5], [0.0, 0.0]], dtype=torch.float64)
    program = compile_program(model, OBJECTIVE, VARIABLES)
    values = program(params).tolist()
    a = torch.tensor(B_VALUES, dtype=torch.float64) + 0.5
    c = torch.tensor(B_VALUES, dtype=torch.float64) / a
    assert values[0] == pytest.approx(float(c.mean() + c.sum() * 0.5), rel=1e-13)
    assert math.isnan(values[1])


@pytest.mark.parametrize(
    ("extra", "message"),
    [({"s!D5": "x"}, "s!C5: #VALUE!"), ({"s!D4": "=1/0"}, "s!D4: #DIV/0!")],
    ids=["text", "error-constant"],
)
def test_a_constant_that_is_not_a_number_reaches_its_cell(make_workbook, extra, message):
    """=A{r}+D{r} with text or an error in one D cell: that cell's error reaches the objective,
    and compiling says where it was first produced."""
    model = _book(make_workbook, "=A{r}+D{r}", extra)
    with pytest.raises(EvaluationError, match=message):
        compile_program(model, OBJECTIVE, VARIABLES)
