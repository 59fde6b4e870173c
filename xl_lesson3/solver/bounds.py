"""Bounds on changing cells, from a Solver model's constraints, enforced by projection.

A gradient solver cannot honour every Solver constraint. What it can do exactly and cheaply is a
box: ``lower <= x <= upper`` per changing cell, restored after every step by clamping (projected
gradient descent). So we accept the constraints that are boxes, those whose left side is made of
changing cells and whose right side is a number or a constant cell, and refuse the rest with a
message saying why:

- ``int`` / ``bin`` / ``dif`` need a discrete (branch-and-bound) search;
- a constraint on a formula cell (``C10 <= 100`` where C10 sums the changing cells) couples the
  variables; projecting onto it needs a solver of its own, so it is reported as not supported
  rather than silently ignored.

``solver_neg`` ("make unconstrained variables non-negative") gives a lower bound of 0 to every
changing cell that has no explicit lower bound, exactly as Excel documents it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xl_lesson3.errors import SolverModelError, located
from xl_lesson3.workbook.address import CellAddress, RangeAddress

if TYPE_CHECKING:
    import torch

    from xl_lesson3.solver.excel_model import Constraint, SolverModel
    from xl_lesson3.workbook.model import WorkbookModel

_DISCRETE = {"int": "integer", "bin": "binary", "dif": "all-different"}


@dataclass(frozen=True)
class Bounds:
    """Per-variable box ``lower[i] <= x[i] <= upper[i]`` (``-inf``/``inf`` when unbounded)."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]

    @classmethod
    def unbounded(cls, n_vars: int) -> Bounds:
        return cls((-math.inf,) * n_vars, (math.inf,) * n_vars)

    @property
    def is_unbounded(self) -> bool:
        return all(math.isinf(v) for v in self.lower + self.upper)

    def tensors(self, device: torch.device | str, dtype: torch.dtype):
        """(lower, upper) as tensors of shape (n_vars,) for ``torch.clamp``."""
        import torch

        return (
            torch.tensor(self.lower, device=device, dtype=dtype),
            torch.tensor(self.upper, device=device, dtype=dtype),
        )


def bounds_from_model(
    solver_model: SolverModel, workbook: WorkbookModel, variables: Sequence[CellAddress]
) -> Bounds:
    """The box that `solver_model`'s constraints and ``solver_neg`` put on `variables`.

    Raises SolverModelError ("not supported: ...") for constraints that are not boxes on
    changing cells, and for contradictory bounds.
    """
    index = {cell: i for i, cell in enumerate(variables)}
    lower = [-math.inf] * len(variables)
    upper = [math.inf] * len(variables)
    has_lower = [False] * len(variables)
    for constraint in solver_model.constraints:
        for cell, bound in _constraint_bounds(constraint, workbook, index):
            i = index[cell]
            if constraint.relation in ("<=", "="):
                upper[i] = min(upper[i], bound)
            if constraint.relation in (">=", "="):
                lower[i] = max(lower[i], bound)
                has_lower[i] = True
    if solver_model.non_negative:
        lower = [0.0 if not has else low for low, has in zip(lower, has_lower)]
    for cell, low, high in zip(variables, lower, upper):
        if low > high:
            raise SolverModelError(
                located(str(cell), f"the constraints leave no feasible value ({low} > {high})")
            )
    return Bounds(tuple(lower), tuple(upper))


def _constraint_bounds(
    constraint: Constraint, workbook: WorkbookModel, index: Mapping[CellAddress, int]
) -> list[tuple[CellAddress, float]]:
    """(changing cell, bound) pairs for one box constraint; errors for anything else."""
    lhs = constraint.lhs
    if constraint.relation in _DISCRETE:
        raise SolverModelError(
            located(
                str(lhs),
                f"not supported: {_DISCRETE[constraint.relation]} constraint on {lhs} "
                "(gradient descent works on continuous values; remove the constraint or use "
                "Excel's Solver for this model)",
            )
        )
    cells = lhs.cells()
    for cell in cells:
        if cell not in index:
            what = "formula cell" if _is_formula(workbook, cell) else "cell that is not changing"
            raise SolverModelError(
                located(
                    str(cell),
                    f"not supported: constraint {lhs} {constraint.relation} ... on a {what} "
                    "(only bounds on changing cells can be enforced, by projection)",
                )
            )
    rhs = constraint.rhs
    if isinstance(rhs, RangeAddress):
        values = [_number_at(workbook, cell, lhs) for cell in rhs.cells()]
    elif isinstance(rhs, CellAddress):
        values = [_number_at(workbook, rhs, lhs)] * len(cells)
    elif rhs is None:
        raise SolverModelError(located(str(lhs), f"'{constraint.relation}' needs a right side"))
    else:
        values = [float(rhs)] * len(cells)
    return list(zip(cells, values))


def _is_formula(workbook: WorkbookModel, cell: CellAddress) -> bool:
    found = workbook.cells.get(cell)
    return found is not None and found.formula is not None


def _number_at(workbook: WorkbookModel, cell: CellAddress, lhs: RangeAddress) -> float:
    """A constraint's right side read from a cell (a formula cell is recalculated once)."""
    found = workbook.cells.get(cell)
    if found is not None and found.formula is not None:
        from xl_lesson3.formula.evaluate import evaluate_cells

        value = evaluate_cells(workbook, [cell])[0]
    else:
        value = None if found is None else found.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SolverModelError(
            located(str(cell), f"the bound for {lhs} must be a number, found {value!r}")
        )
    return float(value)
