"""Statistics: VAR/STDEV (.S/.P), CORREL, COVARIANCE, SLOPE, INTERCEPT, FORECAST, RSQ, DEVSQ,
AVEDEV, GEOMEAN, HARMEAN, and the normal distribution (NORM.DIST, NORM.S.DIST, NORM.INV,
NORM.S.INV). The order statistics (MEDIAN, LARGE, PERCENTILE...) are in `ranking`.

Arguments are read as SUM reads them (`aggregate.read_arguments`): a range counts only its
numbers, a direct argument is coerced. Every argument's cells are laid side by side as one
``(batch, run, K)`` sample with an include mask, so a run of ``STDEV(B2:F2)`` down 700 rows is
one set of tensor ops. The moments, correlations and the normal distribution are smooth.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import (
    CONDITION,
    DIRECT_NUMBERS,
    RANGE_NUMBERS,
    Rule,
    coerce,
    to_number,
)
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import error_where, first_error, merge_errors
from xl_lesson3.formula.functions.math.aggregate import _pairs, read_arguments
from xl_lesson3.formula.functions.math.elementwise import _sqrt
from xl_lesson3.formula.functions.math.rounding import _with_errors, numbers
from xl_lesson3.formula.values import Block, ErrorCode, Kind

CATEGORY = "Statistical"


def sample(
    args, range_rule: Rule = RANGE_NUMBERS, direct_rule: Rule = DIRECT_NUMBERS
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """All counted numbers of `args`: values ``(b, r, K)`` (0 where excluded), include mask
    ``(b, r, K)``, count ``(b, r, 1, 1)`` and the first error ``(b, r, 1, 1)`` or None.

    The rules say how a reference and a direct argument are read (the *A functions count
    text and booleans in ranges).
    """
    parts = read_arguments(args, range_rule, direct_rule)
    flats, masks = [], []
    for part in parts:
        values = part.filled(0.0)
        include = (
            torch.ones_like(values, dtype=torch.bool)
            if part.include is None
            else part.include.expand_as(values)
        )
        flats.append(values.flatten(-2))
        masks.append(include.flatten(-2))
    lead = torch.broadcast_shapes(*(f.shape[:-1] for f in flats + masks))
    values = torch.cat([f.expand(*lead, f.shape[-1]) for f in flats], dim=-1)
    include = torch.cat([m.expand(*lead, m.shape[-1]) for m in masks], dim=-1)
    count = include.to(values.dtype).sum(dim=-1)[..., None, None]
    err = merge_errors(*(first_error(part.err) for part in parts))
    return values, include, count, err


def _mean(values, include, count):
    return values.sum(dim=-1)[..., None, None] / torch.where(count == 0, 1.0, count)


def _squares(values, include, count):
    """Sum of squared deviations from the mean, ``(b, r, 1, 1)``."""
    deviation = torch.where(include, values - _mean(values, include, count)[..., 0], 0.0)
    return (deviation * deviation).sum(dim=-1)[..., None, None]


def _variance(args, sample_: bool) -> tuple[torch.Tensor, torch.Tensor, object]:
    values, include, count, err = sample(args)
    ddof = 1 if sample_ else 0
    few = count <= ddof
    var = _squares(values, include, count) / torch.where(few, 1.0, count - ddof)
    return var, few, err


def _register_spread(name: str, sample_: bool, root: bool, aliases=()):
    @register(name, min_args=1, max_args=255, category=CATEGORY, aliases=aliases)
    def function(*args: Block) -> Block:
        var, few, err = _variance(args, sample_)
        return _with_errors(_sqrt(var) if root else var, err, (few, ErrorCode.DIV0))

    kind = "sample" if sample_ else "population"
    what = "standard deviation" if root else "variance"
    function.__doc__ = f"{name}(number1, ...): the {kind} {what}; #DIV/0! with too few numbers."
    function.__name__ = name.lower().replace(".", "_")
    return function


_register_spread("VAR.S", True, False, aliases=("VAR",))
_register_spread("VAR.P", False, False, aliases=("VARP",))
_register_spread("STDEV.S", True, True, aliases=("STDEV",))
_register_spread("STDEV.P", False, True, aliases=("STDEVP",))


@register("DEVSQ", min_args=1, max_args=255, category=CATEGORY)
def devsq(*args: Block) -> Block:
    """DEVSQ(number1, ...): the sum of squared deviations from the mean."""
    values, include, count, err = sample(args)
    return _with_errors(_squares(values, include, count), err, (count == 0, ErrorCode.NUM))


@register("AVEDEV", min_args=1, max_args=255, category=CATEGORY)
def avedev(*args: Block) -> Block:
    """AVEDEV(number1, ...): the mean absolute deviation from the mean."""
    values, include, count, err = sample(args)
    mean = _mean(values, include, count)[..., 0]
    spread = torch.where(include, (values - mean).abs(), 0.0).sum(dim=-1)[..., None, None]
    empty = count == 0
    return _with_errors(spread / torch.where(empty, 1.0, count), err, (empty, ErrorCode.NUM))


@register("GEOMEAN", min_args=1, max_args=255, category=CATEGORY)
def geomean(*args: Block) -> Block:
    """GEOMEAN(number1, ...): exp of the mean log; #NUM! for a number <= 0 or none."""
    values, include, count, err = sample(args)
    bad = ((values <= 0) & include).any(dim=-1)[..., None, None] | (count == 0)
    logs = torch.where(include & (values > 0), torch.log(torch.where(values > 0, values, 1.0)), 0)
    mean_log = logs.sum(dim=-1)[..., None, None] / torch.where(count == 0, 1.0, count)
    return _with_errors(torch.exp(mean_log), err, (bad, ErrorCode.NUM))


@register("HARMEAN", min_args=1, max_args=255, category=CATEGORY)
def harmean(*args: Block) -> Block:
    """HARMEAN(number1, ...): n / Σ(1/x); #NUM! for a number <= 0 or none."""
    values, include, count, err = sample(args)
    bad = ((values <= 0) & include).any(dim=-1)[..., None, None] | (count == 0)
    inverse = torch.where(include & (values > 0), 1 / torch.where(values > 0, values, 1.0), 0)
    total = inverse.sum(dim=-1)[..., None, None]
    return _with_errors(count / torch.where(bad, 1.0, total), err, (bad, ErrorCode.NUM))


def _moments(y: Block, x: Block):
    """Paired sample (pairs where both are numbers): n, means, Sxx, Syy, Sxy and errors."""
    pairs = _pairs(y, x)
    if isinstance(pairs, Block):
        return pairs
    py, px = pairs
    include = py.include
    vy, vx = py.filled(0.0), px.filled(0.0)
    if include is None:
        include = torch.ones_like(vy, dtype=torch.bool)
    vy, vx = torch.broadcast_tensors(vy, vx)
    include = include.expand_as(vy)
    n = include.to(vy.dtype).sum(dim=(-2, -1), keepdim=True)
    safe_n = torch.where(n == 0, 1.0, n)
    my = torch.where(include, vy, 0).sum(dim=(-2, -1), keepdim=True) / safe_n
    mx = torch.where(include, vx, 0).sum(dim=(-2, -1), keepdim=True) / safe_n
    dy, dx = torch.where(include, vy - my, 0), torch.where(include, vx - mx, 0)
    sums = {
        "xx": (dx * dx).sum(dim=(-2, -1), keepdim=True),
        "yy": (dy * dy).sum(dim=(-2, -1), keepdim=True),
        "xy": (dx * dy).sum(dim=(-2, -1), keepdim=True),
    }
    # Excel reads the arrays pair by pair: the first pair holding an error gives it, except
    # that #NULL! loses to any later error (Excel's saved values: PEARSON({#NULL!,#NUM!},…) is
    # #NUM!; #NULL!'s internal code is 0, which these functions seem to take for "no error").
    err = _first_error_null_last(merge_errors(py.err, px.err))
    return n, my, mx, sums, err


def _first_error_null_last(err: torch.Tensor | None) -> torch.Tensor | None:
    """The first error of each range, a #NULL! only when no other error is there."""
    if err is None:
        return None
    others = torch.where(err == int(ErrorCode.NULL), 0, err).to(err.dtype)
    return merge_errors(first_error(others), first_error(err))


def _paired(name: str, doc: str, formula, differentiable: bool = True, aliases=()):
    @register(
        name,
        min_args=2,
        max_args=2,
        category=CATEGORY,
        aliases=aliases,
        differentiable=differentiable,
    )
    def function(first: Block, second: Block) -> Block:
        moments = _moments(first, second)
        if isinstance(moments, Block):
            return moments
        n, my, mx, sums, err = moments
        values, bad = formula(n, my, mx, sums)
        return _with_errors(values, err, (bad, ErrorCode.DIV0))

    function.__doc__ = doc
    function.__name__ = name.lower().replace(".", "_")
    return function


def _safe_div(top, bottom, bad):
    return top / torch.where(bad, 1.0, bottom)


def _correl(n, my, mx, s):
    bad = (s["xx"] == 0) | (s["yy"] == 0)
    return _safe_div(s["xy"], _sqrt(s["xx"] * s["yy"]), bad), bad


def _rsq(n, my, mx, s):
    r, bad = _correl(n, my, mx, s)
    return r * r, bad


def _slope(n, my, mx, s):
    bad = s["xx"] == 0
    return _safe_div(s["xy"], s["xx"], bad), bad


def _intercept(n, my, mx, s):
    slope, bad = _slope(n, my, mx, s)
    return my - slope * mx, bad


def _cov(ddof: int):
    def formula(n, my, mx, s):
        bad = n <= ddof
        return _safe_div(s["xy"], n - ddof, bad), bad

    return formula


def _steyx(n, my, mx, s):
    bad = (n <= 2) | (s["xx"] == 0)
    residual = s["yy"] - _safe_div(s["xy"] * s["xy"], s["xx"], bad)
    return _sqrt(_safe_div(residual.clamp(min=0), n - 2, bad)), bad


_paired("CORREL", "CORREL(array1, array2): Pearson's correlation.", _correl, aliases=("PEARSON",))
_paired("RSQ", "RSQ(known_y's, known_x's): the squared correlation.", _rsq)
_paired("SLOPE", "SLOPE(known_y's, known_x's): the least-squares slope.", _slope)
_paired("INTERCEPT", "INTERCEPT(known_y's, known_x's): the least-squares intercept.", _intercept)
_paired(
    "COVARIANCE.P",
    "COVARIANCE.P(array1, array2): population covariance.",
    _cov(0),
    aliases=("COVAR",),
)
_paired("COVARIANCE.S", "COVARIANCE.S(array1, array2): sample covariance.", _cov(1))
_paired("STEYX", "STEYX(known_y's, known_x's): standard error of the regression.", _steyx)


@register(
    "FORECAST.LINEAR",
    min_args=3,
    max_args=3,
    category=CATEGORY,
    array_result=True,
    aliases=("FORECAST",),
)
def forecast_linear(x: Block, known_y: Block, known_x: Block) -> Block:
    """FORECAST.LINEAR(x, known_y's, known_x's): the regression line's value at x.

    Excel's saved values: x's error comes before the arrays' size check (#N/A), and a single
    cell that is blank or text, as known_y's or known_x's, is #VALUE! (a range skips them).
    """
    point = to_number(x)
    moments = _moments(known_y, known_x)
    if isinstance(moments, Block):
        return Block(moments.num, err=merge_errors(point.err, moments.err))
    n, my, mx, sums, err = moments
    slope, bad = _slope(n, my, mx, sums)
    values = my + slope * (point.num - mx)
    lone = [_lone_non_number(b) for b in (known_y, known_x)]
    return _with_errors(values, merge_errors(point.err, err, *lone), (bad, ErrorCode.DIV0))


def _lone_non_number(block: Block) -> torch.Tensor | None:
    """#VALUE! where a 1×1 argument holds a blank or text (as a scalar, it is not skipped)."""
    if not block.is_scalar or block.kind is None:
        return None
    return error_where(
        (block.kind == int(Kind.BLANK)) | (block.kind == int(Kind.TEXT)), ErrorCode.VALUE
    )


_SQRT2 = 2.0**0.5
_SQRT2PI = (2 * torch.pi) ** 0.5


def _cumulative(flag: Block | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The `cumulative` argument read as IF reads a condition ("TRUE" yes, "1" #VALUE!)."""
    if flag is None:
        return torch.ones((1, 1, 1, 1), dtype=torch.float64), None
    test = coerce(flag, CONDITION)
    return test.num.detach(), test.err


def _density_or_cdf(z: torch.Tensor, cumulative: torch.Tensor, sd: torch.Tensor) -> torch.Tensor:
    pdf = torch.exp(-0.5 * z * z) / (_SQRT2PI * sd)
    return torch.where(cumulative != 0, torch.special.ndtr(z), pdf)


@register(
    "NORM.DIST", min_args=4, max_args=4, category=CATEGORY, array_result=True, aliases=("NORMDIST",)
)
def norm_dist(x: Block, mean: Block, standard_dev: Block, cumulative: Block) -> Block:
    """NORM.DIST(x, mean, standard_dev, cumulative): the normal CDF or density; sd > 0."""
    (xv, m, s), err = numbers(x, mean, standard_dev)
    c, c_err = _cumulative(cumulative)
    bad = s <= 0
    safe_s = torch.where(bad, 1.0, s)
    values = _density_or_cdf((xv - m) / safe_s, c, safe_s)
    return _with_errors(values, merge_errors(err, c_err), (bad, ErrorCode.NUM))


@register(
    "NORM.S.DIST",
    min_args=1,
    max_args=2,
    category=CATEGORY,
    array_result=True,
    aliases=("NORMSDIST",),
)
def norm_s_dist(z: Block, cumulative: Block | None = None) -> Block:
    """NORM.S.DIST(z, cumulative): the standard normal CDF or density (NORMSDIST: the CDF)."""
    (zv,), err = numbers(z)
    c, c_err = _cumulative(cumulative)
    return Block(_density_or_cdf(zv, c, torch.ones_like(zv)), err=merge_errors(err, c_err))


@register(
    "NORM.INV", min_args=3, max_args=3, category=CATEGORY, array_result=True, aliases=("NORMINV",)
)
def norm_inv(probability: Block, mean: Block, standard_dev: Block) -> Block:
    """NORM.INV(probability, mean, standard_dev): the normal quantile; 0 < p < 1, sd > 0."""
    (p, m, s), err = numbers(probability, mean, standard_dev)
    bad = (p <= 0) | (p >= 1) | (s <= 0)
    values = m + s * torch.special.ndtri(torch.where(bad, 0.5, p))
    return _with_errors(values, err, (bad, ErrorCode.NUM))


@register(
    "NORM.S.INV",
    min_args=1,
    max_args=1,
    category=CATEGORY,
    array_result=True,
    aliases=("NORMSINV",),
)
def norm_s_inv(probability: Block) -> Block:
    """NORM.S.INV(probability): the standard normal quantile; 0 < p < 1."""
    (p,), err = numbers(probability)
    bad = (p <= 0) | (p >= 1)
    return _with_errors(torch.special.ndtri(torch.where(bad, 0.5, p)), err, (bad, ErrorCode.NUM))


@register("STANDARDIZE", min_args=3, max_args=3, category=CATEGORY, array_result=True)
def standardize(x: Block, mean: Block, standard_dev: Block) -> Block:
    """STANDARDIZE(x, mean, standard_dev) = (x - mean) / sd; sd > 0."""
    (xv, m, s), err = numbers(x, mean, standard_dev)
    bad = s <= 0
    return _with_errors((xv - m) / torch.where(bad, 1.0, s), err, (bad, ErrorCode.NUM))
