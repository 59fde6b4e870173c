"""The UDFs called exactly as xlwings calls them: lists of rows with None for blanks, scalars.

On Linux xlwings' decorators leave the functions unchanged and apply no converters, so each
argument below is already in the shape the ``ndim=2`` converter delivers (or a bare scalar, as a
single-cell argument arrives). Results are compared with numpy and with Excel's error values.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xlwings as xw

from udfs import functions as udf
from xl_lesson3.errors import DeviceError

RNG = np.random.default_rng(0)
A = RNG.normal(size=(4, 3)).round(3)
B = RNG.normal(size=(3, 2)).round(3)


def rows(array: np.ndarray) -> list[list[float]]:
    return array.tolist()


def close(result, expected) -> None:
    np.testing.assert_allclose(np.asarray(result, dtype=float), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "value, expected",
    [
        (2.5, 2.5),
        (-1.0, 0.0),
        (0.0, 0.0),
        ([[1.0, -2.0], [None, 3.0]], [[1.0, 0.0], [0.0, 3.0]]),  # a blank reads as 0
        ([[1.0, -2.0, 3.0]], [[1.0, 0.0, 3.0]]),  # 1×N
        ([[-1.0], [2.0]], [[0.0], [2.0]]),  # N×1
        ([[True]], 1.0),  # a 1×1 range comes back as a scalar
    ],
    ids=["scalar", "negative", "zero", "2x2-blank", "row", "column", "bool"],
)
def test_relu(value, expected):
    assert udf.relu(value) == expected


def test_relu_keeps_errors_and_rejects_text():
    assert udf.relu([[1.0, "#DIV/0!"], ["abc", -1.0]]) == [[1.0, "#DIV/0!"], ["#VALUE!", 0.0]]


def test_sigmoid_matches_numpy():
    close(udf.sigmoid(rows(A)), 1 / (1 + np.exp(-A)))
    close(udf.sigmoid(0.0), 0.5)


def test_sumproduct_matches_numpy():
    b = RNG.normal(size=A.shape).round(3)
    close(udf.torch_sumproduct(rows(A), rows(b)), np.sum(A * b))
    close(udf.torch_sumproduct(rows(A), rows(b), rows(A)), np.sum(A * b * A))
    close(udf.torch_sumproduct(rows(A)), np.sum(A))


def test_sumproduct_excel_rules():
    # Text and blanks in a range count as 0 (Excel's SUMPRODUCT); an error cell propagates.
    assert udf.torch_sumproduct([[1.0, "x"], [None, 2.0]], [[3.0, 4.0], [5.0, 6.0]]) == 15.0
    assert udf.torch_sumproduct([[1.0, "#N/A"]], [[1.0, 1.0]]) == "#N/A"
    # Shapes that differ: #VALUE!, as Excel returns.
    assert udf.torch_sumproduct([[1.0, 2.0]], [[1.0], [2.0]]) == "#VALUE!"


def test_sumproduct_takes_a_trailing_device():
    assert udf.torch_sumproduct([[1.0, 2.0]], [[3.0, 4.0]], "cpu") == 11.0
    assert udf.torch_sumproduct([[1.0, 2.0]], [[3.0, 4.0]], "auto") == 11.0


def test_mmult_matches_numpy():
    close(udf.torch_mmult(rows(A), rows(B)), A @ B)
    # 1×N times N×1 gives one cell, returned as a scalar
    close(udf.torch_mmult([[1.0, 2.0, 3.0]], [[4.0], [5.0], [6.0]]), 32.0)
    # a scalar argument is a 1×1 matrix
    close(udf.torch_mmult(2.0, [[1.0, 2.0]]), [[2.0, 4.0]])


@pytest.mark.parametrize(
    "left, right",
    [
        (A.tolist(), A.tolist()),  # inner sizes differ
        ([[1.0, None]], [[1.0], [2.0]]),  # a blank entry
        ([[1.0, "a"]], [[1.0], [2.0]]),  # a text entry
    ],
    ids=["shape", "blank", "text"],
)
def test_mmult_value_errors(left, right):
    assert udf.torch_mmult(left, right) == "#VALUE!"


def test_mse_and_logloss_match_numpy():
    pred = RNG.uniform(0.05, 0.95, size=(6, 1))
    y = (RNG.uniform(size=(6, 1)) > 0.5).astype(float)
    close(udf.torch_mse(rows(pred), rows(y)), np.mean((pred - y) ** 2))
    expected = -np.mean(y * np.log(pred) + (1 - y) * np.log(1 - pred))
    close(udf.torch_logloss(rows(pred), rows(y)), expected)
    assert udf.torch_mse(rows(pred), rows(y.T)) == "#VALUE!"  # 6×1 vs 1×6
    assert udf.torch_logloss([[1.5]], [[1.0]]) == "#NUM!"  # not a probability


def test_unknown_or_missing_device():
    with pytest.raises(Exception, match="cpu, cuda or auto"):
        udf.relu(1.0, "tpu")
    if not torch.cuda.is_available():
        with pytest.raises(xw.XlwingsError, match="no CUDA device") as info:
            udf.relu(1.0, "cuda")
        assert isinstance(info.value.__cause__, DeviceError)  # shown in Excel as its message


@pytest.mark.gpu
def test_cuda_matches_cpu():
    assert udf.torch_mmult(rows(A), rows(B), "cuda") == pytest.approx(
        udf.torch_mmult(rows(A), rows(B), "cpu")
    )
    assert udf.relu([[1.0, -1.0]], "cuda") == [[1.0, 0.0]]


# -- TORCH_SOLVE --------------------------------------------------------------------------------


def _linear_data(n: int = 60):
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.uniform(size=(n, 2)), np.ones(n)])  # last column: the intercept
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.05 * rng.normal(size=n)
    return x, y


def test_solve_linear_reaches_least_squares():
    x, y = _linear_data()
    init = [[0.0, 0.0, 0.0]]
    params = udf.torch_solve(rows(x), rows(y[:, None]), init, "linear", None, 1500, 0.05, 0)
    assert np.shape(params) == (1, 3)  # shaped like init_params
    best = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(params[0], best, atol=1e-4)


def test_solve_is_deterministic_and_side_effect_free():
    x, y = _linear_data()
    state = torch.random.get_rng_state()
    first = udf.torch_solve(rows(x), rows(y[:, None]), None, "relu", 2, 50, 0.05, 7)
    second = udf.torch_solve(rows(x), rows(y[:, None]), None, "relu", 2, 50, 0.05, 7)
    assert first == second
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.shape(first) == (2, 3)  # one row per hidden unit
    other_seed = udf.torch_solve(rows(x), rows(y[:, None]), None, "relu", 2, 50, 0.05, 8)
    assert other_seed != first


def test_solve_relu_lowers_the_loss():
    x, y = _linear_data()
    init = [[0.1, 0.2, 0.3], [-0.2, 0.1, 0.4]]
    params = np.asarray(udf.torch_solve(rows(x), rows(y[:, None]), init, "relu", None, 300))

    def loss(w):
        return np.mean((np.maximum(x @ w.T, 0).sum(axis=1) - y) ** 2)

    assert loss(params) < 0.5 * loss(np.asarray(init))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (([[1.0, 2.0]], [[1.0], [2.0]], None, "linear"), "data has 1 rows but target has 2"),
        (([[1.0, "a"]], [[1.0]], None, "linear"), "#VALUE!"),  # text in the data
        (([[1.0, 2.0]], [[1.0]], [[0.0, 0.0, 0.0]], "linear"), "#VALUE!"),  # 3 params, 2 columns
        (([[1.0, 2.0]], [[1.0]], None, "quadratic"), "model_kind must be one of linear, relu"),
        (([[1.0, 2.0]], [[1.0]], None, "relu"), "#VALUE!"),  # relu without hidden units or init
        (([[1.0]], [[1.0]], None, "linear", 1.5), "hidden must be a whole number"),
    ],
    ids=["rows", "text", "n-params", "kind", "no-hidden", "fractional-hidden"],
)
def test_solve_bad_arguments(args, expected):
    """Bad options and shapes are explained (the #VALUE! tooltip); bad cells give #VALUE!."""
    if expected == "#VALUE!":
        assert udf.torch_solve(*args) == "#VALUE!"
    else:
        with pytest.raises(xw.XlwingsError, match=expected):
            udf.torch_solve(*args)


def test_solve_results_are_cached_on_the_arguments():
    x, y = [[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]], [[1.0], [3.0], [5.0]]
    first = udf.torch_solve(x, y, None, "linear", None, 50, 0.1, 7)
    assert udf.torch_solve(x, y, None, "linear", None, 50, 0.1, 7) is first  # from the cache
    other_seed = udf.torch_solve(x, y, None, "linear", None, 50, 0.1, 8)
    assert other_seed is not first and other_seed != first
