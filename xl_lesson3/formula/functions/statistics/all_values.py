"""Statistics that count text and booleans in ranges: AVERAGEA, MAXA, MINA, VARA, VARPA,
STDEVA, STDEVPA.

Excel's rule for these: in a reference or array, TRUE is 1, FALSE and any text are 0 and count
as values, blanks are skipped; a direct argument is read as SUM reads it (TRUE is 1, "3" is 3,
"a" is #VALUE!). Otherwise they are AVERAGE, MAX, MIN, VAR.S, VAR.P, STDEV.S and STDEV.P, and
share their tensor code (`descriptive.sample`).
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.coercion import DIRECT_NUMBERS, Action, Rule
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.math.elementwise import _sqrt
from xl_lesson3.formula.functions.math.rounding import _with_errors
from xl_lesson3.formula.functions.statistics.descriptive import _squares, sample
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Statistical"

# In a range: booleans are their 1/0, text is 0, blanks are left out.
RANGE_VALUES = Rule("values in a range (the A functions)", Action.KEEP, Action.ZERO, Action.SKIP)


def _sample(args):
    return sample(args, RANGE_VALUES, DIRECT_NUMBERS)


@register("AVERAGEA", min_args=1, max_args=255, category=CATEGORY)
def averagea(*args: Block) -> Block:
    """AVERAGEA(value1, ...): the mean, text and FALSE as 0, TRUE as 1; #DIV/0! when empty."""
    values, include, count, err = _sample(args)
    empty = count == 0
    total = torch.where(include, values, 0.0).sum(dim=-1)[..., None, None]
    return _with_errors(total / torch.where(empty, 1.0, count), err, (empty, ErrorCode.DIV0))


def _extreme(args, largest: bool) -> Block:
    values, include, count, err = _sample(args)
    fill = float("-inf") if largest else float("inf")
    filled = torch.where(include, values, fill)
    best = (filled.amax(dim=-1) if largest else filled.amin(dim=-1))[..., None, None]
    return Block(torch.where(count == 0, 0.0, best), err=err)


@register("MAXA", min_args=1, max_args=255, category=CATEGORY)
def maxa(*args: Block) -> Block:
    """MAXA(value1, ...): the largest value, text and FALSE as 0, TRUE as 1; 0 when empty."""
    return _extreme(args, largest=True)


@register("MINA", min_args=1, max_args=255, category=CATEGORY)
def mina(*args: Block) -> Block:
    """MINA(value1, ...): the smallest value, text and FALSE as 0, TRUE as 1; 0 when empty."""
    return _extreme(args, largest=False)


def _register_spread(name: str, sample_: bool, root: bool):
    @register(name, min_args=1, max_args=255, category=CATEGORY)
    def function(*args: Block) -> Block:
        values, include, count, err = _sample(args)
        few = count <= (1 if sample_ else 0)
        var = _squares(values, include, count) / torch.where(few, 1.0, count - int(sample_))
        return _with_errors(_sqrt(var) if root else var, err, (few, ErrorCode.DIV0))

    kind = "sample" if sample_ else "population"
    what = "standard deviation" if root else "variance"
    function.__doc__ = (
        f"{name}(value1, ...): the {kind} {what}, text and FALSE as 0, TRUE as 1; #DIV/0! with"
        " too few values."
    )
    function.__name__ = name.lower()
    return function


_register_spread("VARA", True, False)
_register_spread("VARPA", False, False)
_register_spread("STDEVA", True, True)
_register_spread("STDEVPA", False, True)
