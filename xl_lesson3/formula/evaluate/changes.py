"""What new input values change: one recalculation, then only the units that depend on them.

The write-back must write exactly the formula cells whose value the solution changes (a cell
that does not depend on the changing cells keeps its bytes, even where our last digit differs
from Excel's). Two full recalculations compared cell by cell in Python dicts cost seconds on a
100k-row sheet, nearly all of it in making a Python object per cell. Here instead:

1. the targets are planned and evaluated once, with the old values (`recalc.evaluate_learning`,
   which also learns every rectangle read through OFFSET/INDIRECT);
2. the units that depend on the changing cells are found on the plan's dependency graph, in
   plan order (a unit is reached when one of its read rectangles, static or computed, holds a
   changing cell or a reached unit's output);
3. the reached units' outputs are copied (numpy), the new values put in the grid, and only the
   reached units run again: every other unit's cells are unchanged by construction;
4. old and new are compared per unit on the grid's arrays, and Python values are made only for
   the cells that moved (a `ChangeSet`, columnar).

Evaluating only the dependents was chosen over comparing two full recalculations on numpy
arrays because it does less work (one full evaluation, not two: on a sheet where the changing
cells feed a few columns of many, the second pass is a few units) and because it makes "does
this cell depend on the changing cells" structural, so a cell outside the dependents can never
be written; the comparison in step 4 then keeps out the dependents whose value did not move
(``IF(A1>0,1,0)``). The per-unit numpy comparison is kept from the other option. A dependent calling RAND draws anew (as Excel's recalculation does); a RAND
cell that does not depend on the changing cells is not recalculated, so it keeps its value. One
case falls back to two full recalculations compared cell by cell (the former write-back, kept
in `two_recalculations`): an OFFSET/INDIRECT whose computed reference moves, with the new
values, onto a formula cell the plan's order did not put before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xl_lesson3.formula.evaluate.grid import ValueGrid
from xl_lesson3.formula.evaluate.recalc import (
    ReadTracker,
    evaluate_learning,
    evaluate_targets,
    output_cells,
    run_units,
)
from xl_lesson3.formula.evaluate.volatile import volatile_scope
from xl_lesson3.formula.functions.text.strings import character_set_scope
from xl_lesson3.formula.plan.units import Plan
from xl_lesson3.formula.scalars import Kind
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.changeset import ChangeSet
from xl_lesson3.workbook.model import WorkbookModel

_NUMBER, _TEXT = int(Kind.NUMBER), int(Kind.TEXT)
# Changing cells spread over a larger bounding box than this are tested cell by cell (numpy)
# instead of through a summed-area table of the box.
_MAX_TABLE_CELLS = 1 << 22


def recalculate_changes(
    model: WorkbookModel,
    overrides: Mapping[CellAddress, Any],
    targets: Sequence[CellAddress | RangeAddress],
) -> ChangeSet:
    """The `overrides` cells, plus the formula cells of `targets`' plan whose value they change.

    Values are those `recalc.evaluate_workbook` gives (float, str, bool, None, `ExcelError`).
    Raises what planning `targets` raises (an unsupported function: BadInputError).
    """
    known = {a: v for a, v in overrides.items() if model.sheet_exists(a.sheet)}
    # The grid must hold every changing cell, blank ones past the used area too.
    plan, grid, seen = evaluate_learning(model, targets, _outside_used(model, known))
    reached = dependent_units(plan, seen, known)
    units = [plan.units[i] for i in sorted(reached)]
    before = [_Snapshot.take(grid, unit.output) for unit in units]
    for address, value in known.items():
        grid.sheets[address.sheet].set(address.row, address.col, value)
    tracker = ReadTracker(plan)
    tracker.done.update(i for i in range(len(plan.units)) if i not in reached)
    with volatile_scope(), character_set_scope(model.character_set):
        run_units(units, grid, tracker, model)
    if tracker.found:  # a computed reference now reads a cell computed later
        return two_recalculations(model, overrides, targets)
    changes = ChangeSet()
    changes.add_cells(overrides)
    for unit, old in zip(units, before, strict=True):
        _add_moved(changes, grid, unit.output, old)
    return changes


def _outside_used(model: WorkbookModel, cells: Iterable[CellAddress]) -> dict[CellAddress, None]:
    """The cells past their sheet's used area (blank), to size the grid with."""
    found = {}
    for cell in cells:
        used = model.used_range(cell.sheet)
        if cell.row > used.max_row or cell.col > used.max_col:
            found[cell] = None
    return found


def dependent_units(
    plan: Plan,
    computed_reads: Mapping[CellAddress, Sequence[RangeAddress]],
    cells: Iterable[CellAddress],
) -> set[int]:
    """Indices of the plan's units whose value can depend on `cells`, transitively.

    `computed_reads`: per formula cell, the rectangles it read through OFFSET/INDIRECT (the
    `ReadTracker.seen` of the evaluation that produced the plan). Units come in plan order,
    every unit after the units it reads, so one pass suffices.
    """
    marks = _Marks(cells)
    extra: dict[int, list[RangeAddress]] = {}
    for cell, rects in computed_reads.items():
        found = plan.position(cell)
        if found is not None:
            extra.setdefault(found[0], []).extend(rects)
    reached: set[int] = set()
    for unit in plan.units:
        computed = extra.get(unit.index, ())
        if (
            any(dep in reached for dep in unit.deps)
            or any(marks.hit(rect) for rect in unit.reads)
            or any(marks.hit(rect) for rect in computed)
            or any(i in reached for rect in computed for i in plan.index.overlapping(rect))
        ):
            reached.add(unit.index)
    return reached


class _Marks:
    """Which rectangles hold one of a set of cells: per sheet, a summed-area table over the
    cells' bounding box, so each question costs four look-ups."""

    def __init__(self, cells: Iterable[CellAddress]) -> None:
        by_sheet: dict[str, list[tuple[int, int]]] = {}
        for cell in cells:
            by_sheet.setdefault(cell.sheet, []).append((cell.row, cell.col))
        self.sheets: dict[str, tuple[int, int, int, int, np.ndarray | None, np.ndarray]] = {}
        for sheet, found in by_sheet.items():
            at = np.array(found, dtype=np.int64)  # (n, 2) rows, cols
            r0, c0 = at.min(axis=0)
            r1, c1 = at.max(axis=0)
            table = None
            if (r1 - r0 + 1) * (c1 - c0 + 1) <= _MAX_TABLE_CELLS:
                counts = np.zeros((r1 - r0 + 2, c1 - c0 + 2), dtype=np.int64)
                np.add.at(counts, (at[:, 0] - r0 + 1, at[:, 1] - c0 + 1), 1)
                table = counts.cumsum(axis=0).cumsum(axis=1)
            self.sheets[sheet] = (int(r0), int(c0), int(r1), int(c1), table, at)

    def hit(self, rect: RangeAddress) -> bool:
        found = self.sheets.get(rect.sheet)
        if found is None:
            return False
        r0, c0, r1, c1, table, at = found
        top, left = max(rect.min_row, r0), max(rect.min_col, c0)
        bottom, right = min(rect.max_row, r1), min(rect.max_col, c1)
        if top > bottom or left > right:
            return False
        if table is None:
            rows, cols = at[:, 0], at[:, 1]
            inside = (rows >= top) & (rows <= bottom) & (cols >= left) & (cols <= right)
            return bool(inside.any())
        top, left, bottom, right = top - r0, left - c0, bottom - r0 + 1, right - c0 + 1
        total = table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]
        return bool(total > 0)


@dataclass(frozen=True)
class _Snapshot:
    """A unit's output as the grid held it before the new values: (R, C) planes, and per
    column the text (None where the column held no text)."""

    num: np.ndarray
    kind: np.ndarray
    err: np.ndarray
    texts: tuple[np.ndarray | None, ...]

    @classmethod
    def take(cls, grid: ValueGrid, out: RangeAddress) -> _Snapshot:
        sheet = grid.sheets[out.sheet]
        region = _region(out)
        texts = tuple(_texts(grid, out, col) for col in range(out.min_col, out.max_col + 1))
        return cls(
            sheet.num[region].copy(), sheet.kind[region].copy(), sheet.err[region].copy(), texts
        )


def _region(out: RangeAddress) -> tuple[slice, slice]:
    return slice(out.min_row, out.max_row + 1), slice(out.min_col, out.max_col + 1)


def _texts(grid: ValueGrid, out: RangeAddress, col: int) -> np.ndarray | None:
    found = grid.sheets[out.sheet].texts.get(col)
    return None if found is None else found[out.min_row : out.max_row + 1].copy()


def _add_moved(changes: ChangeSet, grid: ValueGrid, out: RangeAddress, old: _Snapshot) -> None:
    """Add the cells of `out` whose value differs from `old` (NaN equals NaN, as before)."""
    sheet = grid.sheets[out.sheet]
    region = _region(out)
    num, kind, err = sheet.num[region], sheet.kind[region], sheet.err[region]
    same_num = (num == old.num) | (np.isnan(num) & np.isnan(old.num))
    moved = (kind != old.kind) | (err != old.err) | ((err == 0) & ~same_num)
    for j, col in enumerate(range(out.min_col, out.max_col + 1)):
        new_text, old_text = _texts(grid, out, col), old.texts[j]
        if new_text is None and old_text is None:
            continue
        n = out.shape[0]
        new_text = np.full(n, None, dtype=object) if new_text is None else new_text
        old_text = np.full(n, None, dtype=object) if old_text is None else old_text
        moved[:, j] |= (kind[:, j] == _TEXT) & (new_text != old_text)
    flat = np.flatnonzero(moved.ravel())
    if not len(flat):
        return
    width = out.shape[1]
    rows, cols = out.min_row + flat // width, out.min_col + flat % width
    values = num.ravel()[flat].tolist()
    special = (kind.ravel()[flat] != _NUMBER) | (err.ravel()[flat] != 0)
    for i in np.flatnonzero(special).tolist():
        values[i] = sheet.get(int(rows[i]), int(cols[i]))
    changes.add(out.sheet, rows, cols, values)


def two_recalculations(
    model: WorkbookModel,
    overrides: Mapping[CellAddress, Any],
    targets: Sequence[CellAddress | RangeAddress],
) -> ChangeSet:
    """The general way: `targets` recalculated before and after, compared cell by cell."""
    before = _values(model, targets, None)
    after = _values(model, targets, overrides)
    moved = {a: v for a, v in after.items() if a not in before or not _same(before[a], v)}
    changes = ChangeSet()
    changes.add_cells(overrides)
    changes.add_cells({a: v for a, v in moved.items() if a not in overrides})
    return changes


def _values(model, targets, overrides) -> dict[CellAddress, Any]:
    plan, grid = evaluate_targets(model, targets, overrides)
    found: dict[CellAddress, Any] = {}
    for unit in plan.units:
        found.update(zip(output_cells(model, unit), grid.values(unit.output), strict=True))
    return found


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b or (_is_num(a) and _is_num(b) and a == b)


def _is_num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
