"""Bounds on changing cells, from a Solver model's constraints, enforced by projection.

What every engine can do exactly and cheaply is a box: ``lower <= x <= upper`` per changing
cell, restored after every step by clamping (projected gradient descent). So the constraints
whose left side is a changing cell and whose right side is a number or a constant cell become
bounds; the others (``C10 <= 100`` where C10 sums the changing cells) become general `Row`s that
the engines enforce (`xl_lesson3.solver.augmented`, `xl_lesson3.solver.linear`). ``int`` and
``bin`` mark changing cells as integers (``bin`` also bounds them to [0, 1]); ``dif`` (Excel's
AllDifferent) makes n cells a permutation of 1..n.

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


@dataclass(frozen=True)
class Row:
    """One scalar constraint ``lhs relation rhs`` that is not a plain bound on a changing cell.

    `rhs` is a number or a cell (read by the compiled program: it may depend on the changing
    cells). `label` is the constraint as the user wrote it, for messages and the report.
    """

    lhs: CellAddress
    relation: str  # "<=", "=", ">="
    rhs: float | CellAddress
    label: str


@dataclass(frozen=True)
class Constraints:
    """A Solver model's constraints, split by how they are enforced.

    `bounds`: the box, enforced by projection; `rows`: everything else (formula cells, right
    sides that are formulas), enforced by the engine (augmented Lagrangian, or the LP);
    `box_rows`: the bounds as rows too, for the report; `integer`: indices of changing cells
    that must be whole numbers (``int``, ``bin``, ``dif``); `all_different`: groups of indices
    that must hold a permutation of 1..n (``dif``).
    """

    bounds: Bounds
    rows: tuple[Row, ...] = ()
    box_rows: tuple[Row, ...] = ()
    integer: tuple[int, ...] = ()
    all_different: tuple[tuple[int, ...], ...] = ()

    @property
    def all_rows(self) -> tuple[Row, ...]:
        return self.box_rows + self.rows


def bounds_from_model(
    solver_model: SolverModel, workbook: WorkbookModel, variables: Sequence[CellAddress]
) -> Bounds:
    """The box that `solver_model`'s bound constraints and ``solver_neg`` put on `variables`."""
    return split_constraints(solver_model, workbook, variables).bounds


def split_constraints(
    solver_model: SolverModel, workbook: WorkbookModel, variables: Sequence[CellAddress]
) -> Constraints:
    """Split `solver_model`'s constraints into bounds, general rows and integrality.

    Raises SolverModelError for an integer/binary/all-different constraint on a cell that is
    not changing (Excel refuses those too) and for contradictory bounds.
    """
    index = {cell: i for i, cell in enumerate(variables)}
    lower = [-math.inf] * len(variables)
    upper = [math.inf] * len(variables)
    has_lower = [False] * len(variables)
    rows: list[Row] = []
    box_rows: list[Row] = []
    integer: dict[int, None] = {}
    groups: list[tuple[int, ...]] = []
    for constraint in solver_model.constraints:
        if constraint.relation in _DISCRETE:
            found = _discrete_indices(constraint, index)
            integer.update(dict.fromkeys(found))
            low, high = (0.0, 1.0) if constraint.relation == "bin" else (1.0, float(len(found)))
            if constraint.relation == "dif":
                groups.append(found)
            if constraint.relation in ("bin", "dif"):
                for i in found:
                    lower[i], upper[i] = max(lower[i], low), min(upper[i], high)
                    has_lower[i] = True
            continue
        for row in _rows(constraint, workbook):
            bound = _box_bound(row, workbook, index)
            if bound is None:
                rows.append(row)
                continue
            box_rows.append(row)
            i = index[row.lhs]
            if row.relation in ("<=", "="):
                upper[i] = min(upper[i], bound)
            if row.relation in (">=", "="):
                lower[i] = max(lower[i], bound)
                has_lower[i] = True
    if solver_model.non_negative:
        lower = [0.0 if not has else low for low, has in zip(lower, has_lower)]
    for cell, low, high in zip(variables, lower, upper):
        if low > high:
            raise SolverModelError(
                located(str(cell), f"the constraints leave no feasible value ({low} > {high})")
            )
    return Constraints(
        Bounds(tuple(lower), tuple(upper)),
        tuple(rows),
        tuple(box_rows),
        tuple(sorted(integer)),
        tuple(groups),
    )


def _discrete_indices(constraint: Constraint, index: Mapping[CellAddress, int]) -> tuple[int, ...]:
    found = []
    for cell in constraint.lhs.cells():
        if cell not in index:
            raise SolverModelError(
                located(
                    str(cell),
                    f"{_DISCRETE[constraint.relation]} constraint on a cell that is not "
                    "changing (Excel allows int, bin and dif only on changing cells)",
                )
            )
        found.append(index[cell])
    return tuple(found)


def _rows(constraint: Constraint, workbook: WorkbookModel) -> list[Row]:
    """One row per cell of the left side, each with its right side (number or cell)."""
    lhs = constraint.lhs
    cells = lhs.cells()
    rhs = constraint.rhs
    if isinstance(rhs, RangeAddress):
        sides: list[float | CellAddress] = list(rhs.cells())
        rhs_text = str(rhs)
    elif isinstance(rhs, CellAddress):
        sides = [rhs] * len(cells)
        rhs_text = str(rhs)
    elif rhs is None:
        raise SolverModelError(located(str(lhs), f"'{constraint.relation}' needs a right side"))
    else:
        sides = [float(rhs)] * len(cells)
        rhs_text = f"{float(rhs):g}"
    label = f"{lhs} {constraint.relation} {rhs_text}"
    return [Row(cell, constraint.relation, side, label) for cell, side in zip(cells, sides)]


def _box_bound(row: Row, workbook: WorkbookModel, index: Mapping[CellAddress, int]) -> float | None:
    """The constant bound when `row` is a bound on a changing cell, else None."""
    if row.lhs not in index:
        return None
    if isinstance(row.rhs, float):
        return row.rhs
    if row.rhs in index or _is_formula(workbook, row.rhs):
        return None  # the right side moves with the changing cells: a general row
    return _number_at(workbook, row.rhs, RangeAddress.from_cell(row.lhs))


def _is_formula(workbook: WorkbookModel, cell: CellAddress) -> bool:
    found = workbook.cells.get(cell)
    return found is not None and found.formula is not None


def _number_at(workbook: WorkbookModel, cell: CellAddress, lhs: RangeAddress) -> float:
    """A constraint's right side read from a cell (a formula cell is recalculated once)."""
    found = workbook.cells.get(cell)
    if found is not None and found.formula is not None:
        from xl_lesson3.formula.evaluate.recalc import evaluate_cells

        value = evaluate_cells(workbook, [cell])[0]
    else:
        value = None if found is None else found.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SolverModelError(
            located(str(cell), f"the bound for {lhs} must be a number, found {value!r}")
        )
    return float(value)
