"""Information functions: IS* tests, NA, IFNA, ERROR.TYPE, TYPE, N, T.

They read a block's ``kind`` and ``err`` masks directly, so they are as vectorised as the
arithmetic: ``ISNUMBER(A2:A713)`` over a run is a handful of tensor comparisons. A blank cell
is only blank when it comes from a reference (``ISBLANK("")`` is FALSE); an error value is an
answer here, not something that propagates (``ISERROR(1/0)`` is TRUE), except in ISEVEN/ISODD,
N and T, which pass errors on as Excel does.
"""

from __future__ import annotations

import numpy as np
import torch

from xl_lesson3.formula.functions.core.coercion import as_result
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import (
    align,
    error_where,
    kind_constant,
    merge_errors,
    text_array,
)
from xl_lesson3.formula.functions.logical.conditions import choose
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.values import Block, ErrorCode, Kind

CATEGORY = "Information"


def _kind_is(block: Block, kind: Kind) -> torch.Tensor:
    """Per cell: holds `kind` and no error. ``(b, r, R, C)`` bool (kind None means numbers)."""
    if block.kind is None:
        hit = torch.full_like(block.num, kind is Kind.NUMBER, dtype=torch.bool)
    else:
        hit = (block.kind == int(kind)).expand_as(block.num)
    if block.err is not None:
        hit = hit & (block.err == 0)
    return hit


def _errors(block: Block) -> torch.Tensor:
    """Per cell error code as int8 (inf/NaN, which Excel never holds, read as #NUM!)."""
    code = torch.where(torch.isfinite(block.num), 0, int(ErrorCode.NUM)).to(torch.int8)
    return code if block.err is None else torch.where(block.err != 0, block.err, code)


def _boolean(values: torch.Tensor, like: Block, err: torch.Tensor | None = None) -> Block:
    num = values.to(like.num.dtype)
    return Block(num, err=err, kind=kind_constant(Kind.BOOL, num))


def _test(name: str, summary: str, test):
    @register(
        name, min_args=1, max_args=1, category=CATEGORY, differentiable=False, array_result=True
    )
    def function(value: Block) -> Block:
        return _boolean(test(value), value)

    function.__doc__ = summary
    function.__name__ = name.lower().replace(".", "_")
    return function


_test(
    "ISBLANK",
    "ISBLANK(value): TRUE for an empty referenced cell.",
    lambda b: _kind_is(b, Kind.BLANK),
)
_test("ISNUMBER", "ISNUMBER(value): TRUE for a number.", lambda b: _kind_is(b, Kind.NUMBER))
_test("ISTEXT", "ISTEXT(value): TRUE for text.", lambda b: _kind_is(b, Kind.TEXT))
_test("ISNONTEXT", "ISNONTEXT(value): TRUE unless text.", lambda b: ~_kind_is(b, Kind.TEXT))
_test("ISLOGICAL", "ISLOGICAL(value): TRUE for a boolean.", lambda b: _kind_is(b, Kind.BOOL))
_test("ISERROR", "ISERROR(value): TRUE for any error value.", lambda b: _errors(b) != 0)
_test(
    "ISERR",
    "ISERR(value): TRUE for any error value but #N/A.",
    lambda b: (_errors(b) != 0) & (_errors(b) != int(ErrorCode.NA)),
)
_test("ISNA", "ISNA(value): TRUE for #N/A.", lambda b: _errors(b) == int(ErrorCode.NA))


def _parity(value: Block, odd: bool) -> Block:
    """ISEVEN/ISODD: the number truncated to an integer; booleans and text are #VALUE!."""
    (number,), err = numbers(value, reject_bools=True)
    remainder = torch.remainder(torch.trunc(number.detach()), 2)
    return _boolean(remainder == (1 if odd else 0), value, err)


@register(
    "ISEVEN", min_args=1, max_args=1, category=CATEGORY, differentiable=False, array_result=True
)
def iseven(number: Block) -> Block:
    """ISEVEN(number): TRUE when the truncated number is even."""
    return _parity(number, odd=False)


@register(
    "ISODD", min_args=1, max_args=1, category=CATEGORY, differentiable=False, array_result=True
)
def isodd(number: Block) -> Block:
    """ISODD(number): TRUE when the truncated number is odd."""
    return _parity(number, odd=True)


@register("NA", min_args=0, max_args=0, category=CATEGORY, differentiable=False)
def na() -> Block:
    """NA(): the #N/A error value."""
    return Block.error(ErrorCode.NA)


@register("IFNA", min_args=2, max_args=2, category=CATEGORY, array_result=True)
def ifna(value: Block, value_if_na: Block) -> Block:
    """IFNA(value, value_if_na): `value_if_na` where `value` is #N/A, else `value`."""
    value, value_if_na = align(value, value_if_na)
    if value.err is None:
        return as_result(value)
    is_na = value.err == int(ErrorCode.NA)
    kept = value.with_(err=torch.where(is_na, 0, value.err).to(torch.int8))
    return as_result(choose(is_na, value_if_na, kept))


@register(
    "ERROR.TYPE", min_args=1, max_args=1, category=CATEGORY, differentiable=False, array_result=True
)
def error_type(error_val: Block) -> Block:
    """ERROR.TYPE(error_val): 1 #NULL!, 2 #DIV/0!, 3 #VALUE!, 4 #REF!, 5 #NAME?, 6 #NUM!, 7 #N/A.

    Our `ErrorCode` numbers are Excel's; a value that is not an error gives #N/A.
    """
    codes = _errors(error_val)
    values = codes.to(error_val.num.dtype)
    return Block(values, err=error_where(codes == 0, ErrorCode.NA))


@register("TYPE", min_args=1, max_args=1, category=CATEGORY, differentiable=False)
def type_(value: Block) -> Block:
    """TYPE(value): 1 number (and blank), 2 text, 4 boolean, 16 error, 64 array, 128 a function
    value (a LAMBDA or ``_xleta.SUM``)."""
    from xl_lesson3.formula.functions.core.function_values import is_function_value

    if is_function_value(value):
        return Block.scalar(128.0)
    like = value.num
    if not value.is_scalar:
        return Block(torch.full((1, 1, 1, 1), 64.0, dtype=like.dtype, device=like.device))
    codes = torch.ones_like(like)
    if value.kind is not None:
        table = torch.tensor([1.0, 4.0, 2.0, 1.0], dtype=like.dtype, device=like.device)
        codes = table[value.kind.long()].expand_as(like)
    return Block(torch.where(_errors(value) != 0, 16.0, codes))


def _first_cell(value: Block) -> Block:
    """N and T do not lift over a reference: given several cells they read the top-left one,
    in array formulas too (Excel's saved values, formulas' test.xlsx INFORMATION!AH19:AW19
    ``{=N(C19:Q19)}`` and TEXT!AH42 ``{=T(I42:Q42)}``); arrays still go cell by cell."""
    if not value.from_reference or value.shape == (1, 1):
        return value

    def cut(tensor):
        return None if tensor is None else tensor[..., :1, :1]

    text = None if value.text is None else np.asarray(value.text)[..., :1, :1]
    return value.with_(num=cut(value.num), err=cut(value.err), kind=cut(value.kind), text=text)


@register("N", min_args=1, max_args=1, category=CATEGORY)
def n(value: Block) -> Block:
    """N(value): a number as itself, TRUE as 1, text and blanks as 0; errors pass on."""
    value = _first_cell(value)
    if value.kind is None:
        return Block(value.num, err=value.err)
    keep = (value.kind == int(Kind.NUMBER)) | (value.kind == int(Kind.BOOL))
    return Block(torch.where(keep, value.num, 0.0), err=value.err)


@register("T", min_args=1, max_args=1, category=CATEGORY, differentiable=False)
def t(value: Block) -> Block:
    """T(value): text as itself, anything else as empty text; errors pass on."""
    value = _first_cell(value)
    num = torch.zeros_like(value.num.detach())
    is_text = _kind_is(value, Kind.TEXT)[0].cpu().numpy()
    texts = np.where(is_text, text_array(value), "").astype(object)
    return Block(num, err=merge_errors(value.err), kind=kind_constant(Kind.TEXT, num), text=texts)
