"""Trigonometry: SIN … ATAN2, the hyperbolic functions, PI, RADIANS, DEGREES.

All smooth and elementwise (see `math.elementwise`): over a range they return a range, and
autograd differentiates them. Domain errors are #NUM! as in Excel (``ASIN(2)``, ``ACOSH(0.5)``),
with the double where, so no NaN reaches a gradient. ATAN2 takes (x, y) in Excel's order, the
reverse of C's atan2(y, x), and ``ATAN2(0, 0)`` is #DIV/0!.
"""

from __future__ import annotations

import math as pymath

import torch

from xl_lesson3.formula.functions.core.coercion import to_number
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, error_where, merge_errors
from xl_lesson3.formula.functions.math.elementwise import elementwise
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Math & Trig"


def _one(name: str, fn, bad=None, safe: float = 0.5, code: ErrorCode = ErrorCode.NUM):
    @register(name, min_args=1, max_args=1, category=CATEGORY, array_result=True)
    def function(number: Block) -> Block:
        return elementwise(number, fn, bad=bad, safe_input=safe, code=code)

    function.__doc__ = f"{name}(number), cell by cell."
    function.__name__ = name.lower()
    return function


_one("SIN", torch.sin)
_one("COS", torch.cos)
_one("TAN", torch.tan)
_one("ASIN", torch.asin, bad=lambda x: x.abs() > 1, safe=0.0)
_one("ACOS", torch.acos, bad=lambda x: x.abs() > 1, safe=0.0)
_one("ATAN", torch.atan)
_one("SINH", torch.sinh, bad=lambda x: x.abs() > 710, safe=0.0)
_one("COSH", torch.cosh, bad=lambda x: x.abs() > 710, safe=0.0)
_one("ASINH", torch.asinh)
_one("ACOSH", torch.acosh, bad=lambda x: x < 1, safe=2.0)
_one("ATANH", torch.atanh, bad=lambda x: x.abs() >= 1, safe=0.0)
_one("COT", lambda x: 1 / torch.tan(x), bad=lambda x: x == 0, code=ErrorCode.DIV0)
_one("CSC", lambda x: 1 / torch.sin(x), bad=lambda x: x == 0, code=ErrorCode.DIV0)
_one("SEC", lambda x: 1 / torch.cos(x))
_one("COTH", lambda x: 1 / torch.tanh(x), bad=lambda x: x == 0, code=ErrorCode.DIV0)
_one("CSCH", lambda x: 1 / torch.sinh(x), bad=lambda x: x == 0, code=ErrorCode.DIV0)
_one("SECH", lambda x: 1 / torch.cosh(x))
_one("ACOT", lambda x: pymath.pi / 2 - torch.atan(x))
_one("RADIANS", lambda x: x * (pymath.pi / 180))
_one("DEGREES", lambda x: x * (180 / pymath.pi))


@register("PI", min_args=0, max_args=0, category=CATEGORY, differentiable=False)
def pi() -> Block:
    """PI(): 3.14159265358979."""
    return Block.scalar(pymath.pi)


@register("ATAN2", min_args=2, max_args=2, category=CATEGORY, array_result=True)
def atan2(x_num: Block, y_num: Block) -> Block:
    """ATAN2(x_num, y_num): the angle of the point (x, y); #DIV/0! at the origin."""
    x_num, y_num = align(x_num, y_num)
    x, y = to_number(x_num), to_number(y_num)
    origin = (x.num == 0) & (y.num == 0)
    values = torch.atan2(torch.where(origin, 1.0, y.num), torch.where(origin, 1.0, x.num))
    values = torch.where(origin, 0.0, values)
    return Block(values, err=merge_errors(x.err, y.err, error_where(origin, ErrorCode.DIV0)))
