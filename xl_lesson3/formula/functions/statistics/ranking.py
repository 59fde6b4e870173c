"""Statistics on the sorted sample: MEDIAN, LARGE, SMALL, RANK (.EQ/.AVG), PERCENTILE and
QUARTILE (.INC/.EXC), TRIMMEAN and PERCENTRANK (.INC/.EXC).

The array is read as SUM reads a range (only its numbers count, its first error wins,
`descriptive.sample`) and sorted once per cell of a run, excluded cells last as +inf
(`_sorted`). The second argument is taken cell by cell, so ``{=TRIMMEAN(A1:A9, B1:B5)}`` is five
trimmed means. Picking sorted values by gather lets gradients reach the values picked, as
torch.sort's backward does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import merge_errors
from xl_lesson3.formula.functions.math.rounding import _with_errors, numbers
from xl_lesson3.formula.functions.statistics.descriptive import sample
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Statistical"


def _sorted(args) -> tuple[torch.Tensor, torch.Tensor, object]:
    """Counted numbers in ascending order ``(b, r, K)`` (excluded ones last, as +inf)."""
    values, include, count, err = sample(args)
    ordered = torch.sort(torch.where(include, values, float("inf")), dim=-1).values
    return ordered, count, err


def _take(ordered: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``ordered[..., index]`` for index ``(b, r, R, C)`` (float, valid positions): ``(b,r,R,C)``."""
    lead = torch.broadcast_shapes(ordered.shape[:-1], index.shape[:-2])
    ordered = ordered.expand(*lead, ordered.shape[-1])
    rows, cols = index.shape[-2:]
    flat = index.long().expand(*lead, rows, cols).reshape(*lead, rows * cols)
    picked = torch.gather(ordered, -1, flat.clamp(0, ordered.shape[-1] - 1))
    return torch.where(torch.isfinite(picked), picked, 0.0).reshape(*lead, rows, cols)


@register("MEDIAN", min_args=1, max_args=255, category=CATEGORY)
def median(*args: Block) -> Block:
    """MEDIAN(number1, ...): the middle number (mean of the two middle ones); #NUM! if none."""
    ordered, count, err = _sorted(args)
    low = _take(ordered, torch.floor((count - 1).clamp(min=0) / 2))
    high = _take(ordered, torch.floor(count / 2).clamp(max=ordered.shape[-1] - 1))
    return _with_errors((low + high) / 2, err, (count == 0, ErrorCode.NUM))


def _register_array_k(
    name: str, compute: Callable[[Block, Block], Block], doc: str, aliases: tuple[str, ...] = ()
) -> None:
    """Register a function of (array, k) (LARGE, PERCENTILE.INC...) computed by `compute`;
    `doc` is its docstring (the registry's summary)."""

    def function(array: Block, k: Block) -> Block:
        return compute(array, k)

    function.__doc__ = doc
    function.__name__ = function.__qualname__ = name.lower().replace(".", "_")
    register(name, min_args=2, max_args=2, category=CATEGORY, array_result=True, aliases=aliases)(
        function
    )


def _kth(array: Block, k: Block, largest: bool) -> Block:
    ordered, count, err = _sorted((array,))
    (kk,), k_err = numbers(k)
    # Excel's saved values: k below 1 is #NUM! (not rounded up to 1), and a fractional k counts
    # from the top rounded up for LARGE (2.2 is the 3rd largest) but down for SMALL (the 2nd).
    raw = kk.detach()
    kk = torch.ceil(raw) if largest else torch.floor(raw)
    bad = (raw < 1) | (kk > count)
    index = (count - kk) if largest else (kk - 1)
    values = _take(ordered, torch.where(bad, 0.0, index))
    return _with_errors(values, merge_errors(k_err, err), (bad, ErrorCode.NUM))


_register_array_k(
    "LARGE",
    functools.partial(_kth, largest=True),
    "LARGE(array, k): the k-th largest number; #NUM! unless 1 <= k <= count.",
)
_register_array_k(
    "SMALL",
    functools.partial(_kth, largest=False),
    "SMALL(array, k): the k-th smallest number; #NUM! unless 1 <= k <= count.",
)


def _rank(number: Block, ref: Block, order: Block | None, average: bool) -> Block:
    values, include, _count, err = sample((ref,))
    # number (and order) cell by cell, as in an array formula ``{=RANK(A1:A5, A1:A9)}``
    (x, o), x_err = numbers(number, order, defaults=(0,))
    x = x.detach()[..., None]  # (b, r, R, C, 1) against the sample's K values
    ascending = o.detach()[..., None] != 0
    v = values.detach()[..., None, None, :]  # (b, r, 1, 1, K)
    counted = include[..., None, None, :]
    better = torch.where(ascending, v < x, v > x) & counted
    ties = (v == x) & counted
    n_better = better.sum(dim=-1).to(v.dtype)  # (b, r, R, C)
    n_ties = ties.sum(dim=-1).to(v.dtype)
    rank = n_better + 1 + ((n_ties - 1) / 2 if average else 0)
    return _with_errors(rank, merge_errors(x_err, err), (n_ties == 0, ErrorCode.NA))


@register(
    "RANK.EQ", min_args=2, max_args=3, category=CATEGORY, differentiable=False, aliases=("RANK",)
)
def rank_eq(number: Block, ref: Block, order: Block | None = None) -> Block:
    """RANK.EQ(number, ref, [order=0]): 1 for the largest (order 0) or smallest; ties share."""
    return _rank(number, ref, order, average=False)


@register("RANK.AVG", min_args=2, max_args=3, category=CATEGORY, differentiable=False)
def rank_avg(number: Block, ref: Block, order: Block | None = None) -> Block:
    """RANK.AVG(number, ref, [order=0]): as RANK.EQ, ties get the mean of their ranks."""
    return _rank(number, ref, order, average=True)


def _percentile(array: Block, k: Block, exclusive: bool, scale: float = 1.0) -> Block:
    ordered, count, err = _sorted((array,))
    (kk,), k_err = numbers(k)
    kk = kk.detach() * scale
    if exclusive:
        position = (count + 1) * kk - 1
        bad = (position < 0) | (position > count - 1) | (count == 0)
    else:
        position = (count - 1) * kk
        bad = (kk < 0) | (kk > 1) | (count == 0)
    position = torch.where(bad, 0.0, position)
    low = torch.floor(position)
    fraction = position - low
    lower = _take(ordered, low)
    upper = _take(ordered, torch.minimum(low + 1, (count - 1).clamp(min=0)))
    values = lower + fraction * (upper - lower)
    return _with_errors(values, merge_errors(k_err, err), (bad, ErrorCode.NUM))


_register_array_k(
    "PERCENTILE.INC",
    functools.partial(_percentile, exclusive=False),
    "PERCENTILE.INC(array, k): the k-th percentile, 0 <= k <= 1, interpolated.",
    aliases=("PERCENTILE",),
)
_register_array_k(
    "PERCENTILE.EXC",
    functools.partial(_percentile, exclusive=True),
    "PERCENTILE.EXC(array, k): the k-th percentile with 1/(n+1) <= k <= n/(n+1).",
)


def _quartile(array: Block, quart: Block, exclusive: bool) -> Block:
    (q,), err = numbers(quart)
    low, high = (1, 3) if exclusive else (0, 4)
    bad = q.detach() < low  # before truncating: Excel says QUARTILE(A1:A5, -0.1) is #NUM!
    q = torch.trunc(q.detach())
    bad = bad | (q > high)
    result = _percentile(array, Block(torch.where(bad, 0.0, q)), exclusive, scale=0.25)
    return _with_errors(result.num, merge_errors(err, result.err), (bad, ErrorCode.NUM))


_register_array_k(
    "QUARTILE.INC",
    functools.partial(_quartile, exclusive=False),
    "QUARTILE.INC(array, quart): quart 0 (min) … 4 (max).",
    aliases=("QUARTILE",),
)
_register_array_k(
    "QUARTILE.EXC",
    functools.partial(_quartile, exclusive=True),
    "QUARTILE.EXC(array, quart): quart 1 … 3, exclusive percentiles.",
)


@register("TRIMMEAN", min_args=2, max_args=2, category=CATEGORY, array_result=True)
def trimmean(array: Block, percent: Block) -> Block:
    """TRIMMEAN(array, percent): the mean without the ``floor(n·percent/2)`` smallest and
    largest numbers; #NUM! unless 0 <= percent < 1.
    """
    ordered, count, err = _sorted((array,))  # (b, r, K), (b, r, 1, 1)
    (p,), p_err = numbers(percent)
    p = p.detach()
    bad = (p < 0) | (p >= 1) | (count == 0)
    drop = torch.floor(count * torch.where(bad, 0.0, p) / 2)  # (b, r, R, C) from each end
    position = torch.arange(ordered.shape[-1], dtype=ordered.dtype, device=ordered.device)
    kept = (position >= drop[..., None]) & (position < (count - drop)[..., None])
    values = torch.where(kept, ordered[..., None, None, :], 0.0).sum(dim=-1)
    n_kept = (count - 2 * drop).clamp(min=1)
    return _with_errors(values / n_kept, merge_errors(p_err, err), (bad, ErrorCode.NUM))


def _percentrank(array: Block, x: Block, significance: Block | None, exclusive: bool) -> Block:
    """The rank of x among the numbers as a fraction, interpolated between neighbours (as
    Excel and LibreOffice do), truncated to `significance` digits.
    """
    ordered, count, err = _sorted((array,))
    (xv, digits), x_err = numbers(x, significance, defaults=(3,))
    xv, digits = xv.detach(), torch.trunc(digits.detach())
    data = ordered.detach()[..., None, None, :]  # (b, r, 1, 1, K)
    below = (data < xv[..., None]).sum(dim=-1).to(xv.dtype)  # (b, r, R, C)
    exact = (data == xv[..., None]).any(dim=-1)
    smallest = _take(ordered.detach(), torch.zeros_like(xv))
    largest = _take(ordered.detach(), (count - 1).clamp(min=0).expand_as(xv))
    outside = (count == 0) | (xv < smallest) | (xv > largest)
    low = _take(ordered.detach(), (below - 1).clamp(min=0))
    high = _take(ordered.detach(), below.clamp(max=ordered.shape[-1] - 1))
    gap = high - low
    fraction = torch.where(exact | (gap == 0), 0.0, (xv - low) / torch.where(gap == 0, 1.0, gap))
    if exclusive:
        rank = torch.where(exact, below + 1, below + fraction) / (count + 1)
    else:
        # one number: Excel ranks it 1 (LibreOffice 0)
        spread = torch.where(count <= 1, 1.0, count - 1)
        rank = torch.where(exact, below, below - 1 + fraction) / spread
        rank = torch.where(exact & (count == 1), 1.0, rank)
    scale = 10.0 ** digits.clamp(1, 15)
    # truncate, not round; the nudge keeps 0.29 (stored as 0.28999…) at 0.29, as Excel shows it
    truncated = torch.floor(rank * scale * (1 + 1e-12)) / scale
    return _with_errors(
        truncated,
        merge_errors(err, x_err),
        (digits < 1, ErrorCode.NUM),
        (outside, ErrorCode.NA),
    )


@register(
    "PERCENTRANK.INC",
    min_args=2,
    max_args=3,
    category=CATEGORY,
    differentiable=False,
    array_result=True,
    aliases=("PERCENTRANK",),
)
def percentrank_inc(array: Block, x: Block, significance: Block | None = None) -> Block:
    """PERCENTRANK.INC(array, x, [significance=3]): rank of x as a fraction 0..1 (smaller
    numbers / (n-1)); #N/A when x lies outside the numbers, #NUM! when significance < 1.
    """
    return _percentrank(array, x, significance, exclusive=False)


@register(
    "PERCENTRANK.EXC",
    min_args=2,
    max_args=3,
    category=CATEGORY,
    differentiable=False,
    array_result=True,
)
def percentrank_exc(array: Block, x: Block, significance: Block | None = None) -> Block:
    """PERCENTRANK.EXC(array, x, [significance=3]): rank of x as a fraction strictly between 0
    and 1 ((smaller numbers + 1) / (n+1)).
    """
    return _percentrank(array, x, significance, exclusive=True)
