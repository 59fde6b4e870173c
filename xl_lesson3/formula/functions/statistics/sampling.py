"""Sampling distributions: Student's t (T.DIST, T.DIST.RT, T.DIST.2T, T.INV, T.INV.2T), F
(F.DIST, F.DIST.RT, F.INV, F.INV.RT) and chi-squared (CHISQ.DIST, CHISQ.DIST.RT, CHISQ.INV,
CHISQ.INV.RT), with their Excel 2007 names (TDIST, TINV, FDIST, FINV, CHIDIST, CHIINV).

Degrees of freedom are truncated to integers and must be at least 1 (#NUM!). One quirk from
Excel's saved values: T.DIST's density with 0 degrees of freedom is #DIV/0!, its CDF #NUM!.
Right tails come from scipy's survival functions, not 1 - CDF, so small tail probabilities
keep their digits (CHISQ.DIST.RT(60, 3) = 5.88e-13 as in Excel).
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.lazy_scipy import stats
from xl_lesson3.formula.functions.core.shapes import merge_errors
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.functions.statistics.distribution_args import (
    MAX_DF,
    finish,
    flag,
    register_distribution,
    safe,
    scipy_values,
    whole,
)
from xl_lesson3.formula.values import Block, ErrorCode

NUM = ErrorCode.NUM


def _df_bad(*dfs: torch.Tensor) -> torch.Tensor:
    bad = torch.zeros_like(dfs[0], dtype=torch.bool)
    for df in dfs:
        bad = bad | (df < 1) | (df > MAX_DF)
    return bad


@register_distribution("T.DIST", 3, 3)
def t_dist(x, deg_freedom, cumulative) -> Block:
    """T.DIST(x, deg_freedom, cumulative): Student's left-tailed t distribution."""
    (xv, df), err = numbers(x, deg_freedom)
    cum, c_err = flag(cumulative, xv)
    df = whole(df)
    zero = ~cum & (df == 0)
    bad = _df_bad(df)
    df = safe(df, bad, 1.0)
    values = torch.where(cum, scipy_values(stats.t.cdf, xv, df), scipy_values(stats.t.pdf, xv, df))
    return finish(values, merge_errors(err, c_err), (zero, ErrorCode.DIV0), (bad, NUM))


@register_distribution("T.DIST.RT", 2, 2)
def t_dist_rt(x, deg_freedom) -> Block:
    """T.DIST.RT(x, deg_freedom): Student's right-tailed t distribution."""
    (xv, df), err = numbers(x, deg_freedom)
    df = whole(df)
    bad = _df_bad(df)
    return finish(scipy_values(stats.t.sf, xv, safe(df, bad, 1.0)), err, (bad, NUM))


@register_distribution("T.DIST.2T", 2, 2)
def t_dist_2t(x, deg_freedom) -> Block:
    """T.DIST.2T(x, deg_freedom): Student's two-tailed t distribution; x >= 0."""
    (xv, df), err = numbers(x, deg_freedom)
    df = whole(df)
    bad = _df_bad(df) | (xv < 0)
    values = 2 * scipy_values(stats.t.sf, xv, safe(df, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("TDIST", 3, 3)
def tdist(x, deg_freedom, tails) -> Block:
    """TDIST(x, deg_freedom, tails): tails (1 or 2) times the right tail; x >= 0 (Excel 2007)."""
    (xv, df, k), err = numbers(x, deg_freedom, tails)
    df, k = whole(df), whole(k)
    bad = _df_bad(df) | (xv < 0) | ((k != 1) & (k != 2))
    values = k * scipy_values(stats.t.sf, xv, safe(df, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("T.INV", 2, 2)
def t_inv(probability, deg_freedom) -> Block:
    """T.INV(probability, deg_freedom): the left-tailed t quantile; 0 < p < 1."""
    (p, df), err = numbers(probability, deg_freedom)
    df = whole(df)
    bad = _df_bad(df) | (p <= 0) | (p >= 1)
    values = scipy_values(stats.t.ppf, safe(p, bad, 0.5), safe(df, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("T.INV.2T", 2, 2, aliases=("TINV",))
def t_inv_2t(probability, deg_freedom) -> Block:
    """T.INV.2T(probability, deg_freedom): the two-tailed t quantile; 0 < p <= 1."""
    (p, df), err = numbers(probability, deg_freedom)
    df = whole(df)
    bad = _df_bad(df) | (p <= 0) | (p > 1)
    values = scipy_values(stats.t.isf, safe(p, bad, 0.5) / 2, safe(df, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("F.DIST", 4, 4)
def f_dist(x, deg_freedom1, deg_freedom2, cumulative) -> Block:
    """F.DIST(x, deg_freedom1, deg_freedom2, cumulative): the F distribution; x >= 0."""
    (xv, d1, d2), err = numbers(x, deg_freedom1, deg_freedom2)
    cum, c_err = flag(cumulative, xv)
    d1, d2 = whole(d1), whole(d2)
    bad = _df_bad(d1, d2) | (xv < 0)
    xv, d1, d2 = safe(xv, bad, 1.0), safe(d1, bad, 1.0), safe(d2, bad, 1.0)
    cdf = scipy_values(stats.f.cdf, xv, d1, d2)
    values = torch.where(cum, cdf, scipy_values(stats.f.pdf, xv, d1, d2))
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("F.DIST.RT", 3, 3, aliases=("FDIST",))
def f_dist_rt(x, deg_freedom1, deg_freedom2) -> Block:
    """F.DIST.RT(x, deg_freedom1, deg_freedom2): the F right tail; x >= 0."""
    (xv, d1, d2), err = numbers(x, deg_freedom1, deg_freedom2)
    d1, d2 = whole(d1), whole(d2)
    bad = _df_bad(d1, d2) | (xv < 0)
    values = scipy_values(stats.f.sf, safe(xv, bad, 1.0), safe(d1, bad, 1.0), safe(d2, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("F.INV", 3, 3)
def f_inv(probability, deg_freedom1, deg_freedom2) -> Block:
    """F.INV(probability, deg_freedom1, deg_freedom2): the F quantile; 0 <= p < 1."""
    (p, d1, d2), err = numbers(probability, deg_freedom1, deg_freedom2)
    d1, d2 = whole(d1), whole(d2)
    bad = _df_bad(d1, d2) | (p < 0) | (p >= 1)
    values = scipy_values(stats.f.ppf, safe(p, bad, 0.5), safe(d1, bad, 1.0), safe(d2, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("F.INV.RT", 3, 3, aliases=("FINV",))
def f_inv_rt(probability, deg_freedom1, deg_freedom2) -> Block:
    """F.INV.RT(probability, deg_freedom1, deg_freedom2): the right-tailed F quantile;
    0 < p <= 1.
    """
    (p, d1, d2), err = numbers(probability, deg_freedom1, deg_freedom2)
    d1, d2 = whole(d1), whole(d2)
    bad = _df_bad(d1, d2) | (p <= 0) | (p > 1)
    values = scipy_values(stats.f.isf, safe(p, bad, 0.5), safe(d1, bad, 1.0), safe(d2, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("CHISQ.DIST", 3, 3)
def chisq_dist(x, deg_freedom, cumulative) -> Block:
    """CHISQ.DIST(x, deg_freedom, cumulative): the chi-squared distribution; x >= 0."""
    (xv, df), err = numbers(x, deg_freedom)
    cum, c_err = flag(cumulative, xv)
    df = whole(df)
    bad = _df_bad(df) | (xv < 0)
    xv, df = safe(xv, bad, 1.0), safe(df, bad, 1.0)
    cdf = scipy_values(stats.chi2.cdf, xv, df)
    values = torch.where(cum, cdf, scipy_values(stats.chi2.pdf, xv, df))
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("CHISQ.DIST.RT", 2, 2, aliases=("CHIDIST",))
def chisq_dist_rt(x, deg_freedom) -> Block:
    """CHISQ.DIST.RT(x, deg_freedom): the chi-squared right tail; x >= 0."""
    (xv, df), err = numbers(x, deg_freedom)
    df = whole(df)
    bad = _df_bad(df) | (xv < 0)
    values = scipy_values(stats.chi2.sf, safe(xv, bad, 1.0), safe(df, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("CHISQ.INV", 2, 2)
def chisq_inv(probability, deg_freedom) -> Block:
    """CHISQ.INV(probability, deg_freedom): the chi-squared quantile; 0 <= p < 1."""
    (p, df), err = numbers(probability, deg_freedom)
    df = whole(df)
    bad = _df_bad(df) | (p < 0) | (p >= 1)
    values = scipy_values(stats.chi2.ppf, safe(p, bad, 0.5), safe(df, bad, 1.0))
    return finish(values, err, (bad, NUM))


@register_distribution("CHISQ.INV.RT", 2, 2, aliases=("CHIINV",))
def chisq_inv_rt(probability, deg_freedom) -> Block:
    """CHISQ.INV.RT(probability, deg_freedom): the right-tailed chi-squared quantile;
    0 < p <= 1.
    """
    (p, df), err = numbers(probability, deg_freedom)
    df = whole(df)
    bad = _df_bad(df) | (p <= 0) | (p > 1)
    values = scipy_values(stats.chi2.isf, safe(p, bad, 0.5), safe(df, bad, 1.0))
    return finish(values, err, (bad, NUM))
