"""Financial functions: PMT, IPMT, PPMT, PV, FV, NPER, RATE, NPV, IRR.

The annuity identity ``pv·(1+r)^n + pmt·(1+r·type)·((1+r)^n − 1)/r + fv = 0`` solved for each
unknown, elementwise on tensors, with the ``r = 0`` limit taken where the rate is 0 (double
where, so the 0/0 never reaches a gradient). PMT, PV, FV, NPER and NPV are smooth and
differentiable; RATE and IRR are found by Newton's method on detached values (Excel iterates
too: 20 steps to 1e-7 for RATE; here up to 100 steps to 1e-12) and give #NUM! when it fails.
Cash flows follow Excel's sign convention: money paid out is negative.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import merge_errors
from xl_lesson3.formula.functions.lookup.lookups import per_cell
from xl_lesson3.formula.functions.math.rounding import _with_errors, numbers
from xl_lesson3.formula.functions.statistics.descriptive import sample
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Financial"


def _growth(rate: torch.Tensor, nper: torch.Tensor):
    """(1+r)^n and the annuity factor ((1+r)^n − 1)/r (n where r = 0)."""
    zero = rate == 0
    safe = torch.where(zero, 1.0, rate)
    growth = torch.pow(1 + rate, nper)
    factor = torch.where(zero, nper, (torch.pow(1 + safe, nper) - 1) / safe)
    return growth, factor


def fv_values(rate, nper, pmt, pv, when):
    growth, factor = _growth(rate, nper)
    return -(pv * growth + pmt * (1 + rate * when) * factor)


def _reg(name: str, min_args: int, max_args: int, differentiable: bool = True):
    return register(
        name,
        min_args=min_args,
        max_args=max_args,
        category=CATEGORY,
        differentiable=differentiable,
        array_result=True,
    )


@_reg("FV", 3, 5)
def fv(rate: Block, nper: Block, pmt: Block, pv: Block | None = None, type_=None) -> Block:
    """FV(rate, nper, pmt, [pv=0], [type=0]): the future value."""
    (r, n, p, v, t), err = numbers(rate, nper, pmt, pv, type_, defaults=(0, 0))
    return Block(fv_values(r, n, p, v, (t != 0).to(r.dtype)), err=err)


@_reg("PV", 3, 5)
def pv(rate: Block, nper: Block, pmt: Block, fv_: Block | None = None, type_=None) -> Block:
    """PV(rate, nper, pmt, [fv=0], [type=0]): the present value."""
    (r, n, p, f, t), err = numbers(rate, nper, pmt, fv_, type_, defaults=(0, 0))
    growth, factor = _growth(r, n)
    when = (t != 0).to(r.dtype)
    return Block(-(f + p * (1 + r * when) * factor) / growth, err=err)


def pmt_values(r, n, v, f, when):
    growth, factor = _growth(r, n)
    bottom = (1 + r * when) * factor
    bad = bottom == 0
    return -(f + v * growth) / torch.where(bad, 1.0, bottom), bad


@_reg("PMT", 3, 5)
def pmt(rate: Block, nper: Block, pv_: Block, fv_: Block | None = None, type_=None) -> Block:
    """PMT(rate, nper, pv, [fv=0], [type=0]): the payment per period."""
    (r, n, v, f, t), err = numbers(rate, nper, pv_, fv_, type_, defaults=(0, 0))
    values, bad = pmt_values(r, n, v, f, (t != 0).to(r.dtype))
    return _with_errors(values, err, (bad, ErrorCode.NUM))


def _ipmt_values(r, per, n, v, f, when):
    payment, bad = pmt_values(r, n, v, f, when)
    balance = fv_values(r, per - 1, payment, v, when)
    interest = balance * r
    interest = torch.where(when != 0, torch.where(per == 1, 0.0, interest / (1 + r)), interest)
    return interest, payment, bad | (per < 1) | (per > n)


@_reg("IPMT", 4, 6)
def ipmt(rate, per, nper, pv_, fv_=None, type_=None) -> Block:
    """IPMT(rate, per, nper, pv, [fv=0], [type=0]): the interest part of payment `per`."""
    (r, p, n, v, f, t), err = numbers(rate, per, nper, pv_, fv_, type_, defaults=(0, 0))
    interest, _, bad = _ipmt_values(r, p, n, v, f, (t != 0).to(r.dtype))
    return _with_errors(interest, err, (bad, ErrorCode.NUM))


@_reg("PPMT", 4, 6)
def ppmt(rate, per, nper, pv_, fv_=None, type_=None) -> Block:
    """PPMT(rate, per, nper, pv, [fv=0], [type=0]): the principal part of payment `per`."""
    (r, p, n, v, f, t), err = numbers(rate, per, nper, pv_, fv_, type_, defaults=(0, 0))
    interest, payment, bad = _ipmt_values(r, p, n, v, f, (t != 0).to(r.dtype))
    return _with_errors(payment - interest, err, (bad, ErrorCode.NUM))


@_reg("NPER", 3, 5)
def nper(rate: Block, pmt_: Block, pv_: Block, fv_: Block | None = None, type_=None) -> Block:
    """NPER(rate, pmt, pv, [fv=0], [type=0]): the number of periods; #NUM! when none works."""
    (r, p, v, f, t), err = numbers(rate, pmt_, pv_, fv_, type_, defaults=(0, 0))
    when = (t != 0).to(r.dtype)
    zero = r == 0
    safe_r = torch.where(zero, 1.0, r)
    top = p * (1 + safe_r * when) - f * safe_r
    bottom = p * (1 + safe_r * when) + v * safe_r
    ratio = top / torch.where(bottom == 0, 1.0, bottom)
    bad_log = (~zero) & ((ratio <= 0) | (bottom == 0) | (safe_r <= -1))
    safe_ratio = torch.where(bad_log | zero, 2.0, ratio)
    periods = torch.log(safe_ratio) / torch.log1p(torch.where(safe_r <= -1, 1.0, safe_r))
    bad_zero = zero & (p == 0)
    linear = -(v + f) / torch.where(p == 0, 1.0, p)
    values = torch.where(zero, linear, periods)
    return _with_errors(values, err, (bad_log, ErrorCode.NUM), (bad_zero, ErrorCode.NUM))


def _newton(f, guess: torch.Tensor, steps: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """A root of `f` near `guess` for every cell at once; also a mask of cells that failed."""
    x = guess.clone()
    for _ in range(steps):
        h = 1e-6 * torch.clamp(x.abs(), min=1.0)
        slope = (f(x + h) - f(x - h)) / (2 * h)
        step = f(x) / torch.where(slope == 0, 1.0, slope)
        step = torch.where(torch.isfinite(step), step, 0.0)
        x = torch.clamp(x - step, min=-0.999999)
        if bool((step.abs() < 1e-13 * torch.clamp(x.abs(), min=1.0)).all()):
            break
    residual = f(x)
    failed = ~torch.isfinite(residual) | (residual.abs() > 1e-7)
    return x, failed


@_reg("RATE", 3, 6, differentiable=False)
def rate(nper_, pmt_, pv_, fv_=None, type_=None, guess=None) -> Block:
    """RATE(nper, pmt, pv, [fv=0], [type=0], [guess=0.1]): the rate per period (Newton)."""
    (n, p, v, f, t, g), err = numbers(nper_, pmt_, pv_, fv_, type_, guess, defaults=(0, 0, 0.1))
    n, p, v, f, g = (x.detach() for x in (n, p, v, f, g))
    when = (t.detach() != 0).to(n.dtype)

    def balance(r):
        growth, factor = _growth(r, n)
        return v * growth + p * (1 + r * when) * factor + f

    root, failed = _newton(
        balance,
        torch.broadcast_to(g, torch.broadcast_shapes(n.shape, p.shape, v.shape, f.shape, g.shape)),
    )
    return _with_errors(root, err, (failed, ErrorCode.NUM))


@register("NPV", min_args=2, max_args=255, category=CATEGORY)
def npv(rate_: Block, *values: Block) -> Block:
    """NPV(rate, value1, ...): Σ value_i / (1+rate)^i, i = 1, 2, … over the counted numbers."""
    lifted = per_cell(npv, [rate_, *values], scalar=(0,), trigger=(0,))
    if lifted is not None:  # an array of rates: one NPV per rate, as Excel lifts it
        return lifted
    flows, include, _count, err = sample(values)
    (r,), r_err = numbers(rate_)
    r = r.flatten(-2)[..., :1]  # (b, run, 1): a one-cell rate
    position = torch.cumsum(include.to(flows.dtype), dim=-1)
    bad = r == -1
    discount = torch.pow(1 + torch.where(bad, 0.0, r), position)
    total = torch.where(include, flows / discount, 0.0).sum(dim=-1)[..., None, None]
    return _with_errors(total, merge_errors(r_err, err), (bad[..., None], ErrorCode.DIV0))


@register("IRR", min_args=1, max_args=2, category=CATEGORY, differentiable=False)
def irr(values: Block, guess: Block | None = None) -> Block:
    """IRR(values, [guess=0.1]): the rate at which the NPV of the flows (from period 0) is 0;
    #NUM! without both a positive and a negative flow, or when Newton's method fails.
    """
    lifted = per_cell(irr, [values, guess], scalar=(1,), trigger=(1,))
    if lifted is not None:  # an array of guesses: one IRR per guess, as Excel lifts it
        return lifted
    flows, include, _count, err = sample((values,))
    (g,), g_err = numbers(guess or Block.scalar(0.1))
    # constant flows with a guess per cell of a run: one set of flows per cell
    lead = torch.broadcast_shapes(flows.shape[:-1], g.shape[:-2])
    flows = torch.where(include, flows.detach(), 0.0).expand(*lead, flows.shape[-1])
    include = include.expand(*lead, include.shape[-1])
    position = torch.cumsum(include.to(flows.dtype), dim=-1) - 1

    def npv_at(r):
        return (flows / torch.pow(1 + r[..., None], position)).sum(dim=-1)

    start = torch.broadcast_to(g.detach().flatten(-2)[..., 0], flows.shape[:-1])
    root, failed = _newton(npv_at, start.clone())
    for retry in (0.1, 0.0, -0.5, 0.5, 1.0):  # a far guess diverges: retry from usual rates
        if not bool(failed.any()):
            break
        again, still = _newton(npv_at, torch.full_like(start, retry))
        root = torch.where(failed, again, root)
        failed = failed & still
    mixed = (flows > 0).any(dim=-1) & (flows < 0).any(dim=-1)
    bad = (failed | ~mixed)[..., None, None]
    return _with_errors(root[..., None, None], merge_errors(err, g_err), (bad, ErrorCode.NUM))
