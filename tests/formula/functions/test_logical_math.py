"""Logical, math, matrix and this project's functions against closed forms and Excel's rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.formula.functions.cells import call, err, ref, same, val
from xl_lesson3.formula.functions.core.literals import blank
from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block

DIV0, NA, NUM, VALUE = err("#DIV/0!"), err("#N/A"), err("#NUM!"), err("#VALUE!")

CASES = [
    # (id, function, args, expected)
    ("if-true", "IF", [val(True), val(1), val(2)], 1.0),
    ("if-number-condition", "IF", [val(0.5), val("yes"), val("no")], "yes"),
    ("if-missing-else-is-false", "IF", [val(False), val(1)], False),
    ("if-empty-then-is-0", "IF", [val(True), blank(), val(2)], 0.0),
    ("if-blank-condition-is-false", "IF", [ref(None), val(1), val(2)], 2.0),
    ("if-text-true-condition", "IF", [val("TRUE"), val(1), val(2)], 1.0),
    ("if-text-condition", "IF", [val("a"), val(1), val(2)], VALUE),
    ("if-error-condition", "IF", [val(NA), val(1), val(2)], NA),
    ("if-unchosen-error-ignored", "IF", [val(True), val(1), val(DIV0)], 1.0),
    ("if-array", "IF", [val([1, 0, 1]), ref([1, 2, 3]), val("no")], [[1.0], ["no"], [3.0]]),
    ("iferror-catches", "IFERROR", [val(DIV0), val(7)], 7.0),
    ("iferror-passes", "IFERROR", [val("x"), val(7)], "x"),
    ("iferror-array", "IFERROR", [val([1, NA]), val(0)], [[1.0], [0.0]]),
    (
        "iferror-infinity-is-an-error",
        "IFERROR",
        [val(1.0).with_(num=torch.full((1, 1, 1, 1), math.inf, dtype=torch.float64)), val(0)],
        0.0,
    ),
    ("and", "AND", [val(True), val(1), ref([True, "text", None])], True),
    ("and-false", "AND", [val(1), val(0)], False),
    ("and-only-text-in-range", "AND", [ref(["a", "b"])], VALUE),
    # Excel leaves direct text out unless it spells TRUE/FALSE (its saved AND(TRUE,"0") is TRUE).
    ("and-direct-text", "AND", [val("x"), val(True)], True),
    ("and-direct-text-zero", "AND", [val(True), val("0")], True),
    ("and-direct-text-false", "AND", [val(True), val("false")], False),
    ("and-direct-text-only", "AND", [val("x")], VALUE),
    ("and-error", "AND", [val(True), ref([NA])], NA),
    ("or", "OR", [ref([False, None, True])], True),
    ("or-blank-only", "OR", [ref(None)], VALUE),
    ("not", "NOT", [val(0)], True),
    ("not-blank", "NOT", [ref(None)], True),
    ("not-text-true", "NOT", [val("TRUE")], False),
    ("not-text", "NOT", [val("a")], VALUE),
    ("abs", "ABS", [val(-3)], 3.0),
    ("sqrt-text", "SQRT", [val("4")], 2.0),
    ("sqrt-negative", "SQRT", [val(-1)], NUM),
    ("sqrt-range", "SQRT", [ref([4, -4, "x"])], [[2.0], [NUM], [VALUE]]),
    ("power", "POWER", [val(2), val(0.5)], math.sqrt(2)),
    # Excel: POWER(0,0) is #NUM! and POWER(0,-1) #DIV/0! (LibreOffice: 1 and #NUM!).
    ("power-zero-zero", "POWER", [val(0), val(0)], NUM),
    ("power-zero-negative", "POWER", [val(0), val(-1)], err("#DIV/0!")),
    ("exp", "EXP", [val(1)], math.e),
    ("exp-overflow", "EXP", [val(1000)], NUM),
    ("ln", "LN", [val(10)], math.log(10)),
    ("ln-zero", "LN", [val(0)], NUM),
    ("ln-bad-text", "LN", [val("a")], VALUE),
    ("log-default-base", "LOG", [val(1000)], 3.0),
    ("log-base-2", "LOG", [val(8), val(2)], 3.0),
    ("log-negative", "LOG", [val(-1)], NUM),
    ("log-base-zero", "LOG", [val(10), val(0)], NUM),
    ("log-base-one", "LOG", [val(10), val(1)], DIV0),
    ("log10", "LOG10", [val(0.01)], -2.0),
    ("log10-zero", "LOG10", [val(0)], NUM),
    ("sign", "SIGN", [val(-0.5)], -1.0),
    ("sign-zero", "SIGN", [val(0)], 0.0),
    ("round-half-up", "ROUND", [val(2.5), val(0)], 3.0),
    ("round-half-away-negative", "ROUND", [val(-2.5), val(0)], -3.0),
    ("round-decimal-2.675", "ROUND", [val(2.675), val(2)], 2.68),
    ("round-decimal-1.005", "ROUND", [val(1.005), val(2)], 1.01),
    ("round-negative-1.005", "ROUND", [val(-1.005), val(2)], -1.01),
    ("round-0.285", "ROUND", [val(0.285), val(2)], 0.29),
    ("round-left-of-point", "ROUND", [val(1250), val(-2)], 1300.0),
    ("round-fractional-digits-truncate", "ROUND", [val(1.2345), val(2.9)], 1.23),
    ("round-tiny", "ROUND", [val(1e-300), val(2)], 0.0),
    ("tanh", "TANH", [val(0.5)], math.tanh(0.5)),
    ("tanh-big", "TANH", [val(1000)], 1.0),
    ("mmult", "MMULT", [ref([[1, 2], [3, 4]]), ref([[5], [6]])], [[17.0], [39.0]]),
    ("mmult-shape-mismatch", "MMULT", [ref([1, 2]), ref([1, 2])], VALUE),
    (
        "mmult-text-spoils-all",
        "MMULT",
        [ref([2, "x"]), ref([[1, 1]])],
        [[VALUE, VALUE], [VALUE, VALUE]],
    ),
    ("mmult-bool-spoils-all", "MMULT", [ref([True, 2]), ref([[1]])], [[VALUE], [VALUE]]),
    ("mmult-error-per-row", "MMULT", [ref([DIV0, NA]), ref([[1]])], [[DIV0], [NA]]),
    ("mmult-error-per-column", "MMULT", [ref([[1], [2]]), ref([[1, NA]])], [[1.0, NA], [2.0, NA]]),
    ("transpose", "TRANSPOSE", [ref([[1, "a"], [True, None]])], [[1.0, True], ["a", 0.0]]),
    ("relu", "RELU", [val([[-1.5, 0, 2]])], [[0.0, 0.0, 2.0]]),
    ("relu-text", "XLWINGS.RELU", [val("3")], 3.0),
    ("sigmoid", "SIGMOID", [val(0)], 0.5),
    ("sigmoid-large-negative", "SIGMOID", [val(-1000)], 0.0),
    ("torch-sumproduct", "TORCH_SUMPRODUCT", [ref([1, 2]), ref([3, 4])], 11.0),
    ("torch-mmult", "_xludf.TORCH_MMULT", [ref([[1, 2]]), ref([3, 4])], 11.0),
    ("torch-mse", "TORCH_MSE", [ref([1, 2, 3]), ref([1, 4, 6])], 13 / 3),
    ("torch-mse-shape", "TORCH_MSE", [ref([1, 2]), ref([[1, 2]])], VALUE),
    ("torch-mse-error", "TORCH_MSE", [ref([1, NA]), ref([1, 2])], NA),
    (
        "torch-logloss",
        "TORCH_LOGLOSS",
        [ref([0.9, 0.2]), ref([1, 0])],
        -(math.log(0.9) + math.log(0.8)) / 2,
    ),
    ("torch-logloss-saturated", "TORCH_LOGLOSS", [ref([1.0, 0.0]), ref([0, 1])], 100.0),
    ("torch-logloss-outside-0-1", "TORCH_LOGLOSS", [ref([1.5]), ref([1])], NUM),
]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_function(name, args, expected):
    actual = call(name, *args)
    assert same(actual, expected), actual


def test_mmult_matches_numpy_for_a_batch_of_runs():
    rng = np.random.default_rng(1)
    left, right = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(1, 1, 5, 6))
    result = lookup("MMULT").impl(Block(torch.tensor(left)), Block(torch.tensor(right)))
    assert result.err is None
    np.testing.assert_allclose(result.num.numpy(), left @ right, rtol=1e-12)


def test_torch_logloss_matches_torch_binary_cross_entropy():
    pred = torch.rand(1, 1, 6, 2, dtype=torch.float64)
    target = (torch.rand(1, 1, 6, 2) > 0.5).to(torch.float64)
    result = lookup("TORCH_LOGLOSS").impl(Block(pred), Block(target))
    expected = torch.nn.functional.binary_cross_entropy(pred, target)
    torch.testing.assert_close(result.num.reshape(()), expected)


@pytest.mark.parametrize(
    "name",
    [
        "SQRT",
        "EXP",
        "LN",
        "LOG10",
        "TANH",
        "RELU",
        "SIGMOID",
        "ABS",
        "ROUND",
        "SUM",
        "AVERAGE",
        "MAX",
        "SUMPRODUCT",
        "MMULT",
        "TRANSPOSE",
        "IF",
        "TORCH_LOGLOSS",
    ],
)
def test_float32_stays_float32(name):
    """Compilation may ask for float32: no function silently promotes to float64."""
    x = Block(torch.rand(1, 2, 2, 2, dtype=torch.float32) + 0.1)
    n_args = {"ROUND": 2, "MMULT": 2, "IF": 3, "TORCH_LOGLOSS": 2}.get(name, 1)
    result = lookup(name).impl(*[x] * n_args)
    assert result.num.dtype == torch.float32


@pytest.mark.gpu
def test_mixed_blocks_on_cuda():
    """The mask paths (errors, text, blanks) run on CUDA and agree with the CPU."""
    from xl_lesson3.formula.functions.core.literals import block_from_values, block_to_values

    cells = [[1.5, "3", None], [err("#N/A"), True, -2.0]]
    for name, n_args in [("SUM", 1), ("SQRT", 1), ("MMULT", 0), ("IF", 3), ("AVERAGE", 1)]:
        cpu = block_from_values(cells, from_reference=True)
        gpu = block_from_values(cells, from_reference=True, device="cuda")
        args = (cpu, block_from_values([[1], [2], [3]])) if n_args == 0 else (cpu,) * n_args
        gpu_args = (
            (gpu, block_from_values([[1], [2], [3]], device="cuda"))
            if n_args == 0
            else (gpu,) * n_args
        )
        fn = lookup(name).impl
        assert same(block_to_values(fn(*gpu_args)), block_to_values(fn(*args)))
