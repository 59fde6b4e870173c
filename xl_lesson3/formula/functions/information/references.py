"""Information about references: ISREF, AREAS, ISFORMULA, CELL.

They ask about a reference (is it one, how many areas, does the cell hold a formula, where is
it), not about the values it reads, so the engine answers them from the formula's tree and the
workbook model (`xl_lesson3.formula.compile.reference_info`). They are registered here so that
the planner knows they exist and the documentation lists them; the registered implementation is
never called with values.
"""

from __future__ import annotations

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.values import Block

CATEGORY = "Information"


def _by_the_engine(*_args: Block) -> Block:
    """Lowered by `reference_info`; reaching this means a call site skipped that step."""
    raise TypeError("reference information is lowered by xl_lesson3.formula.compile.reference_info")


for _name, _low, _high in (("ISREF", 1, 1), ("AREAS", 1, 1), ("ISFORMULA", 1, 1), ("CELL", 1, 2)):
    register(
        _name, min_args=_low, max_args=_high, category=CATEGORY, differentiable=False,
        array_result=True,
    )(_by_the_engine)  # fmt: skip
