"""Matrix functions beyond the product: MUNIT, MINVERSE and MDETERM.

MINVERSE and MDETERM are ``torch.linalg`` over the last two dims, batched over
``(batch, run)`` and differentiable. Excel's rules: a matrix that is not square, or that holds
text, a boolean or a blank, is #VALUE! as a whole; an error entry makes the whole result the
first error in row-major order (whichever comes first of it and a non-number); a singular
matrix has no inverse (#NUM!) and determinant 0.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import MATRIX_ENTRIES, coerce
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import error_where, first_error, merge_errors
from xl_lesson3.formula.functions.math.rounding import _with_errors, numbers
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Math & Trig"


def _square(array: Block) -> tuple[torch.Tensor, torch.Tensor | None] | Block:
    """The matrix's numbers ``(b, r, n, n)`` and its one error ``(b, r, 1, 1)``, or #VALUE!."""
    rows, cols = array.shape
    if rows != cols:
        return Block.error(ErrorCode.VALUE, dtype=array.num.dtype, device=array.num.device)
    entries = coerce(array, MATRIX_ENTRIES)
    return entries.num, first_error(entries.err)


@register("MDETERM", min_args=1, max_args=1, category=CATEGORY)
def mdeterm(array: Block) -> Block:
    """MDETERM(array): the determinant of a square matrix."""
    square = _square(array)
    if isinstance(square, Block):
        return square
    values, err = square
    if err is not None:
        values = torch.where(
            err != 0, torch.eye(values.shape[-1], dtype=values.dtype, device=values.device), values
        )
    det = torch.linalg.det(values)[..., None, None]
    return Block(det if err is None else torch.where(err != 0, 0.0, det), err=err)


@register("MINVERSE", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def minverse(array: Block) -> Block:
    """MINVERSE(array): the inverse of a square matrix; #NUM! when it is singular."""
    square = _square(array)
    if isinstance(square, Block):
        return square
    values, err = square
    n = values.shape[-1]
    eye = torch.eye(n, dtype=values.dtype, device=values.device)
    det = torch.linalg.det(values.detach())[..., None, None]
    singular = det == 0
    bad = singular if err is None else singular | (err != 0)
    # a singular or erroneous matrix is swapped for the identity so the solve stays finite
    safe = torch.where(bad, eye, values)
    inverse = torch.linalg.inv(safe)
    return _with_errors(inverse, err, (singular.expand_as(inverse), ErrorCode.NUM))


@register(
    "MUNIT", min_args=1, max_args=1, category=CATEGORY, differentiable=False, array_result=True
)
def munit(dimension: Block) -> Block:
    """MUNIT(dimension): the identity matrix of that size (truncated); #VALUE! below 1.

    Given an array of sizes, each cell shows the top-left of its identity matrix (1), as
    Excel's lifted array formula does. Within a run of cells of different sizes, the smaller
    identities are padded with #N/A, as an array formula's extra cells are.
    """
    (n,), err = numbers(dimension)
    n = torch.trunc(n.detach())
    bad = n < 1
    if not dimension.is_scalar:
        return _with_errors(torch.ones_like(n), err, (bad, ErrorCode.VALUE))
    size = int(n.clamp(min=1).max())
    index = torch.arange(size, dtype=n.dtype, device=n.device)
    eye = (index[:, None] == index[None, :]).to(n.dtype)  # (size, size)
    outside = (index[:, None] >= n) | (index[None, :] >= n)  # (b, r, size, size)
    errs = merge_errors(err, error_where(bad, ErrorCode.VALUE), error_where(outside, ErrorCode.NA))
    return Block(torch.where(errs != 0, 0.0, eye.expand_as(outside)), err=errs)
