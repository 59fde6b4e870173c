"""Continuous distributions: BETA, GAMMA, LOGNORM, EXPON and WEIBULL (.DIST and .INV), and the
confidence intervals CONFIDENCE.NORM and CONFIDENCE.T, with their Excel 2007 names (BETADIST,
BETAINV, GAMMADIST, GAMMAINV, LOGNORMDIST, LOGINV, EXPONDIST, WEIBULL, CONFIDENCE).

Elementwise in every argument; out-of-domain parameters are #NUM! as Excel documents them
(checked against Excel's saved values in the formulas test workbook). See `distribution_args`.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.lazy_scipy import special, stats
from xl_lesson3.formula.functions.core.shapes import merge_errors
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


def _beta(x, alpha, beta, cumulative, lower, upper) -> Block:
    (xv, a, b, lo, hi), err = numbers(x, alpha, beta, lower, upper, defaults=(0, 1))
    cum, c_err = flag(cumulative, xv)
    bad = (a <= 0) | (b <= 0) | (xv < lo) | (xv > hi) | (lo >= hi)
    width = safe(hi - lo, bad, 1.0)
    z = safe((xv - lo) / width, bad, 0.5)
    a, b = safe(a, bad, 1.0), safe(b, bad, 1.0)
    cdf = scipy_values(special.betainc, a, b, z)
    pdf = scipy_values(stats.beta.pdf, z, a, b) / width
    return finish(torch.where(cum, cdf, pdf), merge_errors(err, c_err), (bad, NUM))


@register_distribution("BETA.DIST", 4, 6)
def beta_dist(x, alpha, beta, cumulative, lower=None, upper=None) -> Block:
    """BETA.DIST(x, alpha, beta, cumulative, [A=0], [B=1]): the beta distribution on [A, B]."""
    return _beta(x, alpha, beta, cumulative, lower, upper)


@register_distribution("BETADIST", 3, 5)
def betadist(x, alpha, beta, lower=None, upper=None) -> Block:
    """BETADIST(x, alpha, beta, [A=0], [B=1]): the beta CDF on [A, B] (Excel 2007)."""
    return _beta(x, alpha, beta, None, lower, upper)


@register_distribution("BETA.INV", 3, 5, aliases=("BETAINV",))
def beta_inv(probability, alpha, beta, lower=None, upper=None) -> Block:
    """BETA.INV(probability, alpha, beta, [A=0], [B=1]): the beta quantile; 0 < p < 1 (Excel's
    saved values: p = 1 is #NUM!, though its documentation allows it).
    """
    (p, a, b, lo, hi), err = numbers(probability, alpha, beta, lower, upper, defaults=(0, 1))
    bad = (p <= 0) | (p >= 1) | (a <= 0) | (b <= 0) | (lo >= hi)
    p, a, b = safe(p, bad, 0.5), safe(a, bad, 1.0), safe(b, bad, 1.0)
    z = scipy_values(special.betaincinv, a, b, p)
    return finish(lo + (hi - lo) * z, err, (bad, NUM))


def _gamma(x, alpha, beta, cumulative) -> Block:
    (xv, a, b), err = numbers(x, alpha, beta)
    cum, c_err = flag(cumulative, xv)
    bad = (xv < 0) | (a <= 0) | (b <= 0)
    a, b = safe(a, bad, 1.0), safe(b, bad, 1.0)
    z = safe(xv, bad, 1.0) / b
    cdf = scipy_values(special.gammainc, a, z)
    pdf = scipy_values(stats.gamma.pdf, z, a) / b
    return finish(torch.where(cum, cdf, pdf), merge_errors(err, c_err), (bad, NUM))


@register_distribution("GAMMA.DIST", 4, 4, aliases=("GAMMADIST",))
def gamma_dist(x, alpha, beta, cumulative) -> Block:
    """GAMMA.DIST(x, alpha, beta, cumulative): the gamma distribution (shape, scale)."""
    return _gamma(x, alpha, beta, cumulative)


@register_distribution("GAMMA.INV", 3, 3, aliases=("GAMMAINV",))
def gamma_inv(probability, alpha, beta) -> Block:
    """GAMMA.INV(probability, alpha, beta): the gamma quantile; 0 <= p < 1."""
    (p, a, b), err = numbers(probability, alpha, beta)
    bad = (p < 0) | (p >= 1) | (a <= 0) | (b <= 0)
    p, a, b = safe(p, bad, 0.5), safe(a, bad, 1.0), safe(b, bad, 1.0)
    return finish(b * scipy_values(special.gammaincinv, a, p), err, (bad, NUM))


def _lognormal(x, mean, standard_dev, cumulative) -> Block:
    (xv, m, s), err = numbers(x, mean, standard_dev)
    cum, c_err = flag(cumulative, xv)
    bad = (xv <= 0) | (s <= 0)
    xv, s = safe(xv, bad, 1.0), safe(s, bad, 1.0)
    z = (torch.log(xv) - m) / s
    pdf = torch.exp(-0.5 * z * z) / (xv * s * (2 * torch.pi) ** 0.5)
    values = torch.where(cum, torch.special.ndtr(z), pdf)
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("LOGNORM.DIST", 4, 4)
def lognorm_dist(x, mean, standard_dev, cumulative) -> Block:
    """LOGNORM.DIST(x, mean, standard_dev, cumulative): ln(x) normal(mean, sd); x > 0."""
    return _lognormal(x, mean, standard_dev, cumulative)


@register_distribution("LOGNORMDIST", 3, 3)
def lognormdist(x, mean, standard_dev) -> Block:
    """LOGNORMDIST(x, mean, standard_dev): the lognormal CDF (Excel 2007)."""
    return _lognormal(x, mean, standard_dev, None)


@register_distribution("LOGNORM.INV", 3, 3, aliases=("LOGINV",))
def lognorm_inv(probability, mean, standard_dev) -> Block:
    """LOGNORM.INV(probability, mean, standard_dev): exp of the normal quantile; 0 < p < 1."""
    (p, m, s), err = numbers(probability, mean, standard_dev)
    bad = (p <= 0) | (p >= 1) | (s <= 0)
    values = torch.exp(m + s * torch.special.ndtri(safe(p, bad, 0.5)))
    return finish(values, err, (bad, NUM))


@register_distribution("EXPON.DIST", 3, 3, aliases=("EXPONDIST",))
def expon_dist(x, rate, cumulative) -> Block:
    """EXPON.DIST(x, lambda, cumulative): the exponential distribution; x >= 0, lambda > 0."""
    (xv, lam), err = numbers(x, rate)
    cum, c_err = flag(cumulative, xv)
    bad = (xv < 0) | (lam <= 0)
    xv, lam = safe(xv, bad, 0.0), safe(lam, bad, 1.0)
    values = torch.where(cum, -torch.expm1(-lam * xv), lam * torch.exp(-lam * xv))
    return finish(values, merge_errors(err, c_err), (bad, NUM))


@register_distribution("WEIBULL.DIST", 4, 4, aliases=("WEIBULL",))
def weibull_dist(x, alpha, beta, cumulative) -> Block:
    """WEIBULL.DIST(x, alpha, beta, cumulative): shape alpha, scale beta; x >= 0."""
    (xv, a, b), err = numbers(x, alpha, beta)
    cum, c_err = flag(cumulative, xv)
    bad = (xv < 0) | (a <= 0) | (b <= 0)
    xv, a, b = safe(xv, bad, 1.0), safe(a, bad, 1.0), safe(b, bad, 1.0)
    power = torch.pow(xv / b, a)
    pdf = a / b * torch.pow(xv / b, a - 1) * torch.exp(-power)
    values = torch.where(cum, -torch.expm1(-power), pdf)
    return finish(values, merge_errors(err, c_err), (bad, NUM))


def _confidence_args(alpha, standard_dev, size):
    (a, s, n), err = numbers(alpha, standard_dev, size)
    n = whole(n)
    bad = (a <= 0) | (a >= 1) | (s <= 0) | (n < 1)
    return safe(a, bad, 0.5), s, safe(n, bad, 2.0), err, bad


@register_distribution("CONFIDENCE.NORM", 3, 3, aliases=("CONFIDENCE",))
def confidence_norm(alpha, standard_dev, size) -> Block:
    """CONFIDENCE.NORM(alpha, standard_dev, size): half-width of the normal interval."""
    a, s, n, err, bad = _confidence_args(alpha, standard_dev, size)
    values = torch.special.ndtri(1 - a / 2) * s / torch.sqrt(n)
    return finish(values, err, (bad, NUM))


@register_distribution("CONFIDENCE.T", 3, 3)
def confidence_t(alpha, standard_dev, size) -> Block:
    """CONFIDENCE.T(alpha, standard_dev, size): half-width of Student's t interval; #DIV/0!
    for a sample of one.
    """
    a, s, n, err, bad = _confidence_args(alpha, standard_dev, size)
    one = ~bad & (n == 1)
    quantile = scipy_values(stats.t.isf, a / 2, safe(n, one, 2.0) - 1)
    return finish(quantile * s / torch.sqrt(n), err, (bad, NUM), (one, ErrorCode.DIV0))
