"""Reference functions: ROW, COLUMN, OFFSET, INDIRECT, ANCHORARRAY (``A1#``) and SINGLE (``@``).

They take or give references rather than values, so the engine lowers them itself
(`xl_lesson3.formula.compile.reference_ops`) before the registry is asked for a value implementation.
They are registered here so that the planner knows they exist and the documentation lists them;
their registered implementation is never called with values.
"""

from __future__ import annotations

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.values import Block

CATEGORY = "Lookup & Reference"


def _by_the_engine(*_args: Block) -> Block:
    """Lowered by `reference_ops`; reaching this means a call site skipped that step."""
    raise TypeError("reference functions are lowered by xl_lesson3.formula.compile.reference_ops")


for _name, _low, _high, _aliases in (
    ("ROW", 0, 1, ()),
    ("COLUMN", 0, 1, ()),
    ("OFFSET", 3, 5, ()),
    ("INDIRECT", 1, 2, ()),
    ("ANCHORARRAY", 1, 1, ()),
    ("SINGLE", 1, 1, ()),
):
    register(
        _name,
        min_args=_low,
        max_args=_high,
        category=CATEGORY,
        aliases=_aliases,
        differentiable=_name in ("OFFSET", "INDIRECT", "ANCHORARRAY", "SINGLE"),
        array_result=True,
    )(_by_the_engine)
