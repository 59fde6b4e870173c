"""Bitwise functions: BITAND, BITOR, BITXOR, BITLSHIFT, BITRSHIFT (Excel 2013).

Excel works on whole numbers from 0 to 2^48 - 1: a fraction, a negative number or one past that
is #NUM!, and so is a shift by more than 53 places (Microsoft's documentation). A negative
shift amount shifts the other way. Elementwise over ranges, piecewise constant (gradient 0).
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import to_number
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, error_where, merge_errors
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Engineering"
LIMIT = 2.0**48  # Excel's bound on the operands and results
MAX_SHIFT = 53


def _whole(x: torch.Tensor) -> torch.Tensor:
    """Where `x` is not a whole number in [0, 2^48)."""
    return (x < 0) | (x >= LIMIT) | (x != torch.floor(x))


def _binary(name: str, op):
    @register(name, min_args=2, max_args=2, category=CATEGORY, differentiable=False,
              array_result=True)  # fmt: skip
    def function(number1: Block, number2: Block) -> Block:
        a, b = (to_number(block) for block in align(number1, number2))
        bad = _whole(a.num) | _whole(b.num)
        x = torch.where(bad, 0.0, a.num.detach()).to(torch.int64)
        y = torch.where(bad, 0.0, b.num.detach()).to(torch.int64)
        values = op(x, y).to(a.num.dtype)
        return Block(values, err=merge_errors(a.err, b.err, error_where(bad, ErrorCode.NUM)))

    function.__doc__ = f"{name}(number1, number2): bit by bit, on whole numbers below 2^48."
    function.__name__ = name.lower()
    return function


_binary("BITAND", torch.bitwise_and)
_binary("BITOR", torch.bitwise_or)
_binary("BITXOR", torch.bitwise_xor)


def _shift(name: str, direction: int):
    @register(name, min_args=2, max_args=2, category=CATEGORY, differentiable=False,
              array_result=True)  # fmt: skip
    def function(number: Block, shift_amount: Block) -> Block:
        a, s = (to_number(block) for block in align(number, shift_amount))
        places = torch.trunc(s.num.detach()) * direction  # left is positive
        bad = _whole(a.num) | (places.abs() > MAX_SHIFT)
        x = torch.where(bad, 0.0, a.num.detach())
        p = torch.where(bad, 0.0, places)
        values = torch.where(p >= 0, x * 2.0**p, torch.floor(x / 2.0 ** (-p)))
        return Block(values, err=merge_errors(a.err, s.err, error_where(bad, ErrorCode.NUM)))

    function.__doc__ = f"{name}(number, shift_amount): number shifted by whole bits."
    function.__name__ = name.lower()
    return function


_shift("BITLSHIFT", 1)
_shift("BITRSHIFT", -1)
