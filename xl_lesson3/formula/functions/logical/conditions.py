"""Logical functions: IF, IFERROR, IFS, SWITCH, AND, OR, XOR, NOT, TRUE, FALSE.

IF and IFERROR are not lazy: a vectorised run of ``IF(A2>0, ..., ...)`` picks a different branch
in different cells, so both branches are computed for the whole run and one ``torch.where``
chooses per cell. ``where`` (not a blend like ``c*a + (1-c)*b``) is what keeps gradients sane:
its backward sends the gradient only to the chosen branch, so a branch that is inf or NaN in
cells where it is not chosen adds nothing. Functions that can blow up (SQRT, LN, ``/``) also
guard their own inputs ("double where"), so their backward never meets ``0 * inf`` either.
"""

from __future__ import annotations

import numpy as np
import torch

from xl_lesson3.formula.functions.core.coercion import (
    CONDITION,
    LOGICAL_DIRECT,
    LOGICAL_RANGE,
    as_result,
    coerce,
)
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import (
    align,
    error_where,
    first_error,
    is_plain,
    kind_constant,
    merge_errors,
    same_for_every_restart,
    select,
    text_array,
)
from xl_lesson3.formula.functions.math.aggregate import read_arguments
from xl_lesson3.formula.values import Block, ErrorCode, Kind

CATEGORY = "Logical"


def false_block(like: Block) -> Block:
    """The boolean FALSE as a (1, 1, 1, 1) block with `like`'s dtype and device."""
    num = torch.zeros((1, 1, 1, 1), dtype=like.num.dtype, device=like.num.device)
    return Block(num, kind=kind_constant(Kind.BOOL, num))


def choose(chosen: torch.Tensor, first: Block, second: Block) -> Block:
    """Cell by cell, `first` where `chosen` is true and `second` elsewhere (blocks aligned)."""
    num = torch.where(chosen, first.num, second.num)
    kind = select(chosen, first.kind, second.kind)
    text = None
    if first.text is not None or second.text is not None:
        picks = same_for_every_restart(chosen.expand_as(num), "the branch IF chooses")
        text = np.where(picks, text_array(first), text_array(second))
    return Block(num, err=select(chosen, first.err, second.err), kind=kind, text=text)


@register("IF", min_args=2, max_args=3, category=CATEGORY, array_result=True)
def if_(condition: Block, value_if_true: Block, value_if_false: Block | None = None) -> Block:
    """IF(logical_test, value_if_true, [value_if_false]); a missing else gives FALSE.

    The test reads numbers as ``<> 0``, blank as FALSE, the text "TRUE"/"FALSE" as booleans
    and other text as #VALUE!; an error in the test is the result.
    """
    if value_if_false is None:
        value_if_false = false_block(value_if_true)
    condition, value_if_true, value_if_false = align(condition, value_if_true, value_if_false)
    test = coerce(condition, CONDITION)
    chosen = test.num != 0
    if test.err is None and is_plain(value_if_true, value_if_false):
        return Block(torch.where(chosen, value_if_true.num, value_if_false.num))
    result = choose(chosen, value_if_true, value_if_false)
    return as_result(result.with_(err=merge_errors(test.err, result.err)))


@register("IFERROR", min_args=2, max_args=2, category=CATEGORY, array_result=True)
def iferror(value: Block, value_if_error: Block) -> Block:
    """IFERROR(value, value_if_error): `value_if_error` in the cells where `value` is an error.

    inf and NaN count as errors too (#NUM! in Excel, which never holds them), e.g. an
    overflowing ``1E300*1E300``, which the fast path of ``*`` does not flag.
    """
    value, value_if_error = align(value, value_if_error)
    failed = ~torch.isfinite(value.num)
    if value.err is not None:
        failed = failed | (value.err != 0)
    return as_result(choose(failed, value_if_error, value.with_(err=None)))


def _logical(args: tuple[Block, ...], want_all: bool, odd: bool = False) -> Block:
    """AND (`want_all`), OR, or XOR (`odd`) over every counted value; #VALUE! if none counts."""
    parts = read_arguments(args, LOGICAL_RANGE, LOGICAL_DIRECT)
    hits = None
    counted = None
    like = args[0].num
    for part in parts:
        match = (part.num == 0) if want_all else (part.num != 0)
        match = match.detach()
        if part.include is not None:
            match = match & part.include
        n_hits = match.to(like.dtype).sum(dim=(-2, -1), keepdim=True)
        hits = n_hits if hits is None else hits + n_hits
        n_counted = part.count()
        counted = n_counted if counted is None else counted + n_counted
    if odd:
        values = torch.remainder(hits, 2) == 1
    else:
        values = (hits == 0) if want_all else (hits > 0)
    err = merge_errors(
        *(first_error(part.err) for part in parts), error_where(counted == 0, ErrorCode.VALUE)
    )
    return Block(values.to(like.dtype), err=err, kind=kind_constant(Kind.BOOL, like))


@register("AND", min_args=1, max_args=255, category=CATEGORY, differentiable=False)
def and_(*args: Block) -> Block:
    """AND(logical1, ...): TRUE when every value is TRUE (non-zero); ranges skip text/blanks."""
    return _logical(args, want_all=True)


@register("OR", min_args=1, max_args=255, category=CATEGORY, differentiable=False)
def or_(*args: Block) -> Block:
    """OR(logical1, ...): TRUE when any value is TRUE (non-zero); ranges skip text/blanks."""
    return _logical(args, want_all=False)


@register("NOT", min_args=1, max_args=1, category=CATEGORY, differentiable=False, array_result=True)
def not_(logical: Block) -> Block:
    """NOT(logical): elementwise negation; blank is FALSE so NOT(blank) is TRUE."""
    test = coerce(logical, CONDITION)
    values = (test.num == 0).to(logical.num.dtype)
    return Block(values, err=test.err, kind=kind_constant(Kind.BOOL, values))


@register("XOR", min_args=1, max_args=254, category=CATEGORY, differentiable=False)
def xor(*args: Block) -> Block:
    """XOR(logical1, ...): TRUE when an odd number of values are TRUE."""
    return _logical(args, want_all=False, odd=True)


@register("TRUE", min_args=0, max_args=0, category=CATEGORY, differentiable=False)
def true() -> Block:
    """TRUE(): the boolean TRUE."""
    num = torch.ones((1, 1, 1, 1), dtype=torch.float64)
    return Block(num, kind=kind_constant(Kind.BOOL, num))


@register("FALSE", min_args=0, max_args=0, category=CATEGORY, differentiable=False)
def false() -> Block:
    """FALSE(): the boolean FALSE."""
    return false_block(Block(torch.zeros((1, 1, 1, 1), dtype=torch.float64)))


def _first_match(tests: list[tuple[Block, Block]], fallback: Block) -> Block:
    """Cell by cell, the value of the first test that holds, else `fallback`.

    Each test is (condition, value); a condition's error is the result where it is reached.
    Built back to front, so an earlier test overrides a later one with one where per test.
    """
    result = fallback
    for condition, value in reversed(tests):
        condition, value, result = align(condition, value, result)
        test = coerce(condition, CONDITION)
        result = choose(test.num.detach() != 0, value, result)
        if test.err is not None:
            failed = test.err != 0
            result = choose(failed, Block(torch.zeros_like(test.num), err=test.err), result)
    return as_result(result)


def _switch_match(expression: Block, value: Block, equal) -> Block:
    """``=`` with blanks read as the number 0: Excel's saved values show SWITCH matching a
    blank to 0 but to neither FALSE nor "" (where ``=`` would say TRUE for both).
    """
    return equal(as_result(expression), as_result(value))


@register("IFS", min_args=2, max_args=254, category=CATEGORY, array_result=True)
def ifs(*args: Block) -> Block:
    """IFS(test1, value1, ...): the value of the first TRUE test; #N/A when none holds."""
    if len(args) % 2:
        return Block.error(ErrorCode.NA)
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
    return _first_match(pairs, Block.error(ErrorCode.NA, dtype=args[0].num.dtype))


@register("SWITCH", min_args=3, max_args=254, category=CATEGORY, array_result=True)
def switch(expression: Block, *cases: Block) -> Block:
    """SWITCH(expression, value1, result1, ..., [default]): the result of the first value
    equal to `expression` (``=``'s rules, text case-insensitive, a blank read as 0); else the
    default or #N/A.
    """
    from xl_lesson3.formula.functions.core.comparison import COMPARISONS

    default = cases[-1] if len(cases) % 2 else Block.error(ErrorCode.NA)
    pairs = [
        (_switch_match(expression, cases[i], COMPARISONS["="]), cases[i + 1])
        for i in range(0, len(cases) - 1, 2)
    ]
    result = _first_match(pairs, default)
    if expression.err is None:
        return result
    expression, result = align(expression, result)
    failed = expression.err != 0
    return as_result(
        choose(failed, Block(torch.zeros_like(expression.num), err=expression.err), result)
    )
