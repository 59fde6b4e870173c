"""Aggregates: SUM, AVERAGE, COUNT, MAX, MIN, SUMSQ, SUMPRODUCT, SUMXMY2, SUMX2MY2.

Every aggregate reduces over the last two dims ``(rows, cols)`` only and keeps
``(batch, run, 1, 1)``: a run of 712 SUMPRODUCTs down a column is one tensor op.

Excel reads an argument in one of two ways (see `coercion`): a reference or array argument
counts only its numbers (text, booleans and blanks are skipped), while a direct scalar argument
is coerced (``SUM(TRUE,2) = 3``, ``SUM("3",2) = 5``, ``SUM("a",2) = #VALUE!``). Errors in any
argument propagate, the first in argument order and then row-major order winning.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from xl_lesson3.formula.functions.core.coercion import (
    COUNT_DIRECT,
    COUNT_RANGE,
    DIRECT_NUMBERS,
    RANGE_NUMBERS,
    SUMPRODUCT_ENTRIES,
    Coerced,
    Rule,
    coerce,
)
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import (
    error_where,
    first_error,
    is_plain,
    merge_errors,
    text_array,
)
from xl_lesson3.formula.values import Block, ErrorCode

MATH = "Math & Trig"
STATISTICAL = "Statistical"
_DIMS = (-2, -1)


def _reads_as_range(block: Block) -> bool:
    """Excel skips non-numbers in references and arrays, but coerces a direct scalar argument."""
    return block.from_reference or not block.is_scalar


def read_arguments(
    args: Sequence[Block], range_rule: Rule = RANGE_NUMBERS, direct_rule: Rule = DIRECT_NUMBERS
) -> list[Coerced]:
    """Each argument read through the rule that fits how it was written."""
    return [coerce(arg, range_rule if _reads_as_range(arg) else direct_rule) for arg in args]


def _errors(parts: Sequence[Coerced]) -> torch.Tensor | None:
    return merge_errors(*(first_error(part.err) for part in parts))


def _total(parts: Sequence[Coerced], square: bool = False) -> torch.Tensor:
    """Sum of the counting cells of every argument, ``(b, r, 1, 1)``."""
    total = None
    for part in parts:
        values = part.filled(0.0)
        values = values * values if square else values
        subtotal = values.sum(dim=_DIMS, keepdim=True)
        total = subtotal if total is None else total + subtotal
    return total


def _count(parts: Sequence[Coerced]) -> torch.Tensor:
    count = None
    for part in parts:
        count = part.count() if count is None else count + part.count()
    return count


@register("SUM", min_args=1, max_args=255, category=MATH)
def sum_(*args: Block) -> Block:
    """SUM(number1, ...): the sum of all numbers."""
    if is_plain(*args):
        return Block(_total([Coerced(arg.num, None, None) for arg in args]))
    parts = read_arguments(args)
    return Block(_total(parts), err=_errors(parts))


@register("SUMSQ", min_args=1, max_args=255, category=MATH)
def sumsq(*args: Block) -> Block:
    """SUMSQ(number1, ...): the sum of the squares of all numbers."""
    parts = read_arguments(args)
    return Block(_total(parts, square=True), err=_errors(parts))


@register("AVERAGE", min_args=1, max_args=255, category=STATISTICAL)
def average(*args: Block) -> Block:
    """AVERAGE(number1, ...): the mean of all numbers; #DIV/0! when there are none."""
    parts = read_arguments(args)
    if all(part.include is None for part in parts):  # every cell counts: a count known now
        n_cells = sum(part.num.shape[-2] * part.num.shape[-1] for part in parts)
        return Block(_total(parts) / n_cells, err=_errors(parts))
    count = _count(parts)
    empty = count == 0
    values = _total(parts) / torch.where(empty, 1.0, count)  # double where: no 0/0 in backward
    return Block(values, err=merge_errors(_errors(parts), error_where(empty, ErrorCode.DIV0)))


@register("COUNT", min_args=1, max_args=255, category=STATISTICAL, differentiable=False)
def count(*args: Block) -> Block:
    """COUNT(value1, ...): how many numbers; errors and non-numeric text are not counted."""
    parts = read_arguments(args, COUNT_RANGE, COUNT_DIRECT)
    return Block(_count(parts))


def _extreme(args: Sequence[Block], largest: bool) -> Block:
    """MAX or MIN: 0 when no argument holds a number (Excel's rule, unlike AVERAGE)."""
    parts = read_arguments(args)
    fill = float("-inf") if largest else float("inf")
    best = None
    for part in parts:
        values = part.filled(fill)
        value = (
            values.amax(dim=_DIMS, keepdim=True)
            if largest
            else values.amin(dim=_DIMS, keepdim=True)
        )
        if best is None:
            best = value
        else:
            best = torch.maximum(best, value) if largest else torch.minimum(best, value)
    if all(part.include is None for part in parts):  # every cell counts: never empty
        return Block(best, err=_errors(parts))
    none = _count(parts) == 0
    return Block(torch.where(none, 0.0, best), err=_errors(parts))


@register("MAX", min_args=1, max_args=255, category=STATISTICAL)
def max_(*args: Block) -> Block:
    """MAX(number1, ...): the largest number, 0 if none."""
    return _extreme(args, largest=True)


@register("MIN", min_args=1, max_args=255, category=STATISTICAL)
def min_(*args: Block) -> Block:
    """MIN(number1, ...): the smallest number, 0 if none."""
    return _extreme(args, largest=False)


@register("SUMPRODUCT", min_args=1, max_args=255, category=MATH)
def sumproduct(*arrays: Block) -> Block:
    """SUMPRODUCT(array1, ...): the sum of the cell-by-cell products.

    All arrays must have the same (rows, cols), else #VALUE! (a scalar is a 1×1 array, so
    ``SUMPRODUCT(2, A1:A2)`` is #VALUE!). Non-numeric entries, booleans included, count as 0.
    """
    shape = arrays[0].shape
    if any(array.shape != shape for array in arrays):
        return _mismatch(arrays)
    if is_plain(*arrays):
        return Block(_sum_of_products([array.num for array in arrays]))
    parts = [coerce(array, SUMPRODUCT_ENTRIES) for array in arrays]
    return Block(_sum_of_products([part.num for part in parts]), err=_errors(parts))


def _mismatch(arrays: tuple[Block, ...]) -> Block:
    """Arrays of different shapes: the first error value in them (argument by argument, row by
    row), else #VALUE! (Excel's saved values, formulas' test.xlsx 'MATH & TRIG'!AE75:AF75)."""
    like = arrays[0].num
    code = torch.zeros((1, 1, 1, 1), dtype=torch.int8, device=like.device)
    for array in arrays:
        if array.err is None:
            continue
        cells = array.err.expand(*array.err.shape[:2], *array.shape).flatten(-2)  # (b, n, k)
        first = cells.gather(-1, (cells != 0).to(torch.int8).argmax(-1, keepdim=True))
        code = torch.where(code != 0, code, first[..., None])
    code = torch.where(code != 0, code, torch.tensor(int(ErrorCode.VALUE), dtype=torch.int8))
    return Block(torch.zeros(code.shape, dtype=like.dtype, device=like.device), err=code)


def _sum_of_products(nums: list[torch.Tensor]) -> torch.Tensor:
    """The sum over (rows, cols) of the cell-by-cell product: ``(batch, run, 1, 1)``.

    Two arrays (a row of inputs against a row of parameters, the usual case) go through
    `einsum`, a batched dot product: multiplying first would build the whole
    (batch, run, rows, cols) product, which for a million rows and a few restarts is gigabytes
    and about ten times slower, forward and backward.
    """
    if len(nums) == 2 and nums[0].dtype == nums[1].dtype:
        left, right = (num.flatten(-2) for num in nums)  # (b, n, rows * cols)
        return torch.einsum("bnk,bnk->bn", left, right)[..., None, None]
    product = nums[0]
    for num in nums[1:]:
        product = product * num
    return product.sum(dim=_DIMS, keepdim=True)


def _pairs(x: Block, y: Block) -> tuple[Coerced, Coerced] | Block:
    """Both arrays read for SUMXMY2/SUMX2MY2, or the #N/A block when their sizes differ.

    Excel needs the same number of values (else #N/A; LibreOffice says #VALUE!) and pairs them
    in row-major order; a pair where either side is not a number is left out.
    """
    if x.shape[0] * x.shape[1] != y.shape[0] * y.shape[1]:
        return Block.error(ErrorCode.NA, dtype=x.num.dtype, device=x.num.device)
    if x.shape != y.shape:
        y = _reshape(y, x.shape)
    px, py = read_arguments((x,)), read_arguments((y,))
    include = None
    for part in (px[0], py[0]):
        if part.include is not None:
            include = part.include if include is None else include & part.include
    return (Coerced(px[0].num, px[0].err, include), Coerced(py[0].num, py[0].err, include))


def _reshape(block: Block, shape: tuple[int, int]) -> Block:
    lead = block.num.shape[:2]

    def fit(t):
        return (
            None
            if t is None
            else t.expand(*t.shape[:2], *block.shape).reshape(*t.shape[:2], *shape)
        )

    text = None if block.text is None else text_array(block).reshape(lead[1], *shape)
    return Block(fit(block.num), fit(block.err), fit(block.kind), text, block.from_reference)


@register("SUMXMY2", min_args=2, max_args=2, category=MATH)
def sumxmy2(x: Block, y: Block) -> Block:
    """SUMXMY2(array_x, array_y): the sum of (x - y)² over the pairs."""
    pairs = _pairs(x, y)
    if isinstance(pairs, Block):
        return pairs
    px, py = pairs
    diff = px.filled(0.0) - py.filled(0.0)
    return Block((diff * diff).sum(dim=_DIMS, keepdim=True), err=_errors(pairs))


@register("SUMX2MY2", min_args=2, max_args=2, category=MATH)
def sumx2my2(x: Block, y: Block) -> Block:
    """SUMX2MY2(array_x, array_y): the sum of x² - y² over the pairs."""
    pairs = _pairs(x, y)
    if isinstance(pairs, Block):
        return pairs
    px, py = pairs
    vx, vy = px.filled(0.0), py.filled(0.0)
    return Block((vx * vx - vy * vy).sum(dim=_DIMS, keepdim=True), err=_errors(pairs))
