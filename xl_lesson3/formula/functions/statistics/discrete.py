"""Discrete distributions: BINOM.DIST, BINOM.DIST.RANGE, BINOM.INV, NEGBINOM.DIST, HYPGEOM.DIST,
POISSON.DIST, PROB and PERMUTATIONA, with their Excel 2007 names (BINOMDIST, CRITBINOM,
NEGBINOMDIST, HYPGEOMDIST, POISSON).

Counts are truncated to integers. HYPGEOM.DIST follows Excel's saved values rather than its
documentation: with cumulative TRUE a number of successes above min(sample, population
successes) gives 1 (the whole CDF), not #NUM!; an all-zero call gives 1.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import RANGE_NUMBERS, coerce
from xl_lesson3.formula.functions.core.lazy_scipy import stats
from xl_lesson3.formula.functions.core.shapes import first_error, merge_errors
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.functions.statistics.distribution_args import (
    finish,
    flag,
    register_distribution,
    safe,
    scipy_values,
    whole,
)
from xl_lesson3.formula.values import Block, ErrorCode

NUM = ErrorCode.NUM


def _binomial(number_s, trials, probability_s, cumulative) -> Block:
    (k, n, p), err = numbers(number_s, trials, probability_s)
    cum, c_err = flag(cumulative, k)
    k, n = whole(k), whole(n)
    bad = (n < 0) | (k < 0) | (k > n) | (p < 0) | (p > 1)
    k, n, p = safe(k, bad, 0.0), safe(n, bad, 1.0), safe(p, bad, 0.5)
    cdf = scipy_values(stats.binom.cdf, k, n, p)
    values = torch.where(cum, cdf, scipy_values(stats.binom.pmf, k, n, p))
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("BINOM.DIST", 4, 4, aliases=("BINOMDIST",))
def binom_dist(number_s, trials, probability_s, cumulative) -> Block:
    """BINOM.DIST(number_s, trials, probability_s, cumulative): the binomial distribution."""
    return _binomial(number_s, trials, probability_s, cumulative)


@register_distribution("BINOM.DIST.RANGE", 3, 4)
def binom_dist_range(trials, probability_s, number_s, number_s2=None) -> Block:
    """BINOM.DIST.RANGE(trials, probability_s, number_s, [number_s2]): P(s <= X <= s2)."""
    if number_s2 is None:
        number_s2 = number_s
    (n, p, s, s2), err = numbers(trials, probability_s, number_s, number_s2)
    n, s, s2 = whole(n), whole(s), whole(s2)
    bad = (n < 0) | (p < 0) | (p > 1) | (s < 0) | (s > n) | (s2 < s) | (s2 > n)
    n, p, s, s2 = safe(n, bad, 1.0), safe(p, bad, 0.5), safe(s, bad, 0.0), safe(s2, bad, 0.0)
    upper = scipy_values(stats.binom.cdf, s2, n, p)
    below = scipy_values(stats.binom.cdf, s - 1, n, p)
    single = scipy_values(stats.binom.pmf, s, n, p)
    # one term: the probability itself, not a difference of two CDFs near 1
    return finish(torch.where(s2 == s, single, upper - below), err, (bad, NUM))


@register_distribution("BINOM.INV", 3, 3, aliases=("CRITBINOM",))
def binom_inv(trials, probability_s, alpha) -> Block:
    """BINOM.INV(trials, probability_s, alpha): the least k with P(X <= k) >= alpha."""
    (n, p, a), err = numbers(trials, probability_s, alpha)
    n = whole(n)
    bad = (n < 0) | (p < 0) | (p > 1) | (a < 0) | (a > 1)
    n, p, a = safe(n, bad, 1.0), safe(p, bad, 0.5), safe(a, bad, 0.5)
    # scipy's ppf(0) is -1 (below the support); Excel's least k is 0
    values = scipy_values(stats.binom.ppf, a, n, p).clamp(min=0)
    return finish(values, err, (bad, NUM))


def _negative_binomial(number_f, number_s, probability_s, cumulative) -> Block:
    (f, s, p), err = numbers(number_f, number_s, probability_s)
    cum, c_err = flag(cumulative, f)
    f, s = whole(f), whole(s)
    bad = (f < 0) | (s < 1) | (p <= 0) | (p > 1)
    f, s, p = safe(f, bad, 0.0), safe(s, bad, 1.0), safe(p, bad, 0.5)
    cdf = scipy_values(stats.nbinom.cdf, f, s, p)
    values = torch.where(cum, cdf, scipy_values(stats.nbinom.pmf, f, s, p))
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("NEGBINOM.DIST", 4, 4)
def negbinom_dist(number_f, number_s, probability_s, cumulative) -> Block:
    """NEGBINOM.DIST(number_f, number_s, probability_s, cumulative): failures before the
    number_s-th success.
    """
    return _negative_binomial(number_f, number_s, probability_s, cumulative)


@register_distribution("NEGBINOMDIST", 3, 3)
def negbinomdist(number_f, number_s, probability_s) -> Block:
    """NEGBINOMDIST(number_f, number_s, probability_s): the probability mass (Excel 2007)."""
    return _negative_binomial(number_f, number_s, probability_s, Block.scalar(0.0))


def _hypergeometric(sample_s, number_sample, population_s, number_pop, cumulative) -> Block:
    (x, n, k, pop), err = numbers(sample_s, number_sample, population_s, number_pop)
    cum, c_err = flag(cumulative, x)
    x, n, k, pop = whole(x), whole(n), whole(k), whole(pop)
    bad = (x < 0) | (n < 0) | (k < 0) | (n > pop) | (k > pop)
    outside = (x > torch.minimum(n, k)) | (x < n - pop + k)
    bad = bad | (~cum & outside)
    x, n, k = safe(x, bad, 0.0), safe(n, bad, 0.0), safe(k, bad, 0.0)
    pop = safe(pop, bad, 1.0)
    # scipy's hypergeom is nan for an empty population; every draw then has 0 successes
    pop = torch.where(pop == 0, 1.0, pop)
    cdf = scipy_values(stats.hypergeom.cdf, x, pop, k, n)
    values = torch.where(cum, cdf, scipy_values(stats.hypergeom.pmf, x, pop, k, n))
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("HYPGEOM.DIST", 5, 5)
def hypgeom_dist(sample_s, number_sample, population_s, number_pop, cumulative) -> Block:
    """HYPGEOM.DIST(sample_s, number_sample, population_s, number_pop, cumulative)."""
    return _hypergeometric(sample_s, number_sample, population_s, number_pop, cumulative)


@register_distribution("HYPGEOMDIST", 4, 4)
def hypgeomdist(sample_s, number_sample, population_s, number_pop) -> Block:
    """HYPGEOMDIST(sample_s, number_sample, population_s, number_pop): the mass (Excel 2007)."""
    return _hypergeometric(sample_s, number_sample, population_s, number_pop, Block.scalar(0.0))


@register_distribution("POISSON.DIST", 3, 3, aliases=("POISSON",))
def poisson_dist(x, mean, cumulative) -> Block:
    """POISSON.DIST(x, mean, cumulative): the Poisson distribution; x >= 0, mean >= 0."""
    (k, m), err = numbers(x, mean)
    cum, c_err = flag(cumulative, k)
    k = whole(k)
    bad = (k < 0) | (m < 0)
    k, m = safe(k, bad, 0.0), safe(m, bad, 1.0)
    cdf = scipy_values(stats.poisson.cdf, k, m)
    values = torch.where(cum, cdf, scipy_values(stats.poisson.pmf, k, m))
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("PERMUTATIONA", 2, 2)
def permutationa(number, number_chosen) -> Block:
    """PERMUTATIONA(number, number_chosen): n**k arrangements with repetition; n, k >= 0."""
    (n, k), err = numbers(number, number_chosen)
    n, k = whole(n), whole(k)
    bad = (n < 0) | (k < 0)
    values = torch.pow(safe(n, bad, 1.0), safe(k, bad, 0.0))
    return finish(values, err, (bad, NUM))


def _flat_numbers(block: Block) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """A PROB range as ``(b, r, 1, 1, K)`` values, include mask and its first error."""
    part = coerce(block, RANGE_NUMBERS)
    include = part.include if part.include is not None else torch.ones_like(part.num).bool()
    values = part.filled(0.0).flatten(-2)[..., None, None, :]
    mask = include.expand_as(part.num).flatten(-2)[..., None, None, :]
    return values, mask, first_error(part.err)


@register_distribution("PROB", 3, 4)
def prob(x_range, prob_range, lower_limit, upper_limit=None) -> Block:
    """PROB(x_range, prob_range, lower_limit, [upper_limit]): the probability of the x values in
    [lower, upper] (of x = lower without upper); the probabilities must lie in [0, 1] and sum to
    1 (#NUM!), the two ranges have one size (#N/A). Elementwise in the limits.
    """
    xs, x_in, x_err = _flat_numbers(x_range)
    ps, p_in, p_err = _flat_numbers(prob_range)
    if xs.shape[-1] != ps.shape[-1]:
        return Block.error(ErrorCode.NA, dtype=xs.dtype, device=xs.device)
    both = x_in & p_in
    ps = torch.where(both, ps, 0.0)
    total = ps.sum(dim=-1)  # (b, r, 1, 1)
    invalid = ((ps < 0) | (ps > 1)).any(dim=-1) | ((total - 1).abs() > 1e-7)
    (lo, hi), err = numbers(lower_limit, lower_limit if upper_limit is None else upper_limit)
    inside = both & (xs >= lo[..., None]) & (xs <= hi[..., None])
    values = torch.where(inside, ps, 0.0).sum(dim=-1)
    range_err = merge_errors(x_err, p_err)
    return finish(values, merge_errors(range_err, err), (invalid, NUM))
