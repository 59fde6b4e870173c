"""Excel's operators on `Block`s: the API the formula engine calls.

The engine's contract::

    BINARY_OPERATORS: dict[str, Callable[[Block, Block], Block]]
        keys "+", "-", "*", "/", "^", "&", "=", "<>", "<", ">", "<=", ">="
        e.g. BINARY_OPERATORS["+"](left, right)
    UNARY_OPERATORS: dict[str, Callable[[Block], Block]]
        keys "-" (negation), "+" (unary plus: returns its operand unchanged, text stays text)
        and "%" (postfix percent, x/100); `percent` is the same function as "%".

Operands broadcast by Excel's array rule (`shapes.align`); arithmetic reads its operands by the
ARITHMETIC rule (``TRUE+1 = 2``, ``"3"+1 = 4``, ``"a"+1 = #VALUE!``, blank = 0); the left
operand's error wins over the right's, which wins over the operator's own (``#N/A/0 = #N/A``).
Comparisons and ``&`` live in `comparison`. When both operands are plain numbers (no err/kind/
text), ``+``, ``-`` and ``*`` are one torch op each, with no mask work; their overflow to inf is
therefore not flagged here: `literals.block_to_values` and IFERROR read inf as #NUM!. The same
holds for ``^`` in a compiled formula whose exponent is a constant positive integer
(`SPECIALIZATIONS`): ``(x-y)^2`` is one ``torch.square`` when the base is plain.

Operators whose result can be undefined (``/``, ``^``) use the "double where": the bad cells'
inputs are replaced by a harmless value *before* the op and the result is replaced after it,
so neither the forward value nor the backward pass ever sees inf or NaN from a cell that is an
error anyway (a single ``where`` after the op would still send ``0 * inf = NaN`` gradients).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from xl_lesson3.formula.functions.core.coercion import to_number
from xl_lesson3.formula.functions.core.comparison import COMPARISONS, concatenate
from xl_lesson3.formula.functions.core.shapes import align, error_where, is_plain, merge_errors
from xl_lesson3.formula.values import Block, ErrorCode

BinaryOp = Callable[[Block, Block], Block]
UnaryOp = Callable[[Block], Block]


def _arithmetic(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> BinaryOp:
    """An Excel binary operator from a torch function that cannot fail (+, -, *)."""

    def operator(left: Block, right: Block) -> Block:
        if (  # plain numbers of one shape, the compiled programs' usual case: no checks to run
            left.err is None
            and right.err is None
            and left.kind is None
            and right.kind is None
            and left.text is None
            and right.text is None
            and left.num.shape[-2:] == right.num.shape[-2:]
        ):
            return Block(fn(left.num, right.num))
        left, right = align(left, right)
        if is_plain(left, right):
            return Block(fn(left.num, right.num))
        a, b = to_number(left), to_number(right)
        return Block(fn(a.num, b.num), err=merge_errors(a.err, b.err))

    operator.__doc__ = f"Excel's binary operator computed by torch.{fn.__name__}."
    return operator


add = _arithmetic(torch.add)
subtract = _arithmetic(torch.sub)
multiply = _arithmetic(torch.mul)


def divide(left: Block, right: Block) -> Block:
    """``left / right``; a zero divisor gives #DIV/0! (blank and FALSE are zero too)."""
    left, right = align(left, right)
    a, b = to_number(left), to_number(right)
    zero = b.num == 0
    # Double where: divide by 1 where the divisor is 0, so no inf reaches autograd.
    values = torch.where(zero, 0.0, a.num / torch.where(zero, 1.0, b.num))
    return Block(values, err=merge_errors(a.err, b.err, error_where(zero, ErrorCode.DIV0)))


def power_values(base: torch.Tensor, exponent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``base ^ exponent`` and a mask of #NUM! cells, by LibreOffice's rules.

    LibreOffice (our reference) and Excel differ here; we follow LibreOffice:
    ``0^0 = 1`` (Excel: #NUM!), ``0^-1 = #NUM!`` (Excel: #DIV/0!), and a negative base with
    a fractional exponent whose inverse is an odd integer is an odd root, ``(-8)^(1/3) = -2``
    (Excel: #NUM!). Any other negative base with a fractional exponent, and overflow, are #NUM!.
    """
    integral = exponent == torch.round(exponent)
    inverse = 1.0 / torch.where(exponent == 0, 1.0, exponent)
    rounded_inverse = torch.round(inverse)
    odd_inverse = ((inverse - rounded_inverse).abs() <= 1e-12 * inverse.abs()) & (
        torch.remainder(rounded_inverse, 2) == 1
    )
    negative_fraction = (base < 0) & ~integral
    odd_root = negative_fraction & odd_inverse
    bad = (negative_fraction & ~odd_inverse) | ((base == 0) & (exponent < 0))
    # 0^e with e < 1 has an infinite derivative (0^0.5) that would turn a zero upstream gradient
    # into NaN, so those cells take their value (1 for 0^0, else 0) without a pow.
    singular = (base == 0) & (exponent < 1)
    # Double where: a harmless base (1) in bad cells, |base| for odd roots, sign put back after.
    safe_base = torch.where(bad | singular, 1.0, torch.where(odd_root, -base, base))
    values = torch.pow(safe_base, exponent)
    values = torch.where(odd_root, -values, values)
    values = torch.where(singular, (exponent == 0).to(values.dtype), values)
    bad = bad | ~torch.isfinite(values)
    return torch.where(bad, 0.0, values), bad


def power(left: Block, right: Block) -> Block:
    """``left ^ right`` (also POWER); see `power_values` for the undefined cases."""
    left, right = align(left, right)
    a, b = to_number(left), to_number(right)
    values, bad = power_values(a.num, b.num)
    return Block(values, err=merge_errors(a.err, b.err, error_where(bad, ErrorCode.NUM)))


def _power_by_constant(constants: list[Block | None]) -> BinaryOp | None:
    """``^`` for a compiled formula whose exponent is a constant positive integer (``(x-y)^2``).

    Checked once, when the formula is compiled. With such an exponent and a plain base, nothing
    can be undefined but overflow, so the result is one torch op without masks (overflow to inf
    is left unflagged, as for ``*``); any other base takes the general `power`.
    """
    exponent = constants[1]
    if exponent is None or not is_plain(exponent) or exponent.num.numel() != 1:
        return None
    value = float(exponent.num.reshape(()))
    if not (value.is_integer() and 1 <= value <= 1024):
        return None
    n = int(value)

    def integer_power(left: Block, right: Block) -> Block:
        if is_plain(left):
            return Block(torch.square(left.num) if n == 2 else torch.pow(left.num, n))
        return power(left, right)

    return integer_power


def negate(operand: Block) -> Block:
    """Unary minus: ``-"3" = -3``, ``-TRUE = -1``."""
    if is_plain(operand):
        return Block(-operand.num)
    x = to_number(operand)
    return Block(-x.num, err=x.err)


def unary_plus(operand: Block) -> Block:
    """Unary plus: Excel returns the operand unchanged (``+"a"`` is still the text "a")."""
    return operand


def percent(operand: Block) -> Block:
    """Postfix ``%``: the operand divided by 100 (``"50"% = 0.5``)."""
    if is_plain(operand):
        return Block(operand.num / 100)
    x = to_number(operand)
    return Block(x.num / 100, err=x.err)


BINARY_OPERATORS: dict[str, BinaryOp] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "^": power,
    "&": concatenate,
    **COMPARISONS,
}

# Faster versions of an operator for a compiled formula, chosen once from its constant operands:
# called with the operands (a Block for each constant, None for each computed one), they return
# the replacement, or None to keep the general operator.
SPECIALIZATIONS: dict[BinaryOp, Callable[[list[Block | None]], BinaryOp | None]] = {
    power: _power_by_constant,
}

UNARY_OPERATORS: dict[str, UnaryOp] = {
    "-": negate,
    "+": unary_plus,
    "%": percent,
}
