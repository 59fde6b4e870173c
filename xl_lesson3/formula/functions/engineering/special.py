"""Special functions: the error function, the gamma function, Fisher's transform, PHI, GAUSS,
ACOTH.

Excel files them under Engineering (ERF, ERFC), Statistical (GAMMA, FISHER, PHI, GAUSS) and
Math & Trig (ACOTH); they share one shape: smooth, elementwise (over a range they return a
range), #NUM! outside their domain, with the double where so that no NaN reaches a gradient.
They were the largest groups of missing functions in the conformance workbooks
(``python -m benchmarks conformance``).
"""

from __future__ import annotations

import math as pymath

import torch

from xl_lesson3.formula.functions.core.coercion import to_number
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, error_where, merge_errors
from xl_lesson3.formula.functions.math.elementwise import elementwise
from xl_lesson3.formula.values import Block, ErrorCode, Kind

STATISTICAL = "Statistical"
ENGINEERING = "Engineering"
MATH = "Math & Trig"

# Γ(x) overflows a double past this (Excel gives #NUM! there)
GAMMA_MAX = 171.62437695630272


def no_booleans(block: Block) -> Block:
    """The block with #VALUE! where it holds a boolean: the Analysis ToolPak's ERF and ERFC
    refuse TRUE where arithmetic reads 1 (formulas' test.xlsx ENGINEERING!X21:Y24).
    """
    if block.kind is None:
        return block
    booleans = error_where(block.kind == int(Kind.BOOL), ErrorCode.VALUE)
    return block.with_(err=merge_errors(block.err, booleans))


def _one(name: str, category: str, fn, bad=None, safe: float = 0.5, aliases=(), toolpak=False):
    @register(name, min_args=1, max_args=1, category=category, array_result=True, aliases=aliases)
    def function(number: Block) -> Block:
        number = no_booleans(number) if toolpak else number
        return elementwise(number, fn, bad=bad, safe_input=safe)

    function.__doc__ = f"{name}(number), cell by cell."
    function.__name__ = name.lower().replace(".", "_")
    return function


def _gamma(x: torch.Tensor) -> torch.Tensor:
    # Γ from log|Γ| and its sign: Γ is negative on (-1, 0), (-3, -2), ... i.e. where
    # floor(x) is odd and negative
    sign = torch.where((x < 0) & (torch.floor(x) % 2 != 0), -1.0, 1.0)
    return sign * torch.exp(torch.lgamma(x))


def _gamma_pole(x: torch.Tensor) -> torch.Tensor:
    return ((x <= 0) & (x == torch.floor(x))) | (x > GAMMA_MAX)


def _phi(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x * x) / pymath.sqrt(2 * pymath.pi)


_one("ERF.PRECISE", ENGINEERING, torch.erf, toolpak=True)
_one("ERFC", ENGINEERING, torch.erfc, aliases=("ERFC.PRECISE",), toolpak=True)
_one("GAMMA", STATISTICAL, _gamma, bad=_gamma_pole)
_one("GAMMALN", STATISTICAL, torch.lgamma, bad=lambda x: x <= 0, aliases=("GAMMALN.PRECISE",))
_one("FISHER", STATISTICAL, torch.atanh, bad=lambda x: x.abs() >= 1, safe=0.0)
_one("FISHERINV", STATISTICAL, torch.tanh)
_one("PHI", STATISTICAL, _phi)
_one("GAUSS", STATISTICAL, lambda x: 0.5 * torch.erf(x / pymath.sqrt(2)))
_one("ACOTH", MATH, lambda x: torch.atanh(1 / x), bad=lambda x: x.abs() <= 1, safe=2.0)


@register("ERF", min_args=1, max_args=2, category=ENGINEERING, array_result=True)
def erf(lower_limit: Block, upper_limit: Block | None = None) -> Block:
    """ERF(lower_limit, [upper_limit]): erf(lower), or erf(upper) − erf(lower) with both."""
    lower_limit = no_booleans(lower_limit)
    if upper_limit is None:
        return elementwise(lower_limit, torch.erf)
    upper_limit = no_booleans(upper_limit)
    lower, upper = (to_number(block) for block in align(lower_limit, upper_limit))
    values = torch.erf(upper.num) - torch.erf(lower.num)
    return Block(values, err=merge_errors(lower.err, upper.err))
