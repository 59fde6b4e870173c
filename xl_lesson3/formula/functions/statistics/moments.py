"""Statistics: the third and fourth moments, SKEW, SKEW.P and KURT.

Arguments are read as the other descriptive statistics read them (`descriptive.sample`): a
range counts only its numbers, a direct argument is coerced. Standardised deviations are
summed over the ``K`` axis of the ``(batch, run, K)`` sample, so a run of these down a column
is a few tensor ops and gradients reach every value.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.math.rounding import _with_errors
from xl_lesson3.formula.functions.statistics.descriptive import _squares, sample
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Statistical"


def _standardised_powers(args, ddof: int, power: int):
    """Σ((x - mean) / sd)^power over the sample, with sd from `ddof`; count and a degenerate
    mask (sd = 0 or too few numbers for the divisor), all ``(b, r, 1, 1)``, and the error.
    """
    values, include, count, err = sample(args)
    few = count <= ddof
    var = _squares(values, include, count) / torch.where(few, 1.0, count - ddof)
    flat = var <= 0
    sd = torch.sqrt(torch.where(flat | few, 1.0, var))[..., 0]  # (b, r, 1)
    mean = values.sum(dim=-1, keepdim=True) / torch.where(count == 0, 1.0, count)[..., 0]
    z = torch.where(include, (values - mean) / sd, 0.0)
    return (z**power).sum(dim=-1)[..., None, None], count, few | flat, err


@register("SKEW", min_args=1, max_args=255, category=CATEGORY)
def skew(*args: Block) -> Block:
    """SKEW(number1, ...): the sample skewness n/((n-1)(n-2)) Σz³; #DIV/0! below 3 numbers or
    when they are all equal.
    """
    total, n, bad, err = _standardised_powers(args, 1, 3)
    bad = bad | (n < 3)
    factor = n / torch.where(bad, 1.0, (n - 1) * (n - 2))
    return _with_errors(factor * total, err, (bad, ErrorCode.DIV0))


@register("SKEW.P", min_args=1, max_args=255, category=CATEGORY)
def skew_p(*args: Block) -> Block:
    """SKEW.P(number1, ...): the population skewness Σz³/n (z from the population sd)."""
    total, n, bad, err = _standardised_powers(args, 0, 3)
    return _with_errors(total / torch.where(bad, 1.0, n), err, (bad, ErrorCode.DIV0))


@register("KURT", min_args=1, max_args=255, category=CATEGORY)
def kurt(*args: Block) -> Block:
    """KURT(number1, ...): the sample excess kurtosis; #DIV/0! below 4 numbers or when they
    are all equal.

    n(n+1)/((n-1)(n-2)(n-3)) Σz⁴ - 3(n-1)²/((n-2)(n-3)), z from the sample sd.
    """
    total, n, bad, err = _standardised_powers(args, 1, 4)
    bad = bad | (n < 4)
    n = torch.where(bad, 5.0, n)
    scale = n * (n + 1) / ((n - 1) * (n - 2) * (n - 3))
    shift = 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))
    return _with_errors(scale * total - shift, err, (bad, ErrorCode.DIV0))
