"""This project's own functions, the names its xlwings UDFs give Excel.

They are registered here so that a workbook that uses them compiles like any other. Office.js
writes them with a namespace (``XLWINGS.RELU``), files with ``_xludf.``; `registry` strips both.
The formulas are ours, not Excel's, so they are spelled out in each docstring.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import to_number
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import error_where, first_error, merge_errors
from xl_lesson3.formula.functions.math.aggregate import sumproduct
from xl_lesson3.formula.functions.math.elementwise import elementwise
from xl_lesson3.formula.functions.math.matrix import mmult
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "xl-lesson3"
# Where log(p) is clamped in TORCH_LOGLOSS, as torch.nn.functional.binary_cross_entropy does.
LOG_FLOOR = -100.0


def _relu(x: torch.Tensor) -> torch.Tensor:
    # where, not torch.maximum(x, 0): maximum splits the gradient of a tie (x = 0 gets 0.5);
    # where gives 0 there, as torch.relu does.
    return torch.where(x > 0, x, 0.0)


@register("RELU", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def relu(number: Block) -> Block:
    """RELU(x) = max(x, 0), cell by cell; gradient 1 for x > 0 and 0 for x <= 0."""
    return elementwise(number, _relu)


@register("SIGMOID", min_args=1, max_args=1, category=CATEGORY, array_result=True)
def sigmoid(number: Block) -> Block:
    """SIGMOID(x) = 1 / (1 + exp(-x)), cell by cell (torch.sigmoid: no overflow for large -x)."""
    return elementwise(number, torch.sigmoid)


@register("TORCH_SUMPRODUCT", min_args=1, max_args=255, category=CATEGORY)
def torch_sumproduct(*arrays: Block) -> Block:
    """TORCH_SUMPRODUCT(array1, ...): exactly SUMPRODUCT."""
    return sumproduct(*arrays)


@register("TORCH_MMULT", min_args=2, max_args=2, category=CATEGORY, array_result=True)
def torch_mmult(array1: Block, array2: Block) -> Block:
    """TORCH_MMULT(array1, array2): exactly MMULT."""
    return mmult(array1, array2)


def _paired(pred: Block, target: Block) -> tuple[Block, Block] | Block:
    """Both arrays as numbers (ARITHMETIC rule), or #VALUE! when their shapes differ."""
    if pred.shape != target.shape:
        return Block.error(ErrorCode.VALUE, dtype=pred.num.dtype, device=pred.num.device)
    return to_number(pred), to_number(target)


@register("TORCH_MSE", min_args=2, max_args=2, category=CATEGORY)
def torch_mse(pred: Block, target: Block) -> Block:
    """TORCH_MSE(pred, target) = mean over all cells of (pred - target)².

    Both ranges must have the same shape (else #VALUE!); cells are read as arithmetic reads
    them (TRUE = 1, blank = 0, text that is not a number is #VALUE!); errors propagate.
    """
    pair = _paired(pred, target)
    if isinstance(pair, Block):
        return pair
    p, t = pair
    diff = p.num - t.num
    values = (diff * diff).mean(dim=(-2, -1), keepdim=True)
    return Block(values, err=merge_errors(first_error(p.err), first_error(t.err)))


def _safe_log(x: torch.Tensor) -> torch.Tensor:
    """max(ln x, -100) for x in [0, 1], with a finite gradient at x = 0 (double where)."""
    positive = x > 0
    return torch.where(positive, torch.log(torch.where(positive, x, 1.0)), LOG_FLOOR).clamp(
        min=LOG_FLOOR
    )


@register("TORCH_LOGLOSS", min_args=2, max_args=2, category=CATEGORY)
def torch_logloss(pred: Block, target: Block) -> Block:
    """TORCH_LOGLOSS(pred, target) = mean over all cells of -(t·ln p + (1-t)·ln(1-p)).

    The mean binary cross-entropy of probabilities `pred` against 0/1 (or soft) targets, as
    torch.nn.functional.binary_cross_entropy computes it: each log is clamped at -100, so a
    saturated prediction (p = 1.0 exactly) costs 100, not #NUM!. p outside [0, 1] is #NUM!;
    shapes must match (else #VALUE!); cells are read as arithmetic reads them.
    """
    pair = _paired(pred, target)
    if isinstance(pair, Block):
        return pair
    p, t = pair
    outside = (p.num < 0) | (p.num > 1)
    prob = torch.where(outside, 0.5, p.num)
    losses = -(t.num * _safe_log(prob) + (1 - t.num) * _safe_log(1 - prob))
    values = losses.mean(dim=(-2, -1), keepdim=True)
    err = merge_errors(
        first_error(p.err), first_error(t.err), first_error(error_where(outside, ErrorCode.NUM))
    )
    return Block(values, err=err)
