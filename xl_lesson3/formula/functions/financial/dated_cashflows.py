"""XNPV and XIRR: cash flows on dates rather than in equal periods.

``XNPV(rate, values, dates) = Σ value_i / (1+rate)^((date_i − date_1)/365)``, the first date
being the start; XIRR is the rate where that sum is 0, found by Newton's method like IRR.
Both work on whole runs of cells as tensors; XNPV is differentiable in the rate and the
values. Excel's rules, from its saved values in formulas' test.xlsx (FINANCIAL rows 54-56) and
Microsoft's documentation:

- the two ranges must hold as many cells (else #NUM!); a pair whose value is blank or text
  is left out, a boolean value or date is #VALUE!, dates are truncated to whole days and none
  may come before the first (#NUM!);
- XNPV's rate must be positive (#NUM!); XIRR needs a positive and a negative value and a
  guess above -1, and is #NUM! when Newton's method does not converge;
- errors: the rate's or guess's first, then the dates', then the values'.

Excel's XIRR stops its iteration earlier than this one (its results differ from the exact
root by up to 1e-8 and depend on the guess); here the root is found to full precision.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import error_where, first_error, merge_errors
from xl_lesson3.formula.functions.financial.cashflows import _newton
from xl_lesson3.formula.functions.math.rounding import _with_errors, numbers
from xl_lesson3.formula.values import Block, ErrorCode, Kind

CATEGORY = "Financial"
DAYS_PER_YEAR = 365.0


def _flat(block: Block, lead: torch.Size) -> tuple[torch.Tensor, torch.Tensor]:
    """The block's numbers and kinds as ``(b, r, K)``."""
    num = block.num.flatten(-2)
    kind = torch.zeros_like(block.num, dtype=torch.int8) if block.kind is None else block.kind
    kind = torch.broadcast_to(kind, block.num.shape).flatten(-2)
    return num.expand(*lead, num.shape[-1]), kind.expand(*lead, num.shape[-1])


def dated_flows(values: Block, dates: Block):
    """Amounts, years since the first date, included pairs (all ``(b, r, K)``) and errors.

    The errors ``(b, r, 1, 1)`` (or None) are the dates' first error, then the values', then
    #VALUE! for a boolean, #NUM! for a date before the first. The sizes must agree
    (`same_size`).
    """
    lead = torch.broadcast_shapes(values.num.shape[:-2], dates.num.shape[:-2])
    amounts, value_kind = _flat(values, lead)
    days, date_kind = _flat(dates, lead)
    days = torch.floor(days)
    include = (value_kind == int(Kind.NUMBER)) | (value_kind == int(Kind.BOOL))
    booleans = ((value_kind == int(Kind.BOOL)) | (date_kind == int(Kind.BOOL))) & include
    if values.err is not None:
        include = include & (torch.broadcast_to(values.err, values.num.shape).flatten(-2) == 0)
    first = torch.argmax(include.to(torch.uint8), dim=-1, keepdim=True)
    start = days.gather(-1, first)
    early = (include & (days < start)).any(dim=-1)[..., None, None]
    years = torch.where(include, days - start, 0.0) / DAYS_PER_YEAR
    err = merge_errors(
        first_error(dates.err),
        first_error(values.err),
        error_where(booleans.any(dim=-1)[..., None, None], ErrorCode.VALUE),
        error_where(early, ErrorCode.NUM),
    )
    return torch.where(include, amounts, 0.0), years, include, err


def same_size(values: Block, dates: Block) -> bool:
    """Whether the two ranges hold as many cells (Excel's #NUM! when not)."""
    return values.shape[0] * values.shape[1] == dates.shape[0] * dates.shape[1]


def _present_value(rate: torch.Tensor, amounts: torch.Tensor, years: torch.Tensor):
    """Σ amounts / (1+rate)^years over the last dim; `rate` broadcasts as ``(b, r, 1)``.

    Summed in order (a cumulative sum), as Excel does: a sum near 0 keeps Excel's digits
    (XNPV at XIRR's rate is 4.594164160209857E-09 in Excel, and torch's pairwise sum gives
    4.59416428E-09).
    """
    return torch.cumsum(amounts / torch.pow(1 + rate, years), dim=-1)[..., -1]


@register("XNPV", min_args=3, max_args=3, category=CATEGORY)
def xnpv(rate: Block, values: Block, dates: Block) -> Block:
    """XNPV(rate, values, dates): the net present value of flows on the given dates."""
    (r,), r_err = numbers(rate, reject_bools=True)
    r = r.flatten(-2)[..., :1]  # (b, r, 1): a one-cell rate
    if not same_size(values, dates):
        everywhere = torch.ones_like(r[..., None], dtype=torch.bool)
        return _with_errors(torch.zeros_like(r[..., None]), r_err, (everywhere, ErrorCode.NUM))
    amounts, years, _include, err = dated_flows(values, dates)
    total = _present_value(r, amounts, years)[..., None, None]
    bad = (r <= 0)[..., None]
    return _with_errors(total, merge_errors(r_err, err), (bad, ErrorCode.NUM))


@register("XIRR", min_args=2, max_args=3, category=CATEGORY, differentiable=False)
def xirr(values: Block, dates: Block, guess: Block | None = None) -> Block:
    """XIRR(values, dates, [guess=0.1]): the rate at which XNPV of the flows is 0."""
    if guess is not None and guess.from_reference and not guess.is_scalar:
        return Block.error(ErrorCode.VALUE, dtype=values.num.dtype)  # one guess only
    (g,), g_err = numbers(guess or Block.scalar(0.1), reject_bools=True)
    if not same_size(values, dates):
        return Block.error(ErrorCode.NUM, dtype=values.num.dtype)
    amounts, years, include, err = dated_flows(values, dates)
    amounts, years = amounts.detach(), years.detach()
    lead = torch.broadcast_shapes(g.shape[:-2], amounts.shape[:-1])
    start = torch.broadcast_to(g.detach().flatten(-2)[..., 0], lead).clone()  # (b, r)

    def balance(rate: torch.Tensor) -> torch.Tensor:
        return _present_value(rate[..., None], amounts, years)

    root, failed = _newton(balance, start)
    mixed = ((amounts > 0) & include).any(dim=-1) & ((amounts < 0) & include).any(dim=-1)
    bad = (failed | ~mixed | (start <= -1))[..., None, None]
    return _with_errors(root[..., None, None], merge_errors(g_err, err), (bad, ErrorCode.NUM))
