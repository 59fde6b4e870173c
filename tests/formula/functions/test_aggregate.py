"""Aggregates against Excel's documented rules and numpy reductions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.formula.functions.cells import call, err, ref, same, val
from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block

MIXED = [True, 2, "5", "abc", None]  # a range holding a boolean, a number, texts and a blank
DIV0, NA = err("#DIV/0!"), err("#N/A")

CASES = [
    # (id, function, args, expected)
    ("sum-range-skips-non-numbers", "SUM", [ref(MIXED)], 2.0),
    ("sum-direct-bool-counts", "SUM", [val(True), val(2)], 3.0),
    ("sum-single-referenced-bool-skipped", "SUM", [ref(True)], 0.0),
    ("sum-direct-numeric-text", "SUM", [val("3"), val(2)], 5.0),
    ("sum-direct-bad-text", "SUM", [val("a"), val(2)], err("#VALUE!")),
    ("sum-first-error-in-range", "SUM", [ref([DIV0, NA])], DIV0),
    ("sum-first-error-by-argument", "SUM", [ref(NA), ref(DIV0)], NA),
    ("sum-array-constant", "SUM", [val([[1, 2], [3, 4]])], 10.0),
    ("sum-array-skips-bools", "SUM", [val([[True, 2]])], 2.0),
    ("sum-blank", "SUM", [ref(None)], 0.0),
    ("sumsq", "SUMSQ", [ref([1, True, 2]), val(True)], 6.0),
    ("sumsq-direct-text", "SUMSQ", [val("2"), val(3)], 13.0),
    ("average", "AVERAGE", [ref([1, 2, 3, 4])], 2.5),
    ("average-of-nothing", "AVERAGE", [ref(["a"])], DIV0),
    ("average-range-skips", "AVERAGE", [ref(MIXED)], 2.0),
    ("average-direct-bool", "AVERAGE", [val(True), val(2)], 1.5),
    ("max-of-nothing-is-0", "MAX", [ref(["a", None])], 0.0),
    ("max-negative", "MAX", [ref([-5, -2, "x"])], -2.0),
    ("max-direct-bool", "MAX", [val(True), val(-1)], 1.0),
    ("max-error", "MAX", [ref([1, NA])], NA),
    ("min-skips-blank", "MIN", [ref([3, None, 5])], 3.0),
    ("min-direct-text", "MIN", [val("3"), val(5)], 3.0),
    ("min-several", "MIN", [ref([3, 4]), val(-1), ref([[2, 0.5]])], -1.0),
    ("count", "COUNT", [ref(MIXED), val(True), val("7"), val("x")], 3.0),
    ("count-skips-errors", "COUNT", [ref([DIV0, NA]), val(1)], 1.0),
    ("count-direct-text", "COUNT", [val("x"), val(1), val("2")], 2.0),
    ("sumproduct", "SUMPRODUCT", [ref([1, 2, 3]), ref([4, 5, 6])], 32.0),
    ("sumproduct-non-numbers-are-0", "SUMPRODUCT", [ref(MIXED[:4]), ref([1, 2, 3, 4])], 4.0),
    ("sumproduct-shape-mismatch", "SUMPRODUCT", [ref([1, 2, 3]), ref([1, 2])], err("#VALUE!")),
    ("sumproduct-scalar-vs-range", "SUMPRODUCT", [val(2), ref([1, 2])], err("#VALUE!")),
    ("sumproduct-scalars", "SUMPRODUCT", [val(3), val(4)], 12.0),
    ("sumproduct-one-array", "SUMPRODUCT", [ref([1, 2, "x", 4])], 7.0),
    ("sumproduct-comparison-bools-are-0", "SUMPRODUCT", [val([True, True])], 0.0),
    ("sumproduct-error", "SUMPRODUCT", [ref([DIV0, 1]), ref([1, 2])], DIV0),
    (
        "sumproduct-three-2d",
        "SUMPRODUCT",
        [ref([[1, 2], [3, 4]]), ref([[1, 1], [2, 2]]), val([[2, 2], [2, 2]])],
        34.0,
    ),
    ("sumxmy2", "SUMXMY2", [ref([1, 2, 3]), ref([2, 4, 7])], 21.0),
    ("sumxmy2-skips-text-pairs", "SUMXMY2", [ref([1, 2, "x"]), ref([2, 4, 5])], 5.0),
    ("sumxmy2-skips-blank-pairs", "SUMXMY2", [ref([4, None]), ref([4, 5])], 0.0),
    ("sumxmy2-count-mismatch", "SUMXMY2", [ref([1, 2]), ref([1, 2, 3])], NA),
    ("sumxmy2-row-vs-column", "SUMXMY2", [ref([[1, 2]]), ref([2, 4])], 5.0),
    ("sumxmy2-error", "SUMXMY2", [ref([1, NA]), ref([1, 2])], NA),
    ("sumx2my2", "SUMX2MY2", [ref([1, 2, 3]), ref([1, 1, 1])], 11.0),
]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_aggregate(name, args, expected):
    actual = call(name, *args)
    assert same(actual, expected), actual


NUMPY_REDUCTIONS = {
    "SUM": lambda x: x.sum(axis=(-2, -1)),
    "SUMSQ": lambda x: (x * x).sum(axis=(-2, -1)),
    "AVERAGE": lambda x: x.mean(axis=(-2, -1)),
    "MAX": lambda x: x.max(axis=(-2, -1)),
    "MIN": lambda x: x.min(axis=(-2, -1)),
    "COUNT": lambda x: np.full(x.shape[:2], x.shape[2] * x.shape[3], dtype=float),
}


@pytest.mark.parametrize("name", sorted(NUMPY_REDUCTIONS))
def test_aggregate_reduces_rows_and_cols_of_a_whole_run(name):
    """3 restarts × a run of 7 cells, each over a 4×5 range: one call, shape (3, 7, 1, 1)."""
    values = np.random.default_rng(0).normal(size=(3, 7, 4, 5))
    result = lookup(name).impl(Block(torch.tensor(values), from_reference=True))
    assert result.num.shape[-2:] == (1, 1)
    expected = NUMPY_REDUCTIONS[name](values)
    np.testing.assert_allclose(
        result.num.expand(3, 7, 1, 1)[..., 0, 0].numpy(), expected, rtol=1e-12
    )


def test_sumproduct_of_a_run_is_one_op_per_run():
    """SUMPRODUCT(A2:J2, $P$1:$Y$1) down 712 rows: the shared weights broadcast over the run."""
    rows = torch.randn(2, 712, 1, 10, dtype=torch.float64)
    weights = torch.randn(1, 1, 1, 10, dtype=torch.float64)
    result = lookup("SUMPRODUCT").impl(Block(rows), Block(weights))
    assert result.num.shape == (2, 712, 1, 1) and result.err is None
    torch.testing.assert_close(result.num[..., 0, 0], (rows * weights).sum((-2, -1)))


@pytest.mark.parametrize(
    "shapes",
    [
        pytest.param([(1, 50, 3, 4), (5, 1, 3, 4)], id="data-by-restart-weights"),
        pytest.param([(5, 1, 3, 4), (1, 50, 3, 4)], id="weights-first"),
        pytest.param([(5, 50, 3, 4), (5, 50, 3, 4)], id="both-full"),
        pytest.param([(1, 50, 1, 4), (5, 50, 1, 4), (1, 1, 1, 4)], id="three-arrays"),
    ],
)
def test_sumproduct_matches_the_product_sum_and_its_gradient(shapes):
    """The two-array path is a batched dot product; values and gradients are the plain ones."""
    arrays = [torch.randn(shape, dtype=torch.float64, requires_grad=True) for shape in shapes]
    result = lookup("SUMPRODUCT").impl(*(Block(a) for a in arrays)).num
    expected = arrays[0]
    for a in arrays[1:]:
        expected = expected * a
    expected = expected.sum((-2, -1), keepdim=True)
    torch.testing.assert_close(result, expected)
    grads = torch.autograd.grad(result.sum(), arrays)
    expected_grads = torch.autograd.grad(expected.sum(), arrays)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad)


def test_an_error_in_one_cell_of_a_run_stays_in_that_cell():
    num = torch.ones(1, 4, 1, 3, dtype=torch.float64)
    error = torch.zeros(1, 4, 1, 3, dtype=torch.int8)
    error[0, 2, 0, 1] = int(DIV0.code)
    result = lookup("SUM").impl(Block(num, err=error, from_reference=True))
    assert result.err[0, :, 0, 0].tolist() == [0, 0, int(DIV0.code), 0]
    assert result.num[0, 0, 0, 0].item() == 3.0


@pytest.mark.parametrize("name", ["SUM", "AVERAGE", "MAX", "MIN", "SUMSQ", "SUMPRODUCT"])
def test_plain_numbers_give_plain_results(name):
    """No error mask is made for all-number inputs, so later ops stay on the fast path."""
    result = lookup(name).impl(Block(torch.ones(2, 3, 4, 5, dtype=torch.float64)))
    assert result.err is None and result.kind is None
