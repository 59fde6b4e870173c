"""Imports every category module once, so their `register` decorators fill the registry.

`registry.lookup` imports this module on first use. Operators are not registered functions:
the engine takes them from `operators.BINARY_OPERATORS` / `operators.UNARY_OPERATORS`.
"""

from __future__ import annotations

from xl_lesson3.formula.functions import (  # noqa: F401
    aggregate,
    bits,
    conditional,
    custom,
    dates,
    dynamic_arrays,
    engineering,
    financial,
    information,
    logical,
    lookup,
    math,
    matrix,
    reference,
    rounding,
    solve_udf,
    special,
    statistics,
    text,
    trig,
)
from xl_lesson3.formula.functions.toolpak import apply_toolpak_rule

# after every category has registered: it wraps functions registered above
apply_toolpak_rule()
