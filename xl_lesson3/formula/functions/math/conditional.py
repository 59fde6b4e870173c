"""Conditional aggregates: COUNTIF(S), SUMIF(S), AVERAGEIF(S), MAXIFS, MINIFS, COUNTA, COUNTBLANK.

The condition is a mask from `criteria.criteria_mask` (no gradient: a condition is a step);
the values summed, averaged or compared keep their gradient, so ``SUMIF(A:A,">0",B:B)`` trains
B. Only numbers in the value range count (text, booleans and blanks are skipped, as SUM skips
them in a range); an error in a matched value cell is the result, as Excel's.

Shapes: the criteria ranges of one *IFS call must all have the value range's shape (else
#VALUE!). SUMIF/AVERAGEIF's optional value range is read at the criteria range's size from its
top-left cell, as Excel does; one that is smaller than the criteria range is refused with
#VALUE! (Excel would read the cells beyond it, which the function does not receive). A criteria
argument that is an array (``COUNTIF(A:A,{"a","b"})``) gives an array of results.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from xl_lesson3.formula.functions.core.coercion import RANGE_NUMBERS, coerce
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import (
    error_where,
    first_error,
    merge_errors,
    text_array,
)
from xl_lesson3.formula.functions.math.criteria import criteria_mask
from xl_lesson3.formula.values import Block, ErrorCode, Kind

MATH = "Math & Trig"
STATISTICAL = "Statistical"
_DIMS = (-2, -1)
Reducer = Callable[[Block | None, torch.Tensor], Block]


def _crop(block: Block, shape: tuple[int, int]) -> Block | None:
    """`block` cut to `shape` from its top-left cell, or None when it is smaller."""
    rows, cols = shape
    if block.shape[0] < rows or block.shape[1] < cols:
        return None
    if block.shape == shape:
        return block

    def cut(t):
        return None if t is None else t[..., :rows, :cols]

    text = None if block.text is None else text_array(block)[:, :rows, :cols]
    return block.with_(num=cut(block.num), err=cut(block.err), kind=cut(block.kind), text=text)


def _criteria_cells(criteria: Block) -> list[tuple[int, int]]:
    return [(i, j) for i in range(criteria.shape[0]) for j in range(criteria.shape[1])]


def _cell(block: Block, i: int, j: int) -> Block:
    def cut(t):
        return None if t is None else t[..., i : i + 1, j : j + 1]

    text = None if block.text is None else text_array(block)[:, i : i + 1, j : j + 1]
    return block.with_(num=cut(block.num), err=cut(block.err), kind=cut(block.kind), text=text)


def _conditional(values: Block | None, pairs: list[tuple[Block, Block]], reduce: Reducer):
    """`reduce(values, mask)` over the cells every (range, criteria) pair matches.

    Array criteria (at most one argument may be an array) give one result per criteria cell.
    """
    shape = pairs[0][0].shape if values is None else values.shape
    if any(rng.shape != shape for rng, _ in pairs):
        like = pairs[0][0].num
        return Block.error(ErrorCode.VALUE, dtype=like.dtype, device=like.device)
    arrays = [k for k, (_, crit) in enumerate(pairs) if not crit.is_scalar]
    if not arrays:
        return reduce(values, _mask(pairs))
    k = arrays[0]
    rows = []
    for i in range(pairs[k][1].shape[0]):
        row = []
        for j in range(pairs[k][1].shape[1]):
            one = list(pairs)
            one[k] = (pairs[k][0], _cell(pairs[k][1], i, j))
            row.append(reduce(values, _mask(one)))
        rows.append(_cat(row, dim=-1))
    return _cat(rows, dim=-2)


def _cat(blocks: list[Block], dim: int) -> Block:
    nums = torch.broadcast_tensors(*(b.num for b in blocks))
    num = torch.cat(nums, dim=dim)
    if all(b.err is None for b in blocks):
        return Block(num)
    errs = [
        torch.zeros_like(n, dtype=torch.int8) if b.err is None else b.err.expand_as(n)
        for b, n in zip(blocks, nums)
    ]
    return Block(num, err=torch.cat(errs, dim=dim))


def _mask(pairs: list[tuple[Block, Block]]) -> torch.Tensor:
    mask = None
    for rng, crit in pairs:
        one = criteria_mask(rng, crit)
        mask = one if mask is None else mask & one
    return mask


def _count(_values: Block | None, mask: torch.Tensor) -> Block:
    return Block(mask.to(torch.float64).sum(dim=_DIMS, keepdim=True))


def _numbers(values: Block, mask: torch.Tensor):
    """Matched number cells of `values`: (include mask, numbers, first error among matched)."""
    coerced = coerce(values, RANGE_NUMBERS)
    include = mask if coerced.include is None else mask & coerced.include
    err = None
    if coerced.err is not None:
        err = first_error(torch.where(mask, coerced.err, torch.zeros_like(coerced.err)))
    return include, coerced.num, err


def _sum(values: Block, mask: torch.Tensor) -> Block:
    include, num, err = _numbers(values, mask)
    return Block(torch.where(include, num, 0.0).sum(dim=_DIMS, keepdim=True), err=err)


def _average(values: Block, mask: torch.Tensor) -> Block:
    include, num, err = _numbers(values, mask)
    count = include.to(num.dtype).sum(dim=_DIMS, keepdim=True)
    total = torch.where(include, num, 0.0).sum(dim=_DIMS, keepdim=True)
    empty = count == 0
    values_ = torch.where(empty, 0.0, total / torch.where(empty, 1.0, count))
    return Block(values_, err=merge_errors(err, error_where(empty, ErrorCode.DIV0)))


def _extreme(largest: bool) -> Reducer:
    def reduce(values: Block, mask: torch.Tensor) -> Block:
        include, num, err = _numbers(values, mask)
        fill = float("-inf") if largest else float("inf")
        filled = torch.where(include, num, fill).flatten(-2)
        best = (filled.amax(dim=-1) if largest else filled.amin(dim=-1))[..., None, None]
        none = ~include.flatten(-2).any(dim=-1)[..., None, None]
        return Block(torch.where(none, 0.0, best), err=err)

    return reduce


def _value_range(rng: Block, values: Block | None) -> Block | None:
    return rng if values is None else _crop(values, rng.shape)


def _pairs(args: tuple[Block, ...]) -> list[tuple[Block, Block]] | None:
    if len(args) % 2:
        return None
    return [(args[i], args[i + 1]) for i in range(0, len(args), 2)]


def _value_error(like: Block) -> Block:
    return Block.error(ErrorCode.VALUE, dtype=like.num.dtype, device=like.num.device)


@register("COUNTIF", min_args=2, max_args=2, category=STATISTICAL, differentiable=False)
def countif(range_: Block, criteria: Block) -> Block:
    """COUNTIF(range, criteria): how many cells match (see `criteria`)."""
    return _conditional(None, [(range_, criteria)], _count)


@register("COUNTIFS", min_args=2, max_args=254, category=STATISTICAL, differentiable=False)
def countifs(*args: Block) -> Block:
    """COUNTIFS(range1, criteria1, ...): how many positions match every pair."""
    pairs = _pairs(args)
    return _value_error(args[0]) if pairs is None else _conditional(None, pairs, _count)


def _if_one(rng: Block, criteria: Block, values: Block | None, reduce: Reducer) -> Block:
    fitted = _value_range(rng, values)
    if fitted is None:
        return _value_error(rng)
    return _conditional(fitted, [(rng, criteria)], reduce)


@register("SUMIF", min_args=2, max_args=3, category=MATH)
def sumif(range_: Block, criteria: Block, sum_range: Block | None = None) -> Block:
    """SUMIF(range, criteria, [sum_range]): the sum of the numbers at matching positions."""
    return _if_one(range_, criteria, sum_range, _sum)


@register("AVERAGEIF", min_args=2, max_args=3, category=STATISTICAL)
def averageif(range_: Block, criteria: Block, average_range: Block | None = None) -> Block:
    """AVERAGEIF(range, criteria, [average_range]): their mean; #DIV/0! when none match."""
    return _if_one(range_, criteria, average_range, _average)


def _ifs(values: Block, args: tuple[Block, ...], reduce: Reducer) -> Block:
    pairs = _pairs(args)
    return _value_error(values) if pairs is None else _conditional(values, pairs, reduce)


@register("SUMIFS", min_args=3, max_args=255, category=MATH)
def sumifs(sum_range: Block, *args: Block) -> Block:
    """SUMIFS(sum_range, criteria_range1, criteria1, ...): the sum where every pair matches."""
    return _ifs(sum_range, args, _sum)


@register("AVERAGEIFS", min_args=3, max_args=255, category=STATISTICAL)
def averageifs(average_range: Block, *args: Block) -> Block:
    """AVERAGEIFS(average_range, criteria_range1, criteria1, ...): the mean where all match."""
    return _ifs(average_range, args, _average)


@register("MAXIFS", min_args=3, max_args=255, category=STATISTICAL)
def maxifs(max_range: Block, *args: Block) -> Block:
    """MAXIFS(max_range, criteria_range1, criteria1, ...): the largest match, 0 if none."""
    return _ifs(max_range, args, _extreme(largest=True))


@register("MINIFS", min_args=3, max_args=255, category=STATISTICAL)
def minifs(min_range: Block, *args: Block) -> Block:
    """MINIFS(min_range, criteria_range1, criteria1, ...): the smallest match, 0 if none."""
    return _ifs(min_range, args, _extreme(largest=False))


def _kinds(block: Block) -> torch.Tensor:
    if block.kind is None:
        return torch.zeros_like(block.num, dtype=torch.int8)
    return block.kind.expand_as(block.num)


@register("COUNTA", min_args=1, max_args=255, category=STATISTICAL, differentiable=False)
def counta(*args: Block) -> Block:
    """COUNTA(value1, ...): how many values are not blank (text, booleans, errors count)."""
    total = None
    for arg in args:
        filled = _kinds(arg) != int(Kind.BLANK)
        if arg.err is not None:
            filled = filled | (arg.err != 0)
        if not (arg.from_reference or not arg.is_scalar):
            filled = torch.ones_like(filled)  # a direct argument always counts
        count = filled.to(torch.float64).sum(dim=_DIMS, keepdim=True)
        total = count if total is None else total + count
    return Block(total)


@register("COUNTBLANK", min_args=1, max_args=1, category=STATISTICAL, differentiable=False)
def countblank(range_: Block) -> Block:
    """COUNTBLANK(range): how many cells are blank or hold empty text (``=""``)."""
    texts = text_array(range_)
    empty = torch.as_tensor((texts == "")[None], device=range_.num.device)
    blank = (_kinds(range_) == int(Kind.BLANK)) | ((_kinds(range_) == int(Kind.TEXT)) & empty)
    if range_.err is not None:
        blank = blank & (range_.err == 0)
    return Block(blank.to(torch.float64).sum(dim=_DIMS, keepdim=True))
