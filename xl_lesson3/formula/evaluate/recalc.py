"""Full recalculation: every needed formula cell computed in dependency order, batch 1.

Cached values in the workbook are never read: input cells fill numpy grids (`grid.ValueGrid`),
each unit of the plan reads its references from the grids as one block, runs through the same
function library the compiler uses, and writes its cells back. The compiler folds constants with
`run_units` too, so evaluation and compilation cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from xl_lesson3.errors import EvaluationError, UnknownReferenceError
from xl_lesson3.formula.compile.interpret import Dynamic, UnitContext, lower_unit, ref_indices
from xl_lesson3.formula.compile.reference_ops import REFERENCE_FUNCTIONS
from xl_lesson3.formula.evaluate.grid import ValueGrid
from xl_lesson3.formula.evaluate.volatile import volatile_scope
from xl_lesson3.formula.functions.core import registry
from xl_lesson3.formula.functions.text.strings import character_set_scope
from xl_lesson3.formula.parse.ast import BoundRef, Call, walk
from xl_lesson3.formula.plan.units import Plan, Unit, build_plan
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import MAX_COL, MAX_ROW, CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel

Target = CellAddress | RangeAddress | str


def grid_resolver(grid: ValueGrid):
    """References read straight from the grids: every value is known."""

    def resolve(ref: BoundRef, ctx: UnitContext) -> Block:
        rows, cols = ref_indices(ref, ctx)
        return grid.gather(ref.sheet, rows, cols)

    return resolve


def run_units(
    units: Iterable[Unit],
    grid: ValueGrid,
    tracker: ReadTracker | None = None,
    model: WorkbookModel | None = None,
) -> None:
    """Compute `units` (in plan order) from the grid and store their cells in it.

    `tracker` learns the rectangles read through OFFSET/INDIRECT (see `ReadTracker`); `model`
    is what INDIRECT's text refers to (the tracker's plan's model when not given).
    """
    resolve = grid_resolver(grid)
    model = model if model is not None or tracker is None else tracker.plan.model
    for unit in units:
        value = lower_unit(UnitContext(unit, resolve, on_read=tracker, model=model))
        if isinstance(value, Dynamic):  # cannot happen: the grid knows every value
            raise TypeError(f"{unit.anchor}: unexpected dynamic value during evaluation")
        grid.write(unit.output, value)
        if tracker is not None:
            tracker.done.add(unit.index)


MAX_REPLANS = 8  # each OFFSET/INDIRECT chain that reads a later formula costs one more pass


class ReadTracker:
    """Collects reads through OFFSET/INDIRECT of formula cells not computed before the reader.

    Such references are only known once their arguments are computed, so the plan cannot order
    them. The evaluator runs the plan, and when a reader met a formula cell that was not ready,
    plans again with the reads it learnt (`build_plan(extra_reads=...)`) and runs once more.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.done: set[int] = set()
        self.found: dict[CellAddress, list[RangeAddress]] = {}
        self.seen: dict[CellAddress, list[RangeAddress]] = {}  # every computed read

    def __call__(self, cell: CellAddress, rng: RangeAddress) -> None:
        seen = self.seen.setdefault(cell, [])
        if rng not in seen:
            seen.append(rng)
        if not self._ready(rng):
            found = self.found.setdefault(cell, [])
            if rng not in found:
                found.append(rng)

    def _ready(self, rng: RangeAddress) -> bool:
        if any(i not in self.done for i in self.plan.index.overlapping(rng)):
            return False
        model = self.plan.model
        return all(self.plan.position(cell) is not None for cell in model.formula_cells_in(rng))


def evaluate_targets(
    model: WorkbookModel,
    targets: Sequence[CellAddress | RangeAddress],
    overrides: Mapping[CellAddress, Any] | None = None,
) -> tuple[Plan, ValueGrid]:
    """Plan `targets`, compute them into a fresh grid; replan while OFFSET/INDIRECT teach reads."""
    plan, grid, _ = evaluate_learning(model, targets, overrides)
    return plan, grid


def plan_with_computed_reads(
    model: WorkbookModel, targets: Sequence[CellAddress | RangeAddress]
) -> Plan:
    """The plan for `targets`, knowing every rectangle read through OFFSET/INDIRECT/``A1#``.

    Those are only known by evaluating (once, here, when the slice uses them). The compiler
    plans with them, so that a formula whose computed reference reads the changing cells (an
    embedding looked up with OFFSET) is known to depend on them.
    """
    plan = plan_for(model, targets)
    if not any(
        isinstance(node, Call) and node.name in REFERENCE_FUNCTIONS
        for unit in plan.units
        for node in walk(unit.body)
    ):
        return plan
    reads = evaluate_learning(model, targets, None)[2]
    return build_plan(model, targets, functions=registry, extra_reads=reads)


def evaluate_learning(
    model: WorkbookModel,
    targets: Sequence[CellAddress | RangeAddress],
    overrides: Mapping[CellAddress, Any] | None,
) -> tuple[Plan, ValueGrid, dict[CellAddress, list[RangeAddress]]]:
    """`evaluate_targets`, also returning every rectangle each formula cell read through
    OFFSET/INDIRECT in the final pass (`ReadTracker.seen`)."""
    extra: dict[CellAddress, list[RangeAddress]] = {}
    for _ in range(MAX_REPLANS):
        plan = build_plan(model, targets, functions=registry, extra_reads=extra)
        grid = ValueGrid(model, overrides)
        tracker = ReadTracker(plan)
        # every pass draws the same RAND()s
        with volatile_scope(), character_set_scope(model.character_set):
            run_units(plan.units, grid, tracker)
        if not tracker.found:
            return plan, grid, tracker.seen
        for cell, found in tracker.found.items():
            extra.setdefault(cell, []).extend(r for r in found if r not in extra.get(cell, []))
    first = next(iter(tracker.found))
    raise EvaluationError(f"{first}: OFFSET/INDIRECT references keep changing the order")


def plan_for(model: WorkbookModel, targets: Iterable[CellAddress | RangeAddress]) -> Plan:
    """The plan for `targets`, with the function registry's checks."""
    return build_plan(model, targets, functions=registry)


def evaluate_workbook(
    model: WorkbookModel, overrides: Mapping[CellAddress, Any] | None = None
) -> dict[CellAddress, Any]:
    """Recalculate every formula cell; `overrides` replace input cells' values first.

    Returns each formula cell's value (array formulas: every cell of the block) as a Python
    value: float, str, bool, None or `ExcelError`.
    """
    plan, grid = evaluate_targets(model, formula_targets(model), overrides)
    results: dict[CellAddress, Any] = {}
    for unit in plan.units:
        results.update(zip(output_cells(model, unit), grid.values(unit.output), strict=True))
    return results


def formula_targets(model: WorkbookModel) -> list[RangeAddress]:
    """Every formula column of the model as one range each: what a full recalculation plans."""
    return [
        RangeAddress(sheet, column.rows[0], col, column.rows[-1], col)
        for sheet in model.sheet_names
        for col in model.formula_columns(sheet)
        if (column := model.formula_column(sheet, col)) is not None
    ]


def output_cells(model: WorkbookModel, unit: Unit) -> list[CellAddress]:
    """The unit's cells in output order; a run's are the model's own address objects."""
    out = unit.output
    if unit.is_array:
        return out.cells()
    column = model.formula_column(out.sheet, out.min_col)
    lo, hi = column.span(out.min_row, out.max_row)
    return [cell.address for cell in column.cells[lo:hi]]


def evaluate_cells(
    model: WorkbookModel,
    refs: Sequence[Target],
    overrides: Mapping[CellAddress, Any] | None = None,
) -> list[Any]:
    """The values of `refs` (cells, or ranges as lists of rows), computing only what they need.

    Text references must name their sheet (``Sheet1!B3``, ``'My Sheet'!A1:B2``).
    """
    ranges = [_as_range(model, ref) for ref in refs]
    _, grid = evaluate_targets(model, ranges, overrides)
    results: list[Any] = []
    for ref, rng in zip(refs, ranges, strict=True):
        if rng.is_cell and not (isinstance(ref, RangeAddress)):
            results.append(grid.get(rng.top_left))
            continue
        found, width = grid.values(rng), rng.shape[1]
        results.append([found[i : i + width] for i in range(0, len(found), width)])
    return results


def _as_range(model: WorkbookModel, ref: Target) -> RangeAddress:
    if isinstance(ref, CellAddress):
        rng = RangeAddress.from_cell(ref)
    elif isinstance(ref, RangeAddress):
        rng = ref
    else:
        rng = RangeAddress.parse(ref)
    if not model.sheet_exists(rng.sheet):
        raise UnknownReferenceError(f"{ref}: no sheet named {rng.sheet!r}")
    used = model.used_range(rng.sheet)
    # Whole rows/columns clip to the used area, as formulas do.
    max_row = max(used.max_row, rng.min_row) if rng.max_row == MAX_ROW else rng.max_row
    max_col = max(used.max_col, rng.min_col) if rng.max_col == MAX_COL else rng.max_col
    return RangeAddress(rng.sheet, rng.min_row, rng.min_col, max_row, max_col)
