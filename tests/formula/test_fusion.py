"""Fused lowerings (`formula.fusion`) keep the general lowering's values, errors and gradients.

Expected values are Excel's rules written out (``IF(x<0,0,x)`` is x for x >= 0, else 0, and its
gradient follows the chosen branch); gradients at the kink come from which branch IF picks.
"""

from __future__ import annotations

import math

import pytest
import torch

from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook

A1 = CellAddress.parse("s!A1")
B1 = CellAddress.parse("s!B1")
POINTS = [0.0, -0.0, -1.5, 2.0, -1e-300, 1e-300]


def _value_and_grad(make_workbook, formula: str, xs, dtype=torch.float64):
    model = load_workbook(make_workbook({"s!A1": 1.0, "s!B1": formula}))
    program = compile_program(model, B1, [A1], dtype=dtype)
    params = torch.tensor(xs, dtype=dtype)[:, None].requires_grad_(True)
    values = program(params)
    (grad,) = torch.autograd.grad(values.sum(), params)
    return values.tolist(), grad[:, 0].tolist(), program


# (formula, value(x), gradient(x)) as Excel's IF/MAX choose: the branch taken decides the slope.
RELU_CASES = [
    ("=IF(A1<0,0,A1)", lambda x: x if x >= 0 else 0.0, lambda x: 1.0 if x >= 0 else 0.0),
    ("=IF(0>A1,0,A1)", lambda x: x if x >= 0 else 0.0, lambda x: 1.0 if x >= 0 else 0.0),
    ("=IF(A1<=0,0,A1)", lambda x: x if x > 0 else 0.0, lambda x: 1.0 if x > 0 else 0.0),
    ("=IF(A1>0,A1,0)", lambda x: x if x > 0 else 0.0, lambda x: 1.0 if x > 0 else 0.0),
    ("=IF(A1>=0,A1,0)", lambda x: x if x >= 0 else 0.0, lambda x: 1.0 if x >= 0 else 0.0),
    # MAX shares the gradient between tied arguments.
    ("=MAX(0,A1)", lambda x: max(x, 0.0), lambda x: 1.0 if x > 0 else (0.5 if x == 0 else 0.0)),
    ("=MAX(A1,0)", lambda x: max(x, 0.0), lambda x: 1.0 if x > 0 else (0.5 if x == 0 else 0.0)),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("formula", "value", "slope"), RELU_CASES, ids=[c[0] for c in RELU_CASES])
def test_relu_patterns_value_and_gradient(make_workbook, formula, value, slope, dtype):
    xs = [float(torch.tensor(x, dtype=dtype)) for x in POINTS]
    values, grads, _ = _value_and_grad(make_workbook, formula, xs, dtype)
    assert values == pytest.approx([value(x) for x in xs], abs=0)
    assert grads == [slope(x) for x in xs]


def test_relu_if_keeps_nan_and_infinities(make_workbook):
    values, _, _ = _value_and_grad(make_workbook, "=IF(A1<0,0,A1)", [math.nan, math.inf, -math.inf])
    assert math.isnan(values[0]) and values[1:] == [math.inf, 0.0]


def test_relu_if_is_fewer_ops_than_a_general_if(make_workbook):
    *_, relu = _value_and_grad(make_workbook, "=IF(A1<0,0,A1)", [1.0])
    *_, general = _value_and_grad(make_workbook, "=IF(A1<0,0,A1+0)", [1.0])
    assert relu.op_count < general.op_count


@pytest.mark.parametrize(
    ("formula", "xs", "values", "grads"),
    [
        ("=IF(A1>C1,A1*2,C1)", [3.0, 1.0, 2.0], [6.0, 2.0, 2.0], [2.0, 0.0, 0.0]),
        ("=IF(A1=C1,A1,-A1)", [2.0, 1.0], [2.0, -1.0], [1.0, -1.0]),
        ("=IF(C1<>A1,A1^2,0)", [3.0, 2.0], [9.0, 0.0], [6.0, 0.0]),
    ],
    ids=["greater", "equal", "not-equal"],
)
def test_compare_if_value_and_gradient(make_workbook, formula, xs, values, grads):
    model = load_workbook(make_workbook({"s!A1": 1.0, "s!C1": 2.0, "s!B1": formula}))
    program = compile_program(model, B1, [A1])
    params = torch.tensor(xs, dtype=torch.float64)[:, None].requires_grad_(True)
    found = program(params)
    (grad,) = torch.autograd.grad(found.sum(), params)
    assert found.tolist() == pytest.approx(values)
    assert grad[:, 0].tolist() == pytest.approx(grads)


# Values that are not plain numbers take the library's own IF/MAX: Excel's type order and errors.
@pytest.mark.parametrize(
    ("c1", "formula", "expected"),
    [
        ("abc", "=IF(C1<0,0,C1)", "abc"),  # every text is greater than every number
        (True, "=IF(C1<0,0,C1)", True),
        (None, "=IF(C1<0,0,C1)", 0),  # a blank reads as 0
        ("=1/0", "=IF(C1<0,0,C1)", "#DIV/0!"),
        ("=1/0", "=MAX(0,C1)", "#DIV/0!"),
        ("=-1/0", "=IF(C1>D1,1,2)", "#DIV/0!"),
        ("x", '=IF(C1="X",1,2)', 1),  # text compares case-insensitively
    ],
    ids=["text", "boolean", "blank", "error-if", "error-max", "error-compare", "text-equal"],
)
def test_patterns_on_values_that_are_not_plain(make_workbook, c1, formula, expected):
    cells = {"s!B1": formula, "s!D1": 0}
    if c1 is not None:
        cells["s!C1"] = c1
    model = load_workbook(make_workbook(cells))
    (found,) = evaluate_cells(model, [B1])
    if isinstance(found, ExcelError):
        found = str(found)
    assert found == expected


def test_error_reaching_a_fused_if_in_a_compiled_program(make_workbook):
    model = load_workbook(make_workbook({"s!A1": 1.0, "s!C1": "=1/A1", "s!B1": "=IF(C1<0,0,C1)"}))
    program = compile_program(model, B1, [A1])
    values = program(torch.tensor([[0.0], [-2.0], [4.0]], dtype=torch.float64))
    assert math.isnan(values[0]) and values[1:].tolist() == [0.0, 0.25]


def test_sumproduct_rows_against_a_parameter_row(make_workbook):
    """The linear layer: each row's inputs · the parameter row, as one matrix product."""
    inputs = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [4.0, 0.0, -2.0]]
    cells = {f"s!{c}1": 0.0 for c in "ABC"}
    for i, row in enumerate(inputs, start=3):
        cells.update({f"s!{c}{i}": v for c, v in zip("ABC", row, strict=True)})
        cells[f"s!D{i}"] = f"=SUMPRODUCT(A{i}:C{i},$A$1:$C$1)"
    cells["s!E1"] = "=SUM(D3:D5)+SUMPRODUCT($A$1:$C$1,A3:C3)"
    model = load_workbook(make_workbook(cells))
    program = compile_program(
        model, CellAddress.parse("s!E1"), RangeAddress.parse("s!A1:C1").cells()
    )
    weights = torch.tensor([[1.0, -1.0, 2.0], [0.5, 0.25, 0.0]], dtype=torch.float64)
    weights.requires_grad_(True)
    values = program(weights)
    x = torch.tensor(inputs, dtype=torch.float64)
    expected = weights.detach() @ x.sum(0) + weights.detach() @ x[0]
    assert values.tolist() == pytest.approx(expected.tolist(), rel=1e-14)
    (grad,) = torch.autograd.grad(values.sum(), weights)
    assert torch.allclose(grad, (x.sum(0) + x[0]).expand(2, 3), rtol=1e-14, atol=0)


def test_sumproduct_with_variables_on_both_sides(make_workbook):
    cells = {"s!A1": 1.0, "s!B1": 2.0, "s!C1": "=SUMPRODUCT(A1:B1,A1:B1)"}
    model = load_workbook(make_workbook(cells))
    program = compile_program(
        model, CellAddress.parse("s!C1"), RangeAddress.parse("s!A1:B1").cells()
    )
    params = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    assert program(params).tolist() == [5.0, 10.0]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"s!C1": "=A1*2", "s!C2": "=A1+1"}, lambda x: (3 * x + 1) / 2),
        ({"s!C1": "=A1*2", "s!C2": "text"}, lambda x: 2 * x),  # text in a range is skipped
        ({"s!C1": "=A1*2", "s!C3": 5.0}, lambda x: 2 * x),  # a blank (C2) is skipped too
        # An error in the range reaches the average (NaN in the compiled result): 1/0 at x = 0.
        ({"s!C1": "=A1*2", "s!C2": "=1/A1"}, lambda x: math.nan if x == 0 else (2 * x + 1 / x) / 2),
    ],
    ids=["plain", "text-skipped", "blank-skipped", "error-reaches"],
)
def test_average_of_a_dynamic_range(make_workbook, cells, expected):
    model = load_workbook(make_workbook({"s!A1": 1.0, **cells, "s!B1": "=AVERAGE(C1:C2)"}))
    program = compile_program(model, B1, [A1])
    xs = [0.5, -3.0, 0.0]
    assert program(torch.tensor(xs, dtype=torch.float64)[:, None]).tolist() == pytest.approx(
        [expected(x) for x in xs], nan_ok=True
    )
