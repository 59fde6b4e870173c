"""Functions as values: what a LAMBDA evaluates to, and what ``_xleta.SUM`` names.

Excel 365 passes functions to GROUPBY, PIVOTBY, MAP, REDUCE, SCAN, BYROW, BYCOL and MAKEARRAY,
either as a ``LAMBDA(x, …)`` or eta-reduced as a bare built-in name (stored in the file as
``_xleta.SUM``). Both become a `FunctionValue`: a function implementation receives it as the
argument itself (not a `Block`) and calls it with `Block` arguments. A cell whose formula ends in a
function value shows ``#CALC!`` in Excel; `is_function_value` lets callers check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xl_lesson3.formula.values import Block


@dataclass(frozen=True)
class FunctionValue:
    """A callable spreadsheet value. ``name``: the built-in's name or ``"LAMBDA"``, for messages.

    ``min_args``/``max_args``: how many arguments ``call`` accepts (None: no upper limit).
    """

    name: str
    call: Callable[..., Block]
    min_args: int = 0
    max_args: int | None = None

    def __call__(self, *args: Block) -> Block:
        return self.call(*args)


def is_function_value(value: object) -> bool:
    """True for a LAMBDA or an eta-reduced built-in passed as a value."""
    return isinstance(value, FunctionValue)
