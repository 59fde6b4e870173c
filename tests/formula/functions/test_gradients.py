"""Gradients: torch.autograd.gradcheck (float64) for every differentiable function and operator,
and no NaN gradients leaking from cells that are errors or branches that are not chosen."""

from __future__ import annotations

import pytest
import torch

from tests.formula.functions.library_gradients import LIBRARY_CASES
from tests.formula.functions.shaping_gradients import SHAPING_CASES
from xl_lesson3.formula.functions.core.operators import BINARY_OPERATORS, UNARY_OPERATORS
from xl_lesson3.formula.functions.core.registry import _REGISTRY, lookup
from xl_lesson3.formula.values import Block

SHAPE = (2, 3, 2, 2)  # (batch, run, rows, cols)


def _positive(shape=SHAPE):
    return lambda g: torch.rand(shape, generator=g, dtype=torch.float64) + 0.5


def _any(shape=SHAPE):
    # Away from 0, so ABS/RELU/MAX are smooth at every sample point.
    def make(g):
        x = torch.rand(shape, generator=g, dtype=torch.float64) + 0.2
        return x * torch.where(torch.rand(shape, generator=g) > 0.5, 1.0, -1.0).double()

    return make


def _probability(shape=SHAPE):
    return lambda g: torch.rand(shape, generator=g, dtype=torch.float64) * 0.8 + 0.1


def _fn(name):
    return lookup(name).impl


def _if(cond, a, b):
    return _fn("IF")(Block((cond.num.detach() > 0).double()), a, b)


def _const(rows):
    return Block(torch.tensor(rows, dtype=torch.float64)[None, None])


def _lookup_case(name, *fixed):
    """`name` called with `fixed` arguments; the sampled blocks fill the None slots in order."""

    def call(*blocks):
        supplied = iter(blocks)
        return _fn(name)(*(next(supplied) if arg is None else arg for arg in fixed))

    return call


# (function of Blocks, input makers); each input becomes Block(tensor) and must get a gradient.
CASES = {
    "+": (BINARY_OPERATORS["+"], [_any(), _any()]),
    "-": (BINARY_OPERATORS["-"], [_any(), _any((1, 1, 1, 2))]),
    "*": (BINARY_OPERATORS["*"], [_any(), _any((1, 3, 2, 1))]),
    "/": (BINARY_OPERATORS["/"], [_any(), _any()]),
    "^": (BINARY_OPERATORS["^"], [_positive(), _any()]),
    "unary -": (UNARY_OPERATORS["-"], [_any()]),
    "%": (UNARY_OPERATORS["%"], [_any()]),
    "SUM": (_fn("SUM"), [_any(), _any((2, 1, 1, 1))]),
    "SUMSQ": (_fn("SUMSQ"), [_any()]),
    "AVERAGE": (_fn("AVERAGE"), [_any(), _any()]),
    "SUBTOTAL": (_lookup_case("SUBTOTAL", _const([[9.0]]), None), [_any()]),
    "MAX": (_fn("MAX"), [_any(), _any()]),
    "MIN": (_fn("MIN"), [_any()]),
    "SUMPRODUCT": (_fn("SUMPRODUCT"), [_any(), _any(), _any()]),
    "SUMXMY2": (_fn("SUMXMY2"), [_any(), _any()]),
    "SUMX2MY2": (_fn("SUMX2MY2"), [_any(), _any()]),
    "IF": (_if, [_any(), _any(), _any()]),
    "IFERROR": (_fn("IFERROR"), [_any(), _any()]),
    "ABS": (_fn("ABS"), [_any()]),
    "SQRT": (_fn("SQRT"), [_positive()]),
    "POWER": (_fn("POWER"), [_positive(), _any()]),
    "EXP": (_fn("EXP"), [_any()]),
    "LN": (_fn("LN"), [_positive()]),
    "LOG": (_fn("LOG"), [_positive(), lambda g: torch.rand(SHAPE, generator=g).double() + 2]),
    "LOG10": (_fn("LOG10"), [_positive()]),
    "TANH": (_fn("TANH"), [_any()]),
    "MMULT": (_fn("MMULT"), [_any((2, 3, 2, 4)), _any((1, 3, 4, 3))]),
    "TRANSPOSE": (_fn("TRANSPOSE"), [_any((2, 3, 2, 4))]),
    "RELU": (_fn("RELU"), [_any()]),
    "SIGMOID": (_fn("SIGMOID"), [_any()]),
    "TORCH_SUMPRODUCT": (_fn("TORCH_SUMPRODUCT"), [_any(), _any()]),
    "TORCH_MMULT": (_fn("TORCH_MMULT"), [_any((1, 2, 3, 2)), _any((1, 2, 2, 1))]),
    "TORCH_MSE": (_fn("TORCH_MSE"), [_any(), _any()]),
    "TORCH_LOGLOSS": (_fn("TORCH_LOGLOSS"), [_probability(), _probability()]),
    # Look-ups: the key is fixed, so the picked cells of the table get the gradient. A key of 10
    # is past every value, so approximate matching picks the last row whatever the sample.
    "INDEX": (_lookup_case("INDEX", None, Block.scalar(2), Block.scalar(1)), [_any()]),
    "VLOOKUP": (_lookup_case("VLOOKUP", Block.scalar(10), None, Block.scalar(2)), [_any()]),
    "HLOOKUP": (_lookup_case("HLOOKUP", Block.scalar(10), None, Block.scalar(2)), [_any()]),
    "LOOKUP": (_lookup_case("LOOKUP", Block.scalar(10), None), [_any()]),
    "XLOOKUP": (
        _lookup_case("XLOOKUP", Block.scalar(2), _const([[1.0], [2.0]]), None),
        [_any((2, 3, 2, 1))],
    ),
    "CHOOSE": (_lookup_case("CHOOSE", Block.scalar(2), None, None), [_any(), _any()]),
    "FILTER": (
        _lookup_case("FILTER", None, _const([[1.0], [0.0], [1.0]])),
        [_any((1, 1, 3, 2))],
    ),
    "SORT": (_fn("SORT"), [_any((1, 1, 3, 2))]),
    "UNIQUE": (_fn("UNIQUE"), [_any((1, 1, 3, 2))]),
}


CASES.update(LIBRARY_CASES)
CASES.update(SHAPING_CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, makers = CASES[name]
    generator = torch.Generator().manual_seed(sorted(CASES).index(name))
    inputs = tuple(make(generator).requires_grad_() for make in makers)

    def forward(*tensors):
        result = fn(*(Block(t) for t in tensors))
        assert result.err is None or not bool((result.err != 0).any())
        return result.num

    assert torch.autograd.gradcheck(forward, inputs)


def test_every_differentiable_function_has_a_gradcheck():
    lookup("SUM")  # loads the library
    differentiable = {spec.name for spec in _REGISTRY.values() if spec.differentiable}
    # Reference functions read cells the engine gathers for them: their gradients are checked
    # through compiled workbooks (tests/formula/test_lookup_gradients.py).
    by_reference = {"OFFSET", "INDIRECT", "ANCHORARRAY", "SINGLE"}
    assert differentiable - set(CASES) <= {"TORCH_SOLVE", *by_reference}


def _grad(fn, *values):
    inputs = [
        torch.tensor(v, dtype=torch.float64).reshape(1, 1, 1, -1).requires_grad_() for v in values
    ]
    fn(*(Block(x) for x in inputs)).num.sum().backward()
    return [x.grad.reshape(-1).tolist() for x in inputs]


def test_error_cells_give_zero_not_nan_gradients():
    assert _grad(_fn("SQRT"), [-1.0, 4.0]) == [[0.0, 0.25]]
    assert _grad(_fn("LN"), [0.0, 2.0]) == [[0.0, 0.5]]
    assert _grad(_fn("LOG10"), [-3.0]) == [[0.0]]
    assert _grad(BINARY_OPERATORS["/"], [1.0, 1.0], [0.0, 2.0]) == [[0.0, 0.5], [0.0, -0.25]]
    assert _grad(BINARY_OPERATORS["^"], [-8.0], [0.5]) == [[0.0], [0.0]]
    assert _grad(_fn("EXP"), [1000.0]) == [[0.0]]


def test_unchosen_branch_does_not_poison_the_gradient():
    """IF(x>0, SQRT(x), 0) and IF(x=0, 0, 1/x) at the points where the other branch fails."""

    def guarded_sqrt(x):
        return _fn("IF")(BINARY_OPERATORS[">"](x, Block.scalar(0)), _fn("SQRT")(x), Block.scalar(0))

    def guarded_inverse(x):
        return _fn("IF")(
            BINARY_OPERATORS["="](x, Block.scalar(0)),
            Block.scalar(0),
            BINARY_OPERATORS["/"](Block.scalar(1), x),
        )

    assert _grad(guarded_sqrt, [-4.0, 0.0, 4.0]) == [[0.0, 0.0, 0.25]]
    assert _grad(guarded_inverse, [0.0, 2.0]) == [[0.0, -0.25]]


def test_relu_gradient_at_zero_is_zero():
    assert _grad(_fn("RELU"), [-1.0, 0.0, 3.0]) == [[0.0, 0.0, 1.0]]


def test_saturated_logloss_has_a_finite_gradient():
    grads = _grad(_fn("TORCH_LOGLOSS"), [0.0, 1.0, 0.5], [0.0, 1.0, 1.0])
    assert all(torch.isfinite(torch.tensor(g)).all() for g in grads)


def test_power_of_zero_base_has_finite_gradients():
    grads = _grad(BINARY_OPERATORS["^"], [0.0, 0.0, 0.0], [0.5, 0.0, 2.0])
    assert grads == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
