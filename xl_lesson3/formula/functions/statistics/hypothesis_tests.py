"""Hypothesis tests: T.TEST, F.TEST, CHISQ.TEST and Z.TEST, with their Excel 2007 names (TTEST,
FTEST, CHITEST, ZTEST).

Each reads its data arrays as a range reads (only numbers count; text, booleans and blanks are
left out; in paired T.TEST and CHISQ.TEST a pair counts only when both cells are numbers) and
returns p-values. The scalar arguments (T.TEST's tails and type, Z.TEST's x and sigma) are
elementwise: ``{=T.TEST(A1:A9, B1:B9, {1;2}, {1;2})}`` is a column of two p-values.

Errors, as Excel's saved values show them: a scalar argument's error comes before the arrays'
errors; within the arrays the first error in reading order wins (array1 before array2, and
pair by pair for the paired t-test), except that a #NULL! cell is passed over (with its pair)
as if it held no number, so ``T.TEST({#NULL!, #NUM!}, …)`` is #NUM!.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import RANGE_NUMBERS, coerce
from xl_lesson3.formula.functions.core.lazy_scipy import stats
from xl_lesson3.formula.functions.core.shapes import merge_errors
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.functions.statistics.distribution_args import (
    finish,
    register_distribution,
    safe,
    scipy_values,
    whole,
)
from xl_lesson3.formula.values import Block, ErrorCode

DIV0, NUM, NA = ErrorCode.DIV0, ErrorCode.NUM, ErrorCode.NA


def _flat(block: Block) -> tuple[torch.Tensor, ...]:
    """An array argument as ``(b, r, K)`` values, include mask, error codes (0: none, #NULL!
    dropped) and the mask of its #NULL! cells.
    """
    part = coerce(block, RANGE_NUMBERS)
    num = part.num
    include = torch.ones_like(num, dtype=torch.bool) if part.include is None else part.include
    raw = torch.zeros_like(num, dtype=torch.int8) if part.err is None else part.err
    raw = raw.expand_as(num)
    null = raw == int(ErrorCode.NULL)
    include = include.expand_as(num) & (raw == 0)
    err = torch.where(null, 0, raw)
    return num.flatten(-2), include.flatten(-2), err.flatten(-2), null.flatten(-2)


def _first(err: torch.Tensor) -> torch.Tensor:
    """The first non-zero code along the last dim, as ``(b, r, 1, 1)``."""
    index = (err != 0).to(torch.uint8).argmax(dim=-1, keepdim=True)
    return err.gather(-1, index)[..., None]


def _moments(values: torch.Tensor, include: torch.Tensor):
    """Count, mean and sample variance of the included values, each ``(b, r, 1, 1)``."""
    count = include.to(values.dtype).sum(dim=-1)
    mean = torch.where(include, values, 0.0).sum(dim=-1) / count.clamp(min=1)
    deviation = torch.where(include, values - mean[..., None], 0.0)
    var = (deviation * deviation).sum(dim=-1) / (count - 1).clamp(min=1)
    return count[..., None, None], mean[..., None, None], var[..., None, None]


def _t_paired(a, a_in, b, b_in):
    both = a_in & b_in
    n, mean, var = _moments(a - b, both)
    bad = (n < 2) | (var == 0)
    t = mean / torch.sqrt(safe(var, bad, 1.0) / safe(n, bad, 2.0))
    return t, n - 1, bad


def _t_unpaired(a, a_in, b, b_in, equal_var: bool):
    n1, m1, v1 = _moments(a, a_in)
    n2, m2, v2 = _moments(b, b_in)
    few = (n1 < 2) | (n2 < 2)
    n1, n2 = safe(n1, few, 2.0), safe(n2, few, 2.0)
    if equal_var:
        df = n1 + n2 - 2
        se2 = ((n1 - 1) * v1 + (n2 - 1) * v2) / df * (1 / n1 + 1 / n2)
    else:
        s1, s2 = v1 / n1, v2 / n2
        se2 = s1 + s2
        df = se2 * se2 / safe(s1 * s1 / (n1 - 1) + s2 * s2 / (n2 - 1), se2 == 0, 1.0)
    bad = few | (se2 == 0)
    return (m1 - m2) / torch.sqrt(safe(se2, bad, 1.0)), safe(df, bad, 1.0), bad


def _paired_test(a, a_in, a_err, a_null, b, b_in, b_err):
    """Paired t statistic, df, #DIV/0! mask and the pair-by-pair first error."""
    lead = torch.broadcast_shapes(a.shape, b.shape)
    a, a_in, a_err, a_null = (x.expand(lead) for x in (a, a_in, a_err, a_null))
    b, b_in, b_err = (x.expand(lead) for x in (b, b_in, b_err))
    t, df, div0 = _t_paired(a, a_in, b, b_in)
    # a #NULL! in array1 takes its partner's error out of the scan
    partner = torch.where(a_null, 0, b_err)
    return t, df, div0, _first(torch.stack((a_err, partner), dim=-1).flatten(-2))


@register_distribution("T.TEST", 4, 4, aliases=("TTEST",))
def t_test(array1, array2, tails, type_) -> Block:
    """T.TEST(array1, array2, tails, type): Student's t-test p-value; type 1 paired, 2 equal
    variances, 3 unequal (Welch); tails 1 or 2. Paired arrays of two sizes are #N/A.
    """
    a, a_in, a_err, a_null = _flat(array1)
    b, b_in, b_err, _ = _flat(array2)
    (k, kind), arg_err = numbers(tails, type_)
    k, kind = whole(k), whole(kind)
    bad = ((k != 1) & (k != 2)) | ((kind != 1) & (kind != 2) & (kind != 3))
    separate = merge_errors(_first(a_err), _first(b_err))
    sizes_match = a.shape[-1] == b.shape[-1]
    if sizes_match:
        paired = _paired_test(a, a_in, a_err, a_null, b, b_in, b_err)
    else:  # #N/A below; placeholders keep the selection shapes simple
        paired = (torch.zeros_like(separate, dtype=a.dtype), 1.0, separate == 0, separate)
    pooled = _t_unpaired(a, a_in, b, b_in, equal_var=True)
    welch = _t_unpaired(a, a_in, b, b_in, equal_var=False)
    tests = (paired[:3], pooled, welch)
    p = [
        scipy_values(stats.t.sf, t.abs(), torch.as_tensor(df, dtype=a.dtype)) for t, df, _ in tests
    ]
    values = torch.where(kind == 1, p[0], torch.where(kind == 2, p[1], p[2]))
    div0 = torch.where(kind == 1, tests[0][2], torch.where(kind == 2, pooled[2], welch[2]))
    array_err = torch.where(kind == 1, paired[3], separate)
    return finish(
        values * k,
        merge_errors(arg_err, (bad * int(NUM)).to(torch.int8), array_err),
        ((kind == 1) & (not sizes_match), NA),
        (div0, DIV0),
    )


@register_distribution("F.TEST", 2, 2, aliases=("FTEST",))
def f_test(array1, array2) -> Block:
    """F.TEST(array1, array2): two-tailed p-value that the two variances are equal; each array
    needs two numbers and a non-zero variance (#DIV/0!).
    """
    a, a_in, a_err, _ = _flat(array1)
    b, b_in, b_err, _ = _flat(array2)
    n1, _, v1 = _moments(a, a_in)
    n2, _, v2 = _moments(b, b_in)
    bad = (n1 < 2) | (n2 < 2) | (v1 == 0) | (v2 == 0)
    ratio = safe(v1, bad, 1.0) / safe(v2, bad, 1.0)
    d1, d2 = safe(n1, bad, 2.0) - 1, safe(n2, bad, 2.0) - 1
    lower = scipy_values(stats.f.cdf, ratio, d1, d2)
    upper = scipy_values(stats.f.sf, ratio, d1, d2)
    values = 2 * torch.minimum(lower, upper)
    return finish(values, merge_errors(_first(a_err), _first(b_err)), (bad, DIV0))


def _chi_df(rows: int, cols: int) -> int:
    """Degrees of freedom of a contingency table of `rows` x `cols` (a single row or column:
    one fewer than its length).
    """
    if rows > 1 and cols > 1:
        return (rows - 1) * (cols - 1)
    return max(rows, cols) - 1


@register_distribution("CHISQ.TEST", 2, 2, aliases=("CHITEST",))
def chisq_test(actual_range, expected_range) -> Block:
    """CHISQ.TEST(actual_range, expected_range): the chi-squared test's p-value.

    The ranges need as many cells (#N/A); degrees of freedom come from actual_range's shape
    (Excel's saved values: a 2x2 against a 4x1 range has 1), a single cell is #N/A. Pairs with a
    non-number are left out; no pair left, or an expected 0, is #DIV/0!.
    """
    a, a_in, a_err, _ = _flat(actual_range)
    e, e_in, e_err, _ = _flat(expected_range)
    err = merge_errors(_first(a_err), _first(e_err))
    df = _chi_df(*actual_range.shape)
    if a.shape[-1] != e.shape[-1] or df < 1:
        return finish(torch.zeros_like(err, dtype=a.dtype), err, (err == 0, NA))
    both = a_in & e_in
    zero = (both & (e == 0)).any(dim=-1) | ~both.any(dim=-1)
    safe_e = torch.where(both & (e != 0), e, 1.0)
    terms = torch.where(both, (a - e) ** 2 / safe_e, 0.0)
    statistic = terms.sum(dim=-1)[..., None, None]
    values = scipy_values(stats.chi2.sf, statistic, torch.full_like(statistic, float(df)))
    return finish(values, err, (zero[..., None, None], DIV0))


@register_distribution("Z.TEST", 2, 3, aliases=("ZTEST",))
def z_test(array, x, sigma=None) -> Block:
    """Z.TEST(array, x, [sigma]): one-tailed p-value 1 - NORM.S.DIST((mean - x) / (sigma /
    sqrt(n))), sigma defaulting to the sample's standard deviation; elementwise in x and sigma.
    Fewer than two numbers is #DIV/0! (even with sigma), sigma <= 0 #NUM!.
    """
    values, include, err, _ = _flat(array)
    n, mean, var = _moments(values, include)
    if sigma is None:
        (xv,), arg_err = numbers(x)
        s, bad = torch.sqrt(var), torch.zeros_like(var, dtype=torch.bool)
    else:
        (xv, s), arg_err = numbers(x, sigma)
        bad = s <= 0
    few = (n < 2) | (s == 0)
    z = (mean - xv) / (safe(s, bad | few, 1.0) / torch.sqrt(safe(n, few, 2.0)))
    # Excel's documented 1 - CDF (not the survival function): its digits for large z
    result = 1 - torch.special.ndtr(z)
    return finish(result, merge_errors(arg_err, _first(err)), (bad, NUM), (few, DIV0))
