"""Elementwise math: ABS, SQRT, POWER, EXP, LN, LOG, LOG10, SIGN, ROUND, TANH.

Each reads its arguments by the ARITHMETIC rule (``SQRT("4") = 2``, ``SQRT(TRUE) = 1``) and
works cell by cell, so over a range it returns a range (``=SQRT(A1:A3)`` as an array formula).

Domain errors are #NUM! as in Excel (``SQRT(-1)``, ``LN(0)``, ``LOG(-1)``, ``EXP(1000)``);
LibreOffice writes #VALUE! for the first three and the agreement test records that. The
lowering is the "double where" (see `operators`): bad inputs are swapped for a harmless value
before the op, and the output is replaced after it, so no NaN or inf reaches autograd.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable

import torch

from xl_lesson3.formula.functions.core.coercion import to_number
from xl_lesson3.formula.functions.core.operators import power
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, error_where, merge_errors
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Math & Trig"
Domain = Callable[[torch.Tensor], torch.Tensor]


def elementwise(
    x: Block,
    fn: Callable[[torch.Tensor], torch.Tensor],
    bad: Domain | None = None,
    safe_input: float = 1.0,
    code: ErrorCode = ErrorCode.NUM,
) -> Block:
    """Apply `fn` cell by cell; cells where ``bad(x)`` holds become `code` (default #NUM!).

    With `bad`, the double where: `fn` sees `safe_input` in bad cells and its output there is 0.
    """
    if x.err is None and x.kind is None and bad is None:
        return Block(fn(x.num))
    x = to_number(x)
    if bad is None:
        return Block(fn(x.num), err=x.err)
    mask = bad(x.num)
    values = torch.where(mask, 0.0, fn(torch.where(mask, safe_input, x.num)))
    return Block(values, err=merge_errors(x.err, error_where(mask, code)))


@register("ABS", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def abs_(number: Block) -> Block:
    """ABS(number): |number| (gradient 0 at 0, as torch.abs)."""
    return elementwise(number, torch.abs)


@register(
    "SIGN", min_args=1, max_args=1, category=CATEGORY, differentiable=False, array_result=True
)
def sign(number: Block) -> Block:
    """SIGN(number): -1, 0 or 1. Piecewise constant: its gradient is zero."""
    return elementwise(number, torch.sign)


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    # sqrt'(0) is inf; in IF(x>0, SQRT(x), 0) at x = 0 that inf meets the zero gradient of the
    # unchosen branch and makes NaN. So x = 0 takes a path with gradient 0 (as RELU's at 0).
    zero = x == 0
    return torch.where(zero, 0.0, torch.sqrt(torch.where(zero, 1.0, x)))


@register("SQRT", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def sqrt(number: Block) -> Block:
    """SQRT(number): the square root; #NUM! for a negative number (gradient 0 at 0)."""
    return elementwise(number, _sqrt, bad=lambda x: x < 0)


@register("EXP", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def exp(number: Block) -> Block:
    """EXP(number): e to the power `number`; #NUM! where the result overflows."""
    limit = pymath.log(torch.finfo(number.num.dtype).max)
    return elementwise(number, torch.exp, bad=lambda x: x > limit, safe_input=0.0)


@register("LN", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def ln(number: Block) -> Block:
    """LN(number): the natural logarithm; #NUM! for number <= 0."""
    return elementwise(number, torch.log, bad=lambda x: x <= 0)


@register("LOG10", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def log10(number: Block) -> Block:
    """LOG10(number): the base-10 logarithm; #NUM! for number <= 0."""
    return elementwise(number, torch.log10, bad=lambda x: x <= 0)


@register("LOG", min_args=1, max_args=2, category=CATEGORY, array_result=True)
def log(number: Block, base: Block | None = None) -> Block:
    """LOG(number, [base=10]) = ln(number) / ln(base).

    #NUM! for number <= 0 or base <= 0; #DIV/0! for base = 1 (ln(1) = 0).
    """
    if base is None:
        return log10(number)
    number, base = align(number, base)
    x, b = to_number(number), to_number(base)
    bad = (x.num <= 0) | (b.num <= 0)
    one = b.num == 1
    skip = bad | one
    values = torch.log(torch.where(skip, 1.0, x.num)) / torch.log(torch.where(skip, 2.0, b.num))
    values = torch.where(skip, 0.0, values)
    err = merge_errors(
        x.err, b.err, error_where(bad, ErrorCode.NUM), error_where(one, ErrorCode.DIV0)
    )
    return Block(values, err=err)


@register("POWER", min_args=2, max_args=2, category=CATEGORY, array_result=True)
def power_(number: Block, exponent: Block) -> Block:
    """POWER(number, power): ``number ^ power`` (see operators.power_values), but with Excel's
    answers where the ``^`` operator follows LibreOffice: POWER(0,0) is #NUM! and a zero base
    with a negative power is #DIV/0!.
    """
    number, exponent = align(number, exponent)
    result = power(number, exponent)
    base, power_of = to_number(number).num.detach(), to_number(exponent).num.detach()
    zero_zero = (base == 0) & (power_of == 0)
    zero_negative = (base == 0) & (power_of < 0)
    if not bool((zero_zero | zero_negative).any()):
        return result
    values = torch.where(zero_zero, 0.0, result.num)
    err = merge_errors(
        to_number(number).err,  # an argument's own error comes first
        to_number(exponent).err,
        error_where(zero_zero, ErrorCode.NUM),
        error_where(zero_negative, ErrorCode.DIV0),
        result.err,
    )
    return Block(values, err=err)


@register("TANH", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def tanh(number: Block) -> Block:
    """TANH(number): the hyperbolic tangent."""
    return elementwise(number, torch.tanh)


def round_half_away(values: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
    """Round to `digits` decimals, halves away from zero, as Excel does (2.5 -> 3, -2.5 -> -3).

    `digits` is truncated toward zero (ROUND(x, 2.9) rounds to 2 decimals). Excel rounds the
    decimal number it shows, so ``ROUND(2.675, 2) = 2.68`` although the double 2.675 is
    2.67499999...: we first round the scaled value to 15 significant digits, which recovers
    the decimal, then round half away from zero. Not differentiable (a step function).
    """
    digits = torch.trunc(digits)
    scale = torch.pow(torch.full_like(digits, 10.0), digits)
    scaled = values.abs() * scale
    magnitude = torch.floor(torch.log10(torch.where(scaled > 0, scaled, 1.0)))
    precision = torch.pow(torch.full_like(magnitude, 10.0), (14 - magnitude).clamp(max=300))
    scaled = torch.round(scaled * precision) / precision
    return torch.sign(values) * torch.floor(scaled + 0.5) / scale


@register(
    "ROUND", min_args=2, max_args=2, category=CATEGORY, differentiable=False, array_result=True
)
def round_(number: Block, num_digits: Block) -> Block:
    """ROUND(number, num_digits): half away from zero; negative digits round left of the point."""
    number, num_digits = align(number, num_digits)
    x, d = to_number(number), to_number(num_digits)
    values = round_half_away(x.num.detach(), d.num.detach())
    return Block(values, err=merge_errors(x.err, d.err))
