"""SUBTOTAL(function_num, ref1, ...): one of eleven aggregates, chosen by number.

1-11 (and 101-111) are AVERAGE, COUNT, COUNTA, MAX, MIN, PRODUCT, STDEV, STDEVP, SUM, VAR, VARP;
each is the registered function itself, so SUBTOTAL is exactly as vectorised and as
differentiable as that function. Two refinements of Excel's are not modelled: 101-111 skip rows
a user hid (hidden rows are presentation, which the workbook model does not keep), and cells of
the references that hold SUBTOTAL formulas themselves are not left out.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import lookup, register
from xl_lesson3.formula.functions.core.shapes import merge_errors
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Math & Trig / Statistical"
BY_NUMBER = {
    1: "AVERAGE", 2: "COUNT", 3: "COUNTA", 4: "MAX", 5: "MIN", 6: "PRODUCT", 7: "STDEV",
    8: "STDEVP", 9: "SUM", 10: "VAR", 11: "VARP",
}  # fmt: skip


@register("SUBTOTAL", min_args=2, max_args=255, category=CATEGORY)
def subtotal(function_num: Block, *refs: Block) -> Block:
    """SUBTOTAL(function_num, ref1, ...): AVERAGE (1) … VARP (11) of the references; 101-111
    the same (hidden rows are not modelled). #VALUE! for another number."""
    (number,), err = numbers(function_num)
    number = torch.trunc(number.detach())
    kinds = torch.where(number > 100, number - 100, number)
    valid = (kinds >= 1) & (kinds <= 11)
    present = sorted({int(k) for k in torch.unique(kinds[valid]).tolist()})
    result = None
    for k in present:  # usually one; a run of formulas may choose several
        value = lookup(BY_NUMBER[k]).impl(*refs)
        result = value if result is None else _where(kinds == k, value, result)
    if result is None:
        return Block.error(ErrorCode.VALUE, dtype=function_num.num.dtype)
    bad = torch.where(valid, 0, int(ErrorCode.VALUE)).to(torch.int8)
    code = merge_errors(err, bad)
    shape = torch.broadcast_shapes(result.num.shape, code.shape)
    code = code.expand(shape)
    old = result.err if result.err is not None else torch.zeros((), dtype=torch.int8)
    new_err = torch.where(code != 0, code, old.expand(shape))
    num = torch.where(code != 0, torch.zeros((), dtype=result.num.dtype), result.num.expand(shape))
    return result.with_(num=num, err=new_err if bool((new_err != 0).any()) else result.err)


def _where(mask: torch.Tensor, chosen: Block, other: Block) -> Block:
    from xl_lesson3.formula.functions.logical.conditions import choose

    return choose(mask, chosen, other)
