"""Matrix functions: MMULT and TRANSPOSE, on the last two dims of a block.

MMULT is ``torch.matmul`` over ``(rows, cols)``, batched over ``(batch, run)`` for free. Excel's
rules, which LibreOffice shares: the inner sizes must agree, else the whole result is #VALUE!;
any text, boolean or blank entry makes the whole result #VALUE! (LibreOffice reads booleans as
numbers there); an error entry spoils only the result cells whose dot product uses it, and
such a cell shows the first error of its row of the left matrix, else of its column of the right.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import MATRIX_ENTRIES, as_result, coerce
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import (
    error_where,
    first_error_along,
    is_plain,
    merge_errors,
    text_array,
)
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Math & Trig"


@register("MMULT", min_args=2, max_args=2, category=CATEGORY, array_result=True)
def mmult(array1: Block, array2: Block) -> Block:
    """MMULT(array1, array2): the matrix product, ``(n, k) @ (k, m) -> (n, m)``."""
    if array1.shape[1] != array2.shape[0]:
        return Block.error(ErrorCode.VALUE, dtype=array1.num.dtype, device=array1.num.device)
    if is_plain(array1, array2):
        return Block(_matmul(array1.num, array2.num))
    left, right = coerce(array1, MATRIX_ENTRIES), coerce(array2, MATRIX_ENTRIES)
    values = _matmul(left.num, right.num)
    err = None
    if left.err is not None or right.err is not None:
        non_numeric = _any_non_numeric(array1, array2)  # (b, r, 1, 1) bool
        row_err = first_error_along(left.err, dim=-1)  # (b, r, n, 1)
        col_err = first_error_along(right.err, dim=-2)  # (b, r, 1, m)
        err = merge_errors(error_where(non_numeric, ErrorCode.VALUE), row_err, col_err)
        err = err.expand(*torch.broadcast_shapes(err.shape, values.shape))
    return Block(values, err=err)


def _matmul(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """``left @ right`` over the last two dims, without copying a shared constant per restart.

    The lesson's MMULT is constant data ``(1, 1, n, k)`` times parameters ``(restarts, 1, k, m)``.
    ``torch.matmul`` would expand the data to every restart and run a batched product; transposing
    puts the 2-D operand on the right, where matmul folds all batch dims into one matrix product.
    """
    if left.shape[:-2].numel() == 1 and right.shape[:-2].numel() > 1:
        data = left.reshape(left.shape[-2:])
        return torch.matmul(right.transpose(-1, -2), data.transpose(-1, -2)).transpose(-1, -2)
    return torch.matmul(left, right)


def _any_non_numeric(*arrays: Block) -> torch.Tensor:
    """Per (batch, run): does any array hold text, a boolean or a blank?"""
    flags = [
        (a.kind != 0).flatten(-2).any(-1)[..., None, None] for a in arrays if a.kind is not None
    ]
    if not flags:
        return torch.zeros((1, 1, 1, 1), dtype=torch.bool, device=arrays[0].num.device)
    out = flags[0]
    for flag in flags[1:]:
        out = out | flag
    return out


@register("TRANSPOSE", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def transpose(array: Block) -> Block:
    """TRANSPOSE(array): rows become columns; a blank entry becomes 0."""

    def swap(tensor):
        return None if tensor is None else tensor.transpose(-1, -2)

    text = None if array.text is None else text_array(array).swapaxes(-1, -2)
    return as_result(Block(swap(array.num), swap(array.err), swap(array.kind), text))
