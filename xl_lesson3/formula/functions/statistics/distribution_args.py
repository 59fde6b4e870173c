"""What the probability-distribution functions share: argument reading and the scipy bridge.

Excel's distribution functions (BETA.DIST … WEIBULL.DIST, T.TEST …) are elementwise in every
scalar argument: over a range they return a range (``=CHISQ.INV(0.5, C1:Q1)`` as an array
formula). Arguments are read by the arithmetic rule (``"1"`` is 1, a text date is its serial,
TRUE is 1, a blank is 0); an argument's coercion error beats any domain error (#NUM!), and the
leftmost argument's error wins. Integer arguments (degrees of freedom, trials, counts) are
truncated, as Excel documents.

Densities, CDFs and quantiles come from scipy.special / scipy.stats, evaluated on detached
numpy copies: these functions are registered as not differentiable (a solver sees them as
constants of its variables), and scipy's incomplete beta and gamma functions and their inverses
are what Excel's values are checked against.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from xl_lesson3.formula.functions.core.coercion import CONDITION, coerce
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import error_where, merge_errors
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Statistical"
# Excel refuses more degrees of freedom than this (CHISQ.DIST, CHISQ.INV: #NUM!)
MAX_DF = 1e10


def register_distribution(name: str, min_args: int, max_args: int, aliases: tuple[str, ...] = ()):
    """The registry decorator for an elementwise, non-differentiable statistical function."""
    return register(
        name,
        min_args=min_args,
        max_args=max_args,
        category=CATEGORY,
        aliases=aliases,
        differentiable=False,
        gradient_free=True,
        array_result=True,
    )


def flag(
    block: Block | None, like: torch.Tensor, default: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A `cumulative` argument read as IF reads its condition: "TRUE" yes, "1" #VALUE!.

    Returns ``(is_true, err)``; an omitted argument is `default` (on `like`'s device).
    """
    if block is None:
        return torch.full((1, 1, 1, 1), default, device=like.device), None
    test = coerce(block, CONDITION)
    return test.num.detach() != 0, test.err


def whole(values: torch.Tensor) -> torch.Tensor:
    """Excel's truncation of an integer argument (toward zero), detached."""
    return torch.trunc(values.detach())


def scipy_values(fn: Callable[..., np.ndarray], *tensors: torch.Tensor) -> torch.Tensor:
    """``fn`` applied to numpy copies of `tensors` (broadcast), as a tensor like the first.

    Callers swap out-of-domain inputs for harmless ones first; warnings about the rest (an
    overflow to inf, a 0/0) are silenced here and turned into #NUM! by `finish`.
    """
    like = tensors[0]
    arrays = [t.detach().to("cpu", torch.float64).numpy() for t in tensors]
    with np.errstate(all="ignore"):
        out = np.asarray(fn(*arrays), dtype=np.float64)
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    out = np.broadcast_to(out, shape).copy()
    return torch.as_tensor(out, dtype=like.dtype, device=like.device)


def finish(
    values: torch.Tensor, err: torch.Tensor | None, *masks: tuple[torch.Tensor, ErrorCode]
) -> Block:
    """The result block: `err` first, then each (mask, code) in order, then #NUM! wherever
    the value is not finite (an overflow, or scipy giving up), 0 in every error cell.
    """
    codes = [error_where(mask, code) for mask, code in masks]
    bad = torch.zeros_like(values, dtype=torch.bool)
    for mask, _ in masks:
        bad = bad | mask
    codes.append(error_where(~bad & ~torch.isfinite(values), ErrorCode.NUM))
    err = merge_errors(err, *codes)
    values = torch.where(err != 0, 0.0, values) if err is not None else values
    return Block(values, err=err)


def safe(values: torch.Tensor, bad: torch.Tensor, fallback: float) -> torch.Tensor:
    """`values` with `fallback` where `bad` holds: keeps scipy inside its domain."""
    return torch.where(bad, fallback, values)
