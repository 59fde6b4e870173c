"""LINEST, LOGEST, TREND, GROWTH and the matrix functions against independent references:
numpy's least squares and textbook formulas for the statistics, Microsoft's documented rules
(collinear columns raise the degrees of freedom), and values Excel saved in the conformance
workbooks (pycel's stats.xlsx, formulas' test.xlsx; each case names its cell).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.formula.functions.cells import call, err, ref, same, val
from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block

NA, NUM, VALUE, REF = err("#N/A"), err("#NUM!"), err("#VALUE!"), err("#REF!")

RNG = np.random.default_rng(7)
X = RNG.normal(size=(12, 3))
Y = 1.5 + X @ np.array([2.0, -1.0, 0.5]) + RNG.normal(scale=0.3, size=12)


def _column(values: np.ndarray) -> list:
    return [[float(v)] for v in values]


def _reference_stats(y: np.ndarray, x: np.ndarray, const: bool) -> dict:
    """Textbook least squares: coefficients, standard errors, R², se(y), F, df, SS."""
    design = np.column_stack([x, np.ones(len(y))]) if const else x
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    df = len(y) - design.shape[1]
    ss_resid = float(resid @ resid)
    ss_total = float(((y - y.mean()) ** 2).sum()) if const else float(y @ y)
    var = ss_resid / df
    se = np.sqrt(np.diag(np.linalg.inv(design.T @ design)) * var)
    return {
        "beta": beta,
        "se": se,
        "r2": 1 - ss_resid / ss_total,
        "se_y": var**0.5,
        "f": ((ss_total - ss_resid) / x.shape[1]) / var,
        "df": df,
        "ss_reg": ss_total - ss_resid,
        "ss_resid": ss_resid,
    }


@pytest.mark.parametrize("const", [True, False], ids=["const", "through-origin"])
def test_linest_stats_match_textbook_least_squares(const):
    grid = call("LINEST", ref(_column(Y)), ref(X.tolist()), val(const), val(True))
    expected = _reference_stats(Y, X, const)
    k = X.shape[1]
    coefficients = list(expected["beta"][:k][::-1]) + ([expected["beta"][k]] if const else [0.0])
    assert same(grid[0], coefficients, rel=1e-9)
    se = list(expected["se"][:k][::-1]) + ([expected["se"][k]] if const else [NA])
    assert same(grid[1], se, rel=1e-9)
    assert same(grid[2], [expected["r2"], expected["se_y"], NA, NA], rel=1e-9)
    assert same(grid[3], [expected["f"], float(expected["df"]), NA, NA], rel=1e-9)
    assert same(grid[4], [expected["ss_reg"], expected["ss_resid"], NA, NA], rel=1e-9)


def test_linest_leaves_out_a_collinear_column():
    """Microsoft: a column removed for collinearity gets coefficient 0 and standard error 0,
    and raises df by one."""
    x = np.column_stack([X[:, 0], 2 * X[:, 0], X[:, 1]])
    grid = call("LINEST", ref(_column(Y)), ref(x.tolist()), val(True), val(True))
    expected = _reference_stats(Y, x[:, [0, 2]], True)
    m1, m3, b = expected["beta"]
    assert same(grid[0], [m3, 0.0, m1, b], rel=1e-9)
    assert same(grid[1][1], 0.0)
    assert same(grid[3][1], float(len(Y) - 3))


def test_trend_and_growth_predict_from_the_fit():
    new = RNG.normal(size=(4, 3))
    design = np.column_stack([X, np.ones(12)])
    beta, *_ = np.linalg.lstsq(design, Y, rcond=None)
    trend = call("TREND", ref(_column(Y)), ref(X.tolist()), val(new.tolist()))
    assert same(trend, _column(np.column_stack([new, np.ones(4)]) @ beta), rel=1e-9)
    positive = np.exp(Y / 5)
    log_beta, *_ = np.linalg.lstsq(design, np.log(positive), rcond=None)
    growth = call("GROWTH", ref(_column(positive)), ref(X.tolist()), val(new.tolist()))
    expected = np.exp(np.column_stack([new, np.ones(4)]) @ log_beta)
    assert same(growth, _column(expected), rel=1e-9)


def test_logest_is_exp_of_the_log_line():
    x = np.arange(1.0, 9.0)
    y = 3.0 * 1.4**x * np.exp(RNG.normal(scale=0.01, size=8))
    slope, intercept = np.polyfit(x, np.log(y), 1)
    result = call("LOGEST", ref(_column(y)), ref(_column(x)))
    assert same(result, [[float(np.exp(slope)), float(np.exp(intercept))]], rel=1e-9)


def test_trend_gradient_reaches_known_y():
    y = torch.tensor(Y, dtype=torch.float64).reshape(1, 1, 12, 1).requires_grad_()
    x = Block(torch.tensor(X, dtype=torch.float64).reshape(1, 1, 12, 3))
    new = Block(torch.tensor([[0.1, 0.2, 0.3]], dtype=torch.float64).reshape(1, 1, 1, 3))

    def predict(values):
        return lookup("TREND").impl(Block(values), x, new).num

    assert torch.autograd.gradcheck(predict, (y,))


# (id, function, args, Excel's value) -- the saved value's workbook and cell
EXCEL_SAVED = [
    (
        "linest-no-intercept",  # pycel stats.xlsx Stats!D37:E37
        "LINEST",
        [ref([[1], [2], [3]]), ref([[2], [3], [4]]), ref(False), ref(False)],
        [[0.6896551724137931, 0.0]],
    ),
    (
        "linest-no-intercept-stats",  # Stats!D39:E43
        "LINEST",
        [ref([[1], [2], [3]]), ref([[2], [3], [4]]), ref(False), ref(True)],
        [
            [0.6896551724137931, 0.0],
            [0.05972588991616814, NA],
            [0.9852216748768473, 0.32163376045133824],
            [133.33333333333354, 2.0],
            [13.793103448275863, 0.20689655172413762],
        ],
    ),
    (
        "linest-exact-fit-f-is-num",  # Stats!D45:E49
        "LINEST",
        [ref([[1], [2], [3]]), ref([[2], [3], [4]]), ref(True), ref(True)],
        [[1.0, -1.0], [0.0, 0.0], [1.0, 0.0], [NUM, 1.0], [2.0, 0.0]],
    ),
    (
        "linest-constant-x-columns",  # LinestArrayExp!F21:H25
        "LINEST",
        [ref([[1], [2], [3]]), ref([[2, 3], [2, 3], [2, 3]]), val(None), val(True)],
        [[0.0, 0.0, 2.0], [0.0, 0.0, 0.0], [1.0, 0.0, NA], [NUM, 0.0, NA], [2.0, 0.0, NA]],
    ),
    ("linest-default-x", "LINEST", [ref([[4, 0.1, 0.2]])], [[-1.9, 5.233333333333333]]),
    # formulas test.xlsx STATISTICAL!R58: the x's omitted are 1, 2, 3
    ("linest-x-size", "LINEST", [ref([[0.1, 0.2, 0.3]]), ref([[0.3, 5]])], REF),  # !T58
    ("linest-blank-x", "LINEST", [ref([[0.2, 0.3, 5]]), ref([[5, None, "a"]])], VALUE),  # !U58
    ("linest-error-y", "LINEST", [ref([[NA, err("#DIV/0!"), 1]]), ref([[1, 2, 3]])], VALUE),
    ("linest-const-error", "LINEST", [ref([[1, 2, 4]]), ref([[1, 2, 3]]), ref(NA)], VALUE),
    (
        "growth-two-variables",  # STATISTICAL!R51
        "GROWTH",
        [
            val([[2], [3], [4], [21], [2]]),
            val([[2, 1], [2, 2], [5, 3], [2, 4], [4, 1]]),
            ref([[4, 0.1]]),
        ],
        0.7854753011891914,
    ),
    (
        "trend-new-x-wrong-width",  # STATISTICAL!S113
        "TREND",
        [
            val([[2], [3], [4], [21], [2]]),
            val([[2, 1], [2, 2], [5, 3], [2, 4], [4, 1]]),
            ref([[0.1, 0.2, 0.3]]),
        ],
        REF,
    ),
    (
        "trend-rows-of-new-x",  # STATISTICAL!T113:T114
        "TREND",
        [
            val([[2], [3], [4], [21], [2]]),
            val([[2, 1], [2, 2], [5, 3], [2, 4], [4, 1]]),
            ref([[0.2, 0.3], [0.7, 3]]),
        ],
        [[2.0529411764705867], [15.188235294117646]],
    ),
    (
        "logest-no-intercept",
        "LOGEST",
        [ref([[4, 0.1, 0.2]]), ref([[0.2, 0.3, 5]]), val(0)],
        [[0.7141390943648429, 1.0]],
    ),  # STATISTICAL!R59:S59
    ("mdeterm-singular", "MDETERM", [ref([[1, 1], [1, 1]])], 0.0),  # CORE!R41
    ("mdeterm-text", "MDETERM", [ref([[-1, None], [1, "ciao"]])], VALUE),  # CORE!V41
    ("mdeterm-error", "MDETERM", [ref([[NA, err("#DIV/0!")], [NA, 1]])], NA),  # CORE!AA41
    ("minverse-singular", "MINVERSE", [val([[1, 1], [1, 1]])], [[NUM, NUM], [NUM, NUM]]),
    ("minverse-not-square", "MINVERSE", [val([[1, 3, 8, 5], [1, 3, 6, 1]])], VALUE),  # W42
    ("munit-fraction", "MUNIT", [ref(2.3)], [[1.0, 0.0], [0.0, 1.0]]),  # 'MATH & TRIG'!T47
    ("munit-boolean", "MUNIT", [ref(True)], 1.0),  # Y47
    ("munit-zero", "MUNIT", [ref(0)], VALUE),  # R47
    ("munit-lifted", "MUNIT", [ref([[0, 2, -0.2]])], [[VALUE, 1.0, VALUE]]),  # AH47:AJ47
]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [case[1:] for case in EXCEL_SAVED],
    ids=[case[0] for case in EXCEL_SAVED],
)
def test_excel_saved_values(name, args, expected):
    result = call(name, *args)
    if isinstance(expected, type(NA)) and isinstance(result, list):
        # an error for the whole result: every cell of the array formula shows it
        result = {cell for row in result for cell in row}
        assert result == {expected}
        return
    assert same(result, expected, rel=1e-9), result


def test_minverse_times_matrix_is_identity():
    matrix = RNG.normal(size=(4, 4))
    inverse = np.array(call("MINVERSE", ref(matrix.tolist())), dtype=float)
    assert np.allclose(inverse @ matrix, np.eye(4), atol=1e-12)
    assert same(call("MDETERM", ref(matrix.tolist())), float(np.linalg.det(matrix)), rel=1e-12)
