"""Sibling SUMPRODUCT columns fused into one matrix product (`compile.siblings`).

Every compiled value and gradient is checked against a torch expression written here from the
sheet's formulas, and against the same workbook compiled with the fusion switched off (the
unfused program, unit by unit); error values must still reach the cells where they occur.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.overrides import TorchFunctionMode

from xl_lesson3.formula.compile import program as program_module
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook

INPUTS = [  # rows 6..9, columns A:C
    [1.0, 2.0, 3.0],
    [-1.0, 0.5, 2.0],
    [4.0, 0.0, -2.0],
    [0.25, -3.0, 1.5],
]
FIRST = 6
HIDDEN = "DEF"  # three hidden units, one column each
OBJECTIVE = CellAddress.parse("s!H1")


def _cell(text: str) -> CellAddress:
    return CellAddress.parse(f"s!{text}")


def _sheet(hidden_formula=None) -> dict:
    """Inputs A6:C9, weights A1:C3 (one row per hidden unit), hidden units D:F, G combines
    them row by row, H1 sums G."""
    cells: dict = {}
    for k in range(3):
        for j, col in enumerate("ABC"):
            cells[f"s!{col}{k + 1}"] = 0.1 * (k + 1) * (j - 1)
    for i, row in enumerate(INPUTS):
        r = FIRST + i
        for col, value in zip("ABC", row, strict=True):
            cells[f"s!{col}{r}"] = value
        for k, col in enumerate(HIDDEN):
            formula = f"=SUMPRODUCT(A{r}:C{r},$A${k + 1}:$C${k + 1})"
            cells[f"s!{col}{r}"] = hidden_formula(r, k) if hidden_formula else formula
        cells[f"s!G{r}"] = f"=IF(D{r}<0,0,D{r})+2*E{r}-MAX(0,F{r})"
    cells["s!H1"] = f"=SUM(G{FIRST}:G{FIRST + len(INPUTS) - 1})"
    return cells


def _expected(weights: torch.Tensor) -> torch.Tensor:
    """The sheet's objective written in torch: weights (batch, 3 units, 3 inputs) → (batch,)."""
    x = torch.tensor(INPUTS, dtype=torch.float64)
    hidden = torch.einsum("ni,bki->bnk", x, weights)
    g = torch.where(hidden[..., 0] < 0, 0.0, hidden[..., 0]) + 2 * hidden[..., 1]
    return (g - hidden[..., 2].clamp_min(0)).sum(1)


def _compile(path, variables, *, fused: bool = True, outputs=(), monkeypatch=None):
    model = load_workbook(path)
    if not fused:
        monkeypatch.setattr(program_module, "sibling_groups", lambda *args: [])
    try:
        return compile_program(model, OBJECTIVE, variables, outputs=outputs)
    finally:
        if not fused:
            monkeypatch.undo()


def _value_and_grad(program, params: torch.Tensor):
    params = params.clone().requires_grad_(True)
    values = program(params)
    (grad,) = torch.autograd.grad(values.sum(), params)
    return values.detach(), grad


class _ProductCounter(TorchFunctionMode):
    """Counts matrix products (mm, matmul, bmm, @) run inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("mm", "matmul", "bmm", "__matmul__", "einsum"):
            self.count += 1
        return func(*args, **(kwargs or {}))


def _products(program, params: torch.Tensor) -> int:
    with _ProductCounter() as counter:
        program(params)
    return counter.count


ROW_MAJOR = RangeAddress.parse("s!A1:C3").cells()  # A1, B1, C1, A2, ...: a unit's row in a row
COLUMN_MAJOR = [_cell(f"{c}{r}") for c in "ABC" for r in (1, 2, 3)]  # A1, A2, A3, B1, ...


@pytest.mark.parametrize("variables", [ROW_MAJOR, COLUMN_MAJOR], ids=["rows", "columns"])
def test_siblings_match_torch_and_the_unfused_program(make_workbook, monkeypatch, variables):
    path = make_workbook(_sheet())
    fused = _compile(path, variables)
    unfused = _compile(path, variables, fused=False, monkeypatch=monkeypatch)
    generator = torch.Generator().manual_seed(3)
    params = torch.randn(5, 9, dtype=torch.float64, generator=generator)
    # The weights as (batch, unit, input), whatever order the variables are listed in.
    index = torch.tensor([3 * (c.row - 1) + c.col - 1 for c in variables])
    weights = torch.empty_like(params)
    weights[:, index] = params
    weights = weights.view(5, 3, 3)

    values, grad = _value_and_grad(fused, params)
    expected = _expected(weights)
    assert torch.allclose(values, expected, rtol=1e-13, atol=1e-13)
    w = weights.clone().requires_grad_(True)
    (expected_grad,) = torch.autograd.grad(_expected(w).sum(), w)
    assert torch.allclose(grad, expected_grad.reshape(5, 9)[:, index], rtol=1e-13, atol=1e-13)

    unfused_values, unfused_grad = _value_and_grad(unfused, params)
    assert torch.allclose(values, unfused_values, rtol=1e-13, atol=1e-13)
    assert torch.allclose(grad, unfused_grad, rtol=1e-13, atol=1e-13)
    assert fused.op_count < unfused.op_count
    assert (_products(fused, params), _products(unfused, params)) == (1, 3)


def test_one_restart_and_the_workbook_values(make_workbook):
    """At the workbook's own values the program gives what the evaluator computes cell by cell."""
    path = make_workbook(_sheet())
    outputs = [_cell(f"{col}{FIRST + 1}") for col in HIDDEN]
    program = _compile(path, ROW_MAJOR, outputs=outputs)
    found = program.outputs(program.initial.unsqueeze(0))
    expected = evaluate_cells(load_workbook(path), [OBJECTIVE, *outputs])
    for cell, value in zip([OBJECTIVE, *outputs], expected, strict=True):
        assert float(found[cell][0]) == pytest.approx(value, rel=1e-13, abs=1e-15)


def test_a_second_layer_reading_the_first_layers_units(make_workbook, monkeypatch):
    """Sibling units whose inputs are themselves computed (batch on both sides: a bmm)."""
    cells = _sheet()
    for i in range(len(INPUTS)):
        r = FIRST + i
        cells[f"s!G{r}"] = f"=SUMPRODUCT(D{r}:F{r},$A$4:$C$4)"
        cells[f"s!I{r}"] = f"=SUMPRODUCT(D{r}:F{r},$A$5:$C$5)"
        cells[f"s!J{r}"] = f"=(G{r}-1)^2+I{r}"
    cells.update({"s!A4": 1.0, "s!B4": -1.0, "s!C4": 0.5, "s!A5": 0.3, "s!B5": 0.2, "s!C5": -2.0})
    cells["s!H1"] = f"=SUM(J{FIRST}:J{FIRST + len(INPUTS) - 1})"
    path = make_workbook(cells)
    variables = RangeAddress.parse("s!A1:C5").cells()
    fused = _compile(path, variables)
    unfused = _compile(path, variables, fused=False, monkeypatch=monkeypatch)
    params = torch.randn(4, 15, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    values, grad = _value_and_grad(fused, params)

    x = torch.tensor(INPUTS, dtype=torch.float64)
    p = params.clone().requires_grad_(True)
    w1, w2 = p[:, :9].view(4, 3, 3), p[:, 9:].view(4, 2, 3)
    hidden = torch.einsum("ni,bki->bnk", x, w1)
    out = torch.einsum("bni,bki->bnk", hidden, w2)
    expected = ((out[..., 0] - 1) ** 2 + out[..., 1]).sum(1)
    (expected_grad,) = torch.autograd.grad(expected.sum(), p)
    assert torch.allclose(values, expected.detach(), rtol=1e-12, atol=1e-12)
    assert torch.allclose(grad, expected_grad, rtol=1e-12, atol=1e-12)
    unfused_values, unfused_grad = _value_and_grad(unfused, params)
    assert torch.allclose(values, unfused_values, rtol=1e-12, atol=1e-12)
    assert torch.allclose(grad, unfused_grad, rtol=1e-12, atol=1e-12)
    assert fused.op_count < unfused.op_count


def test_columns_reading_other_rows_do_not_fuse(make_workbook, monkeypatch):
    """E reads the next row's inputs: not the same cells as D's, so no shared product."""

    def formula(r: int, k: int) -> str:
        shift = 1 if k == 1 else 0
        return f"=SUMPRODUCT(A{r + shift}:C{r + shift},$A${k + 1}:$C${k + 1})"

    path = make_workbook(_sheet(hidden_formula=formula))
    program = _compile(path, ROW_MAJOR)
    unfused = _compile(path, ROW_MAJOR, fused=False, monkeypatch=monkeypatch)
    # D and F still share one product; E, reading other rows, has its own.
    start = program.initial.unsqueeze(0)
    assert (_products(program, start), _products(unfused, start)) == (2, 3)
    params = torch.randn(3, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    weights = params.view(3, 3, 3)
    x = torch.tensor([*INPUTS, [0.0, 0.0, 0.0]], dtype=torch.float64)  # row 10 is blank: 0
    hidden = torch.stack(
        [x[:4] @ weights[:, 0].T, x[1:] @ weights[:, 1].T, x[:4] @ weights[:, 2].T], dim=-1
    ).transpose(0, 1)  # (batch, n, k)
    g = torch.where(hidden[..., 0] < 0, 0.0, hidden[..., 0]) + 2 * hidden[..., 1]
    expected = (g - hidden[..., 2].clamp_min(0)).sum(1)
    values, grad = _value_and_grad(program, params)
    assert torch.allclose(values, expected, rtol=1e-13, atol=1e-13)
    assert torch.allclose(grad, _value_and_grad(unfused, params)[1], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("bad", ["=1/0", "text", True], ids=["error", "text", "boolean"])
def test_values_that_are_not_numbers_among_the_inputs(make_workbook, bad):
    """The group falls back to each unit's own SUMPRODUCT: what the evaluator computes (an
    error reaches row 7's hidden cells only; SUMPRODUCT skips text and booleans)."""
    cells = _sheet()
    cells[f"s!B{FIRST + 1}"] = bad  # row 7's second input
    path = make_workbook(cells)
    hidden = [_cell(f"{col}{r}") for r in (FIRST, FIRST + 1) for col in HIDDEN]
    model = load_workbook(path)
    expected = evaluate_cells(model, hidden)
    if bad == "=1/0":
        assert [str(v) for v in expected[3:]] == ["#DIV/0!"] * 3
    program = compile_program(model, CellAddress.parse(f"s!G{FIRST}"), ROW_MAJOR, outputs=hidden)
    found = program.outputs(program.initial.unsqueeze(0))
    for cell, value in zip(hidden, expected, strict=True):
        if isinstance(value, ExcelError):
            assert math.isnan(float(found[cell][0]))
        else:
            assert float(found[cell][0]) == pytest.approx(value, rel=1e-13, abs=1e-15)


def test_weights_partly_constant(make_workbook, monkeypatch):
    """Only the first two units' weights change; the third row of the block stays constant."""
    path = make_workbook(_sheet())
    variables = ROW_MAJOR[:6]
    fused = _compile(path, variables)
    unfused = _compile(path, variables, fused=False, monkeypatch=monkeypatch)
    params = torch.randn(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    values, grad = _value_and_grad(fused, params)
    p = params.clone().requires_grad_(True)
    third = torch.tensor([-0.3, 0.0, 0.3], dtype=torch.float64)  # row 3 as `_sheet` writes it
    weights = torch.cat([p.view(3, 2, 3), third.expand(3, 1, 3)], dim=1)
    expected = _expected(weights)
    (expected_grad,) = torch.autograd.grad(expected.sum(), p)
    assert torch.allclose(values, expected.detach(), rtol=1e-13, atol=1e-13)
    assert torch.allclose(grad, expected_grad, rtol=1e-13, atol=1e-13)
    unfused_values, unfused_grad = _value_and_grad(unfused, params)
    assert torch.allclose(values, unfused_values, rtol=1e-13, atol=1e-13)
    assert torch.allclose(grad, unfused_grad, rtol=1e-13, atol=1e-13)
    assert _products(fused, params) == 1
