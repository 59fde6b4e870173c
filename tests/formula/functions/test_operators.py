"""Operators against Excel's semantics (LibreOffice where the brief says so, see operators.py)."""

from __future__ import annotations

import pytest
import torch

from tests.formula.functions.cells import err, ref, same, val
from xl_lesson3.formula.functions.core.literals import block_to_values
from xl_lesson3.formula.functions.core.operators import (
    BINARY_OPERATORS,
    SPECIALIZATIONS,
    UNARY_OPERATORS,
    percent,
    power,
)
from xl_lesson3.formula.functions.logical.conditions import if_

BLANK = ref(None)

BINARY_CASES = [
    # (id, operator, left, right, expected)
    ("add", "+", val(1), val(2), 3.0),
    ("numeric-text-plus-1", "+", val("3"), val(1), 4.0),
    ("text-plus-1", "+", val("a"), val(1), err("#VALUE!")),
    ("true-plus-1", "+", val(True), val(1), 2.0),
    ("blank-plus-1", "+", BLANK, val(1), 1.0),
    ("subtract", "-", val(5), val(7), -2.0),
    ("text-with-spaces-times-percent-text", "*", val(" 2 "), val("50%"), 1.0),
    ("text-exponent", "*", val("1e3"), val(2), 2000.0),
    ("divide", "/", val(1), val(4), 0.25),
    ("divide-by-zero", "/", val(1), val(0), err("#DIV/0!")),
    ("divide-by-blank", "/", val(1), BLANK, err("#DIV/0!")),
    ("divide-by-false", "/", val(1), val(False), err("#DIV/0!")),
    ("operand-error-beats-div0", "/", val(err("#N/A")), val(0), err("#N/A")),
    ("left-error-wins", "+", val(err("#N/A")), val(err("#DIV/0!")), err("#N/A")),
    ("right-error", "*", val(1), val(err("#REF!")), err("#REF!")),
    ("text-error-left-of-div0", "/", val("x"), val(0), err("#VALUE!")),
    ("power", "^", val(2), val(10), 1024.0),
    ("power-half", "^", val(4), val(0.5), 2.0),
    ("zero-to-zero-is-1-as-libreoffice", "^", val(0), val(0), 1.0),
    ("zero-to-negative-is-num-as-libreoffice", "^", val(0), val(-1), err("#NUM!")),
    ("odd-root-of-negative-as-libreoffice", "^", val(-8), val(1 / 3), -2.0),
    ("even-root-of-negative", "^", val(-8), val(0.5), err("#NUM!")),
    ("negative-integer-power", "^", val(-2), val(3), -8.0),
    ("power-overflow", "^", val(10), val(400), err("#NUM!")),
    ("concat-number-text-bool", "&", val(1.5), val("x"), "1.5x"),
    ("concat-bool", "&", val("a"), val(True), "aTRUE"),
    ("concat-blank", "&", BLANK, val("b"), "b"),
    ("concat-integer", "&", val(3.0), val(""), "3"),
    ("concat-big", "&", val(1e20), val(""), "1E+20"),
    ("concat-error", "&", val(err("#N/A")), val("x"), err("#N/A")),
    ("number-lt-text", "<", val(1), val("a"), True),
    ("text-lt-bool", "<", val("a"), val(True), True),
    ("bool-gt-number", ">", val(True), val(5), True),
    ("text-equal-ignores-case", "=", val("abc"), val("ABC"), True),
    ("text-order-ignores-case", "<", val("Z"), val("a"), False),
    ("text-order-is-not-natural", "<", val("a10"), val("a9"), True),
    ("numeric-text-is-text", "<", val("10"), val(9), False),
    ("numeric-text-not-equal-number", "=", val("1"), val(1), False),
    ("blank-equals-zero", "=", BLANK, val(0), True),
    ("blank-equals-empty-text", "=", BLANK, val(""), True),
    ("blank-equals-false", "=", BLANK, val(False), True),
    ("blank-lt-text", "<", BLANK, val("a"), True),
    ("blank-lt-minus-1", "<", BLANK, val(-1), False),
    ("blank-equals-blank", "=", BLANK, BLANK, True),
    ("le", "<=", val(2), val(2), True),
    ("ge", ">=", val(2), val(3), False),
    ("ne", "<>", val(1), val(2), True),
    ("comparison-error", "=", val(err("#DIV/0!")), val(1), err("#DIV/0!")),
    ("column-plus-longer-column", "+", val([1, 2]), val([1, 2, 3]), [[2.0], [4.0], [err("#N/A")]]),
    ("column-plus-row", "+", val([1, 2]), val([[10, 20]]), [[11.0, 21.0], [12.0, 22.0]]),
    ("block-times-scalar", "*", val([[1, 2], [3, 4]]), val(2), [[2.0, 4.0], [6.0, 8.0]]),
    (
        "row-against-narrower-block",
        "+",
        val([[1, 2, 3]]),
        val([[10, 20], [30, 40]]),
        [[11.0, 22.0, err("#N/A")], [31.0, 42.0, err("#N/A")]],
    ),
    ("column-compare-scalar", ">", val([1, 3]), val(2), [[False], [True]]),
]


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [case[1:] for case in BINARY_CASES],
    ids=[case[0] for case in BINARY_CASES],
)
def test_binary_operator(op, left, right, expected):
    actual = block_to_values(BINARY_OPERATORS[op](left, right))
    assert same(actual, expected), actual


UNARY_CASES = [
    ("negate-text", "-", val("3"), -3.0),
    ("negate-true", "-", val(True), -1.0),
    ("negate-bad-text", "-", val("a"), err("#VALUE!")),
    ("negate-error", "-", val(err("#NUM!")), err("#NUM!")),
    ("plus-keeps-text", "+", val("a"), "a"),
    ("percent-text", "%", val("50"), 0.5),
    ("percent", "%", val(5), 0.05),
    ("negate-range", "-", ref([1, None]), [[-1.0], [0.0]]),
]


@pytest.mark.parametrize(
    ("op", "operand", "expected"),
    [case[1:] for case in UNARY_CASES],
    ids=[case[0] for case in UNARY_CASES],
)
def test_unary_operator(op, operand, expected):
    actual = block_to_values(UNARY_OPERATORS[op](operand))
    assert same(actual, expected), actual


def test_percent_is_the_postfix_operator():
    assert UNARY_OPERATORS["%"] is percent


@pytest.mark.parametrize("op", ["+", "-", "*", "<", "="])
def test_plain_numbers_take_the_fast_path(op):
    """All-number operands give a result without err/kind masks (the solver's hot loop)."""
    left = val([[1.0, 2.0]])
    right = val([[3.0], [4.0]])
    result = BINARY_OPERATORS[op](left, right)
    assert result.err is None and result.text is None
    assert result.num.shape == (1, 1, 2, 2)


def test_operators_broadcast_over_batch_and_run():
    """(batch, run) broadcast as torch does: 3 restarts × a run of 5 cells against a constant."""
    left = val(1.0).with_(num=torch.arange(15.0, dtype=torch.float64).reshape(3, 5, 1, 1))
    result = BINARY_OPERATORS["/"](left, val([[2.0, 0.0]]))
    assert result.num.shape == (3, 5, 1, 2)
    assert torch.equal(result.num[..., 0], left.num[..., 0] / 2)
    assert bool((result.err[..., 1] != 0).all())


def _power_for(exponent):
    return SPECIALIZATIONS[power]([None, val(exponent)])


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_constant_integer_exponent_is_one_mask_free_op(n):
    """``(x-y)^2`` compiled: the same numbers and gradient as the general ``^``, no masks."""
    base = val([[-1.5, 0.0, 2.5, 1e-3]])
    fast = _power_for(float(n))
    result = fast(base, val(float(n)))
    assert result.err is None and result.kind is None
    assert torch.allclose(result.num, power(base, val(float(n))).num, rtol=1e-15, atol=0)
    x = base.num.clone().requires_grad_(True)
    fast(base.with_(num=x), val(float(n))).num.sum().backward()
    assert torch.allclose(x.grad, n * base.num ** (n - 1), rtol=1e-12, atol=0)


def test_constant_integer_exponent_keeps_excel_rules_for_other_bases():
    base = val([["3", True, err("#N/A"), "a", None]])
    expected = block_to_values(power(base, val(2.0)))
    assert expected == [[9.0, 1.0, err("#N/A"), err("#VALUE!"), 0.0]]
    assert block_to_values(_power_for(2.0)(base, val(2.0))) == expected


@pytest.mark.parametrize("exponent", [0.0, -1.0, -2.0, 0.5, 2.5, "2", True, [[2.0, 2.0]]])
def test_other_exponents_keep_the_general_power(exponent):
    assert _power_for(exponent) is None


def test_if_on_a_comparison_of_plain_numbers_is_mask_free():
    """``IF(Q6<0,0,Q6)``: the condition is all booleans, so no error or kind mask is built."""
    x = val([[-1.0, 2.0]])
    result = if_(BINARY_OPERATORS["<"](x, val(0.0)), val(0.0), x)
    assert result.err is None and result.kind is None and result.text is None
    assert block_to_values(result) == [[0.0, 2.0]]
