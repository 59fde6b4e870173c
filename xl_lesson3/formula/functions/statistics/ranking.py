"""Statistics on the sorted sample: TRIMMEAN and PERCENTRANK (.INC/.EXC).

The array is read as SUM reads a range (only its numbers count, its first error wins) and
sorted once per cell of a run, excluded cells last as +inf (`descriptive._sorted`). The second
argument is taken cell by cell, so ``{=TRIMMEAN(A1:A9, B1:B5)}`` is five trimmed means.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import merge_errors
from xl_lesson3.formula.functions.math.rounding import _with_errors, numbers
from xl_lesson3.formula.functions.statistics.descriptive import _sorted, _take
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Statistical"


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
