"""CUMIPMT and CUMPRINC: the interest, or the principal, paid between two periods of a loan.

The sum of IPMT (or PPMT) over the periods start..end, on tensors for a whole run at once
(one step per period of the longest span, masked where a cell's span has ended), so they
are differentiable in the rate and the present value like IPMT. Excel's rules (Microsoft's
documentation, and its saved values in formulas' test.xlsx FINANCIAL row 13): every argument
is required and takes one value; the rate, the number of periods and the present value must
be positive, the periods (truncated to whole numbers) run 1 <= start <= end <= nper, and type
is 0 or 1, else #NUM!; booleans are #VALUE!.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.financial.cashflows import _ipmt_values, principal_values
from xl_lesson3.formula.functions.math.rounding import _with_errors, numbers
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Financial"
MAX_SPAN = 100_000  # periods summed at most (a 30-year monthly loan is 360)


def _cumulative(rate, nper, pv, start_period, end_period, type_, principal: bool) -> Block:
    (r, n, v, s, e, t), err = numbers(
        rate, nper, pv, start_period, end_period, type_, reject_bools=True
    )
    s, e, when = torch.trunc(s.detach()), torch.trunc(e.detach()), torch.trunc(t.detach())
    bad = (r <= 0) | (n <= 0) | (v <= 0) | (s < 1) | (e < s) | (e > n) | ((when != 0) & (when != 1))
    first = int(torch.where(bad, 1.0, s).min())
    last = int(torch.where(bad, 1.0, e).max())
    if last - first >= MAX_SPAN:
        bad = bad | (e - s >= MAX_SPAN)
        last = first + MAX_SPAN - 1
    total = torch.zeros(torch.broadcast_shapes(r.shape, n.shape, v.shape, s.shape, e.shape))
    total = total.to(r.dtype)
    zero = torch.zeros((), dtype=r.dtype)
    for period in range(first, last + 1):
        per = torch.full_like(total, float(period))
        if principal:
            part = principal_values(r, per, n, v, zero, when)[0]
        else:
            part = _ipmt_values(r, per, n, v, zero, when)[0]
        total = total + torch.where((s <= period) & (period <= e), part, 0.0)
    return _with_errors(total, err, (bad, ErrorCode.NUM))


@register("CUMIPMT", min_args=6, max_args=6, category=CATEGORY, array_result=True)
def cumipmt(rate, nper, pv, start_period, end_period, type_) -> Block:
    """CUMIPMT(rate, nper, pv, start_period, end_period, type): interest paid in those periods."""
    return _cumulative(rate, nper, pv, start_period, end_period, type_, principal=False)


@register("CUMPRINC", min_args=6, max_args=6, category=CATEGORY, array_result=True)
def cumprinc(rate, nper, pv, start_period, end_period, type_) -> Block:
    """CUMPRINC(rate, nper, pv, start_period, end_period, type): principal repaid in them."""
    return _cumulative(rate, nper, pv, start_period, end_period, type_, principal=True)
