"""Functions as values: what a LAMBDA evaluates to, and what ``_xleta.SUM`` names.

Excel 365 passes functions to GROUPBY, PIVOTBY, MAP, REDUCE, SCAN, BYROW, BYCOL and MAKEARRAY,
either as a ``LAMBDA(x, …)`` or eta-reduced as a bare built-in name (stored in the file as
``_xleta.SUM``). Both become a `FunctionValue`: a function implementation receives it as the
argument itself (not a `Block`) and calls it with `Block` arguments. A cell whose formula ends in a
function value shows ``#CALC!`` in Excel; `is_function_value` lets callers check.

How a registered function receives one:

- register it with ``takes_functions=True`` (``@register("BYROW", ..., takes_functions=True)``);
  any other function handed a function value gets ``#VALUE!`` without being called;
- the argument arrives as the `FunctionValue` itself; call it with `call_function(fn, *blocks)`,
  which returns ``#VALUE!`` when the count is not one `fn` accepts (Excel's rule for LAMBDA), or
  plainly as ``fn(*blocks)`` once the count is known to fit. Each block keeps the run's leading
  ``(batch, run)`` dims: a formula copied down a column calls the function once for the whole run;
- an argument position that may hold either a value or a function (e.g. GROUPBY's function
  argument, which also accepts an array of functions in Excel) checks `is_function_value`;
- the engine (`compile.lambdas`) makes ``_xleta.SUM`` a function value that calls SUM as a
  formula would, with the registry's arity; `builtin_function("SUM")` is the same for code that
  needs one directly (registered implementations only: not ROWS, OFFSET, ... which the engine
  lowers itself).

Functions that take function values are evaluated in Python, not differentiated: register them
``differentiable=False``; the compiler refuses them where the changing cells flow into them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from xl_lesson3.formula.values import Block, ErrorCode


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


def accepts(fn: FunctionValue, n_args: int) -> bool:
    """True when `fn` can be called with `n_args` arguments."""
    return fn.min_args <= n_args and (fn.max_args is None or n_args <= fn.max_args)


def call_function(fn: FunctionValue, *args: Block) -> Block:
    """``fn(*args)``, or ``#VALUE!`` when `fn` takes another number of arguments (as Excel)."""
    if not accepts(fn, len(args)):
        like = args[0].num if args else torch.zeros((), dtype=torch.float64)
        return Block.error(ErrorCode.VALUE, dtype=like.dtype, device=like.device)
    return fn.call(*args)


def builtin_function(name: str, where: str = "") -> FunctionValue:
    """The registered function `name` as a value (``_xleta.SUM``); unknown names raise the
    registry's located `UnsupportedFunctionError`."""
    from xl_lesson3.formula.functions.core import registry

    spec = registry.lookup(name, where)
    if spec.lazy:

        def call(*blocks: Block) -> Block:
            return spec.impl(*(_thunk(block) for block in blocks))

    else:
        call = spec.impl
    return FunctionValue(spec.name, call, spec.min_args, spec.max_args)


def _thunk(block: Block) -> Callable[[], Block]:
    return lambda: block
