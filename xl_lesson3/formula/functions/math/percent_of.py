"""PERCENTOF: the share a subset's sum makes of a whole's sum (mostly GROUPBY's and PIVOTBY's).

Microsoft documents it as ``SUM(data_subset)/SUM(data_all)``, and the numbers agree: text,
booleans and blanks in references count for nothing. Errors do not: where either argument holds
an error, Excel's saved values (formulas' test.xlsx, ``MATH & TRIG`` row 49) show ``#NUM!``
whatever the error was. A whole that sums to 0 is ``#DIV/0!``. Differentiable, like SUM.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import error_where, merge_errors
from xl_lesson3.formula.functions.math.aggregate import sum_
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Math & Trig"


@register("PERCENTOF", min_args=2, max_args=2, category=CATEGORY)
def percentof(data_subset: Block, data_all: Block) -> Block:
    """PERCENTOF(data_subset, data_all): SUM(data_subset) / SUM(data_all)."""
    part, whole = sum_(data_subset), sum_(data_all)
    zero = whole.num == 0
    share = part.num / torch.where(zero, torch.ones_like(whole.num), whole.num)  # no 0/0 grad
    err = merge_errors(part.err, whole.err)
    if err is not None:
        err = error_where(err != 0, ErrorCode.NUM)
    err = merge_errors(err, error_where(zero, ErrorCode.DIV0))
    share = torch.where(err != 0, torch.zeros_like(share), share)
    return Block(share, err=err)
