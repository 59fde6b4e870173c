"""Integer and rounding math: MOD, INT, TRUNC, ROUNDUP/DOWN, CEILING/FLOOR (+.MATH), MROUND,
QUOTIENT, EVEN, ODD, GCD, LCM, FACT, COMBIN, PERMUT, PRODUCT, SQRTPI, RAND, RANDBETWEEN.

Rounding functions are step functions of their input: their gradient is zero almost
everywhere (as Excel's finite differences would see), so they are registered as not
differentiable and computed on detached values. MOD is the exception: ``n - d*INT(n/d)`` has
gradient 1 in `n` between its jumps, which is what a solver should see.

Excel rounds the decimal number it shows, not the binary double (``ROUNDUP(0.1+0.2, 1)`` is
0.3 in Excel, where ceil(3.0000000000000004) would give 0.4): `_decimal` first rounds to 15
significant digits, as `math.round_half_away` does.
"""

from __future__ import annotations

import math as pymath

import torch

from xl_lesson3.formula.functions.core.coercion import Action, Rule, to_number
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, error_where, first_error, merge_errors
from xl_lesson3.formula.functions.math.aggregate import read_arguments
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Math & Trig"
_FACTORIALS = torch.tensor([float(pymath.factorial(n)) for n in range(171)], dtype=torch.float64)


def numbers(
    *blocks: Block | None, defaults: tuple[float, ...] = (), reject_bools: bool = False
) -> tuple[list, object]:
    """Aligned arguments as number tensors (ARITHMETIC rule) and their merged errors.

    A None argument (an omitted optional one) takes its value from `defaults`, which lists the
    defaults of the trailing arguments. `reject_bools`: a boolean is #VALUE!, as in Excel's
    former Analysis ToolPak functions (EDATE, ISEVEN, …), unlike its arithmetic.
    """
    present = [b for b in blocks if b is not None]
    like = present[0].num
    filled = []
    for i, block in enumerate(blocks):
        if block is None:
            default = defaults[i - (len(blocks) - len(defaults))]
            block = Block(torch.full((1, 1, 1, 1), float(default), dtype=like.dtype))
        filled.append(block)
    aligned = align(*filled)
    coerced = [to_number(b) for b in aligned]
    errs = [c.err for c in coerced]
    if reject_bools:
        errs = [
            err if b.kind is None else merge_errors(err, error_where(b.kind == 1, ErrorCode.VALUE))
            for b, err in zip(aligned, errs)
        ]
    return [c.num for c in coerced], merge_errors(*errs)


def _decimal(values: torch.Tensor) -> torch.Tensor:
    """`values` rounded to 15 significant digits: the decimal Excel shows and rounds."""
    magnitude = torch.floor(torch.log10(torch.where(values != 0, values.abs(), 1.0)))
    scale = torch.pow(torch.full_like(magnitude, 10.0), (14 - magnitude).clamp(-300, 300))
    return torch.round(values * scale) / scale


def _with_errors(values: torch.Tensor, err, *masks: tuple[torch.Tensor, ErrorCode]) -> Block:
    """A block of `values` with 0 and an error code wherever a mask holds."""
    extra = []
    for mask, code in masks:
        values = torch.where(mask, 0.0, values)
        extra.append(error_where(mask, code))
    return Block(values, err=merge_errors(err, *extra))


def _register(name: str, min_args: int, max_args: int, differentiable: bool = False):
    return register(
        name,
        min_args=min_args,
        max_args=max_args,
        category=CATEGORY,
        differentiable=differentiable,
        array_result=True,
    )


@_register("MOD", 2, 2, differentiable=True)
def mod(number: Block, divisor: Block) -> Block:
    """MOD(number, divisor) = number - divisor*INT(number/divisor): the sign of the divisor."""
    (n, d), err = numbers(number, divisor)
    zero = d == 0
    safe_d = torch.where(zero, 1.0, d)
    values = n - safe_d * torch.floor(n.detach() / safe_d.detach())
    return _with_errors(values, err, (zero, ErrorCode.DIV0))


@_register("INT", 1, 1)
def int_(number: Block) -> Block:
    """INT(number): rounded down to an integer (INT(-2.5) = -3)."""
    (n,), err = numbers(number)
    return Block(torch.floor(n.detach()), err=err)


def _scaled(n: torch.Tensor, digits: torch.Tensor, fn) -> torch.Tensor:
    """``fn`` applied to |n| at `digits` decimals, sign restored (TRUNC, ROUNDUP, ROUNDDOWN)."""
    scale = torch.pow(torch.full_like(digits, 10.0), torch.trunc(digits))
    return torch.sign(n) * fn(_decimal(n.abs() * scale)) / scale


@_register("TRUNC", 1, 2)
def trunc(number: Block, num_digits: Block | None = None) -> Block:
    """TRUNC(number, [num_digits=0]): cut toward zero at `num_digits` decimals."""
    (n, d), err = numbers(number, num_digits, defaults=(0,))
    return Block(_scaled(n.detach(), d.detach(), torch.floor), err=err)


@_register("ROUNDDOWN", 2, 2)
def rounddown(number: Block, num_digits: Block) -> Block:
    """ROUNDDOWN(number, num_digits): toward zero."""
    return trunc(number, num_digits)


@_register("ROUNDUP", 2, 2)
def roundup(number: Block, num_digits: Block) -> Block:
    """ROUNDUP(number, num_digits): away from zero."""
    (n, d), err = numbers(number, num_digits)
    return Block(_scaled(n.detach(), d.detach(), torch.ceil), err=err)


def _multiple(n: torch.Tensor, sig: torch.Tensor, fn) -> torch.Tensor:
    """``fn(n / sig) * sig`` with sig = 0 giving 0 (callers flag errors themselves)."""
    zero = sig == 0
    safe = torch.where(zero, 1.0, sig)
    return torch.where(zero, 0.0, fn(_decimal(n / safe)) * safe)


@_register("CEILING", 2, 2)
def ceiling(number: Block, significance: Block) -> Block:
    """CEILING(number, significance): up to a multiple; #NUM! for a positive number and a
    negative significance (a negative number with a negative significance rounds away from 0).
    """
    (n, s), err = numbers(number, significance)
    n, s = n.detach(), s.detach()
    return _with_errors(_multiple(n, s, torch.ceil), err, ((n > 0) & (s < 0), ErrorCode.NUM))


@_register("FLOOR", 2, 2)
def floor(number: Block, significance: Block) -> Block:
    """FLOOR(number, significance): down to a multiple; #DIV/0! for significance 0."""
    (n, s), err = numbers(number, significance)
    n, s = n.detach(), s.detach()
    return _with_errors(
        _multiple(n, s, torch.floor),
        err,
        ((n > 0) & (s < 0), ErrorCode.NUM),
        ((s == 0) & (n != 0), ErrorCode.DIV0),
    )


def _math_rounding(number, significance, mode, up: bool) -> Block:
    """CEILING.MATH / FLOOR.MATH: |significance|; `mode` <> 0 flips the rule for negatives."""
    (n, s, m), err = numbers(number, significance, mode, defaults=(1, 0))
    n, s = n.detach(), s.detach().abs()
    toward_zero_for_negatives = (m == 0) if up else (m != 0)
    use_ceil = torch.where(n < 0, toward_zero_for_negatives, torch.full_like(n, up, dtype=bool))
    values = torch.where(use_ceil, _multiple(n, s, torch.ceil), _multiple(n, s, torch.floor))
    return Block(values, err=err)


@register(
    "CEILING.MATH",
    min_args=1,
    max_args=3,
    category=CATEGORY,
    differentiable=False,
    array_result=True,
    aliases=("CEILING.PRECISE", "ISO.CEILING"),
)
def ceiling_math(number: Block, significance: Block | None = None, mode: Block | None = None):
    """CEILING.MATH(number, [significance=1], [mode=0]): up; mode <> 0: negatives away from 0."""
    return _math_rounding(number, significance, mode, up=True)


@register(
    "FLOOR.MATH",
    min_args=1,
    max_args=3,
    category=CATEGORY,
    differentiable=False,
    array_result=True,
    aliases=("FLOOR.PRECISE",),
)
def floor_math(number: Block, significance: Block | None = None, mode: Block | None = None):
    """FLOOR.MATH(number, [significance=1], [mode=0]): down; mode <> 0: negatives toward 0."""
    return _math_rounding(number, significance, mode, up=False)


@_register("MROUND", 2, 2)
def mround(number: Block, multiple: Block) -> Block:
    """MROUND(number, multiple): the nearest multiple, halves away from 0; #NUM! on mixed signs."""
    (n, m), err = numbers(number, multiple, reject_bools=True)
    n, m = n.detach(), m.detach()
    half_away = lambda q: torch.sign(q) * torch.floor(q.abs() + 0.5)
    return _with_errors(_multiple(n, m, half_away), err, ((n * m) < 0, ErrorCode.NUM))


@_register("QUOTIENT", 2, 2)
def quotient(numerator: Block, denominator: Block) -> Block:
    """QUOTIENT(numerator, denominator): the integer part of the division."""
    (n, d), err = numbers(numerator, denominator, reject_bools=True)
    zero = d == 0
    values = torch.trunc(_decimal(n.detach() / torch.where(zero, 1.0, d.detach())))
    return _with_errors(values, err, (zero, ErrorCode.DIV0))


def _parity(number: Block, odd: bool) -> Block:
    (n,), err = numbers(number)
    n = n.detach()
    step = 2.0
    up = torch.ceil(_decimal((n.abs() - (1 if odd else 0)) / step)) * step + (1 if odd else 0)
    values = torch.sign(n) * up
    if odd:
        values = torch.where(n == 0, 1.0, values)
    return Block(values, err=err)


@_register("EVEN", 1, 1)
def even(number: Block) -> Block:
    """EVEN(number): away from zero to an even integer."""
    return _parity(number, odd=False)


@_register("ODD", 1, 1)
def odd(number: Block) -> Block:
    """ODD(number): away from zero to an odd integer (ODD(0) = 1)."""
    return _parity(number, odd=True)


# GCD/LCM: every cell must be a number, in a range too (Excel's saved values: GCD(A1) with A1
# blank, text or TRUE is #VALUE!); text typed as an argument is read as its number.
GCD_ENTRIES = Rule("GCD/LCM entry", Action.VALUE_ERROR, Action.PARSE, Action.VALUE_ERROR)


def _integers(args: tuple[Block, ...]) -> tuple[torch.Tensor, torch.Tensor | None, object]:
    """Every counted number of every argument: ``(b, r, K)``, include mask, errors."""
    parts = read_arguments(args, GCD_ENTRIES, GCD_ENTRIES)
    values = torch.cat([p.num.detach().flatten(-2) for p in parts], dim=-1)
    masks = [
        (torch.ones_like(p.num, dtype=torch.bool) if p.include is None else p.include)
        .expand_as(p.num)
        .flatten(-2)
        for p in parts
    ]
    shapes = torch.broadcast_shapes(*(v.shape[:-1] for v in (values, *masks)))
    include = torch.cat([m.expand(*shapes, m.shape[-1]) for m in masks], dim=-1)
    values = values.expand(*shapes, values.shape[-1])
    err = merge_errors(*(first_error(p.err) for p in parts))
    return values, include, err


def _gcd_lcm(args: tuple[Block, ...], lcm: bool) -> Block:
    values, include, err = _integers(args)
    negative = ((values < 0) & include).any(dim=-1)[..., None, None]
    ints = torch.where(include, torch.trunc(values), 1.0 if lcm else 0.0).to(torch.int64)
    result = ints[..., 0]
    for k in range(1, ints.shape[-1]):
        other = ints[..., k]
        if lcm:
            g = torch.gcd(result, other)
            result = torch.where(g == 0, 0, result // torch.where(g == 0, 1, g) * other)
        else:
            result = torch.gcd(result, other)
    out = result.to(values.dtype)[..., None, None]
    return _with_errors(out, err, (negative, ErrorCode.NUM))


@register("GCD", min_args=1, max_args=255, category=CATEGORY, differentiable=False)
def gcd(*numbers_: Block) -> Block:
    """GCD(number1, ...): the greatest common divisor; #NUM! for a negative number."""
    return _gcd_lcm(numbers_, lcm=False)


@register("LCM", min_args=1, max_args=255, category=CATEGORY, differentiable=False)
def lcm(*numbers_: Block) -> Block:
    """LCM(number1, ...): the least common multiple; #NUM! for a negative number."""
    return _gcd_lcm(numbers_, lcm=True)


@_register("FACT", 1, 1)
def fact(number: Block) -> Block:
    """FACT(number): n! of the truncated number; #NUM! below 0 or above 170."""
    (n,), err = numbers(number)
    n = torch.trunc(n.detach())
    bad = (n < 0) | (n > 170)
    table = _FACTORIALS.to(device=n.device, dtype=n.dtype)
    values = table[torch.where(bad, 0.0, n).long()]
    return _with_errors(values, err, (bad, ErrorCode.NUM))


@_register("FACTDOUBLE", 1, 1)
def factdouble(number: Block) -> Block:
    """FACTDOUBLE(number): n!! = n(n-2)(n-4)…; #NUM! below -1."""
    (n,), err = numbers(number, reject_bools=True)
    bad = n.detach() < -1  # before truncating: FACTDOUBLE(-1.1) is #NUM!, FACTDOUBLE(-1) is 1
    n = torch.trunc(n.detach())
    bad = bad | (n > 300)
    values = torch.ones_like(n)
    for k in range(2, 301):
        values = torch.where((n >= k) & (torch.remainder(n - k, 2) == 0), values * k, values)
    return _with_errors(values, err, (bad, ErrorCode.NUM))


def _log_fact(x: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(x + 1)


@_register("COMBIN", 2, 2)
def combin(number: Block, number_chosen: Block) -> Block:
    """COMBIN(number, number_chosen): n choose k; #NUM! unless 0 <= k <= n."""
    (n, k), err = numbers(number, number_chosen)
    n, k = torch.trunc(n.detach()), torch.trunc(k.detach())
    bad = (n < 0) | (k < 0) | (k > n)
    n, k = torch.where(bad, 1.0, n), torch.where(bad, 0.0, k)
    values = torch.round(torch.exp(_log_fact(n) - _log_fact(k) - _log_fact(n - k)))
    return _with_errors(values, err, (bad, ErrorCode.NUM))


@_register("PERMUT", 2, 2)
def permut(number: Block, number_chosen: Block) -> Block:
    """PERMUT(number, number_chosen): n!/(n-k)!; #NUM! unless 0 <= k <= n."""
    (n, k), err = numbers(number, number_chosen)
    n, k = torch.trunc(n.detach()), torch.trunc(k.detach())
    bad = (n < 0) | (k < 0) | (k > n)
    n, k = torch.where(bad, 1.0, n), torch.where(bad, 0.0, k)
    values = torch.round(torch.exp(_log_fact(n) - _log_fact(n - k)))
    return _with_errors(values, err, (bad, ErrorCode.NUM))


@register("PRODUCT", min_args=1, max_args=255, category=CATEGORY)
def product(*args: Block) -> Block:
    """PRODUCT(number1, ...): the product of all numbers; 0 when there are none (Excel)."""
    parts = read_arguments(args)
    total, count = None, None
    for part in parts:
        sub = part.filled(1.0).prod(dim=-1, keepdim=True).prod(dim=-2, keepdim=True)
        total = sub if total is None else total * sub
        count = part.count() if count is None else count + part.count()
    values = torch.where(count == 0, 0.0, total)
    return Block(values, err=merge_errors(*(first_error(p.err) for p in parts)))


@_register("SQRTPI", 1, 1, differentiable=True)
def sqrtpi(number: Block) -> Block:
    """SQRTPI(number): sqrt(number * pi); #NUM! for a negative number."""
    (n,), err = numbers(number, reject_bools=True)
    bad = n < 0
    values = torch.sqrt(torch.where(bad, 1.0, n) * pymath.pi)
    return _with_errors(values, err, (bad, ErrorCode.NUM))


# RAND and RANDBETWEEN are volatile: Excel draws new numbers at every recalculation. Here they
# are drawn from this generator, seeded once (`seed_volatile`), so a run is reproducible; a
# compiled program folds them once, so a solve sees one fixed draw. One draw serves a whole
# run of RAND() cells that share one formula (the function does not know the run's length).
_GENERATOR = torch.Generator().manual_seed(0)


def seed_volatile(seed: int) -> None:
    """Reseed RAND/RANDBETWEEN (the solver and CLI call this with their --seed)."""
    _GENERATOR.manual_seed(seed)


@register("RAND", min_args=0, max_args=0, category=CATEGORY, differentiable=False)
def rand() -> Block:
    """RAND(): a uniform number in [0, 1) (volatile; see `seed_volatile`)."""
    return Block(torch.rand((1, 1, 1, 1), generator=_GENERATOR, dtype=torch.float64))


@_register("RANDBETWEEN", 2, 2)
def randbetween(bottom: Block, top: Block) -> Block:
    """RANDBETWEEN(bottom, top): a uniform integer in [bottom, top]; #NUM! if bottom > top."""
    (lo, hi), err = numbers(bottom, top)
    lo, hi = torch.ceil(lo.detach()), torch.floor(hi.detach())
    draw = torch.rand(lo.shape, generator=_GENERATOR, dtype=torch.float64).to(lo.dtype)
    values = lo + torch.floor(draw * (hi - lo + 1))
    return _with_errors(values, err, (lo > hi, ErrorCode.NUM))
