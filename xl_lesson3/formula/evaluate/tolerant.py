"""Evaluate what can be evaluated: every formula cell of a workbook, one failure never the rest.

`eval --all` and `check` are what an analyst runs on a workbook of their own, where some cell
will use a function or a feature we do not have. Here such a cell becomes an `Uncomputable` with
a one-line reason, and so does every cell that depends on it (naming the cell it needs); every
other cell is computed exactly as `evaluate` computes it, with the same plan and function library.

Circular references: with Excel's iterative calculation on (``<calcPr iterate="1">``), a cycle's
cells are recomputed in passes, in cell order, from blank, until no value moves by more than
``iterateDelta`` or ``iterateCount`` passes are done, as Excel does. With it off, Excel warns,
leaves the cells of a cycle the data really follows at 0 and does not calculate the cells that
read them (they show 0 too); a cycle the data never follows (``IF(FALSE, B1, 1)`` in B1's chain)
is calculated as usual. To tell the two apart the cycle's cells start as #GETTING_DATA and are
computed in passes: a cell still holding it after the passes reads the cycle (OR and arithmetic
read every argument, IF only the branch it takes, an array formula every cell of its ranges).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xl_lesson3.errors import UnsupportedFunctionError, XlLesson3Error
from xl_lesson3.formula.compile.interpret import Dynamic, UnitContext, fit_output, lower_unit
from xl_lesson3.formula.evaluate.grid import ValueGrid
from xl_lesson3.formula.evaluate.recalc import MAX_REPLANS, ReadTracker, grid_resolver
from xl_lesson3.formula.evaluate.volatile import volatile_scope
from xl_lesson3.formula.functions.core import registry
from xl_lesson3.formula.functions.text.strings import character_set_scope
from xl_lesson3.formula.parse.ast import value_refs
from xl_lesson3.formula.plan.discover import one_line
from xl_lesson3.formula.plan.units import Plan, Unit, build_plan
from xl_lesson3.formula.scalars import ErrorCode
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel

# Passes tried on a cycle when the workbook does not iterate, beyond one per cell of the cycle
# (what a chain the data does not really close needs to settle); a true cycle never settles.
EXTRA_PASSES = 2


@dataclass(frozen=True)
class Uncomputable:
    """A cell the engine cannot compute: why (one line, starting with the cell), and a short
    `feature` to group causes by (a function name, "syntax", "circular reference", ...)."""

    message: str
    feature: str

    def __str__(self) -> str:
        return self.message


# Errors that mean "this formula uses something we cannot do", reported per cell. Other
# exceptions raised while lowering one formula are engine bugs; they are reported per cell too
# (named as such) so that one bug does not hide every other value of the workbook.
_ENGINE_BUGS = (RuntimeError, ValueError, IndexError, TypeError, KeyError, ZeroDivisionError)
_UNSUPPORTED = re.compile(r"(\S+) is not supported")
_SUPPORTED_LIST = re.compile(r" \(supported: [^)]*\)")


def evaluate_all(
    model: WorkbookModel, overrides: Mapping[CellAddress, Any] | None = None
) -> dict[CellAddress, Any]:
    """Every formula cell's value (array formulas: every cell of the block), or `Uncomputable`.

    Values are float, str, bool, None or `ExcelError`, as `evaluate.evaluate_workbook` returns.
    """
    targets = [
        RangeAddress(sheet, column.rows[0], col, column.rows[-1], col)
        for sheet in model.sheet_names
        for col in model.formula_columns(sheet)
        if (column := model.formula_column(sheet, col)) is not None
    ]
    extra: dict[CellAddress, list[RangeAddress]] = {}
    for _ in range(MAX_REPLANS):
        plan = build_plan(model, targets, functions=registry, tolerant=True, extra_reads=extra)
        runner = _Runner(plan, ValueGrid(model, overrides))
        with volatile_scope(), character_set_scope(model.character_set):
            runner.run()
        if not runner.tracker.found:
            break
        for cell, found in runner.tracker.found.items():
            known = extra.setdefault(cell, [])
            known.extend(rng for rng in found if rng not in known)
    return runner.results()


class _Runner:
    """Runs a tolerant plan unit by unit, recording failures instead of raising."""

    def __init__(self, plan: Plan, grid: ValueGrid) -> None:
        self.plan, self.grid = plan, grid
        self.resolve = grid_resolver(grid)
        self.tracker = ReadTracker(plan)
        self.failed: dict[int, Uncomputable] = {}  # units none of whose cells is computed
        self.partial: dict[int, list[CellAddress]] = {}  # runs with some failed cells
        self.cell_failed: dict[CellAddress, Uncomputable] = {}
        self.cyclic = {i: group for group in plan.cycles for i in group}
        # Cells Excel leaves uncalculated (0): a followed cycle with iteration off, and what
        # reads it. Unit index → the rectangles of it that are left at 0.
        self.uncalculated: dict[int, list[RangeAddress]] = {}

    def run(self) -> None:
        for unit in self.plan.units:
            if unit.index in self.tracker.done or unit.index in self.failed:
                continue
            group = self.cyclic.get(unit.index)
            if group is None:
                stale = self._stale_cells(unit)
                if len(stale) == len(unit.output.cells()):
                    self._leave_at_zero(unit, [unit.output])
                elif self._run(unit) and stale:
                    self._leave_at_zero(unit, [RangeAddress.from_cell(cell) for cell in stale])
            elif self.plan.model.calc.iterate:
                self._iterate(group)
            else:
                self._circular(group)

    def _run(self, unit: Unit, inside: frozenset[int] = frozenset()) -> bool:
        """Compute one unit into the grid; False (and a recorded reason) when it cannot be.

        A run of copied formulas that reads a failed cell is split: each of its cells is
        computed unless it reads a failed cell itself (one bad row never fails the column).
        """
        hard = [d for d in unit.deps if d in self.failed and d not in inside]
        soft = [d for d in unit.deps if d in self.partial and d not in inside]
        if (hard or soft) and unit.length > 1 and not unit.is_array:
            return self._run_cells(unit)
        if hard or soft:
            found = self._cause(unit.reads, unit.index)
            if found is not None:
                needed, cause = found
                self.failed[unit.index] = Uncomputable(
                    f"{unit.anchor}: needs {needed}, which cannot be computed ({_reason(cause)})",
                    cause.feature,
                )
                return False
        failure = self._compute(unit)
        if failure is not None:
            self.failed[unit.index] = failure
            return False
        self.tracker.done.add(unit.index)
        return True

    def _compute(self, unit: Unit) -> Uncomputable | None:
        """Lower `unit` and write its cells; the reason when it cannot be computed."""
        try:
            ctx = UnitContext(unit, self.resolve, on_read=self.tracker, model=self.plan.model)
            value = lower_unit(ctx)
            if isinstance(value, Dynamic):
                raise TypeError("a dynamic value during evaluation")
            self.grid.write(unit.output, value)
        except XlLesson3Error as exc:
            return _uncomputable(unit, exc)
        except _ENGINE_BUGS as exc:
            message = f"{unit.anchor}: engine error ({type(exc).__name__}: {one_line(str(exc))})"
            return Uncomputable(message, "engine error")
        return None

    def _run_cells(self, unit: Unit) -> bool:
        """A run cell by cell (see `_run`); its failed cells are recorded one by one."""
        col = unit.output.min_col
        refs = value_refs(unit.body)
        failed: list[CellAddress] = []
        for row in unit.rows:
            cell = CellAddress(unit.output.sheet, row, col)
            found = self._cause([ref.at(row, col) for ref in refs], unit.index)
            if found is not None:
                needed, cause = found
                failure = Uncomputable(
                    f"{cell}: needs {needed}, which cannot be computed ({_reason(cause)})",
                    cause.feature,
                )
            else:
                single = Unit(unit.index, unit.body, RangeAddress.from_cell(cell), False)
                failure = self._compute(single)
            if failure is not None:
                self.cell_failed[cell] = failure
                failed.append(cell)
        if failed:
            self.partial[unit.index] = failed
        self.tracker.done.add(unit.index)
        return True

    def _cause(self, reads, own: int) -> tuple[CellAddress, Uncomputable] | None:
        """The first failed cell among `reads` (rectangles), with its reason, or None."""
        for rng in reads:
            for index in sorted(self.plan.index.overlapping(rng)):
                if index == own:
                    continue
                if index in self.failed:
                    return self.plan.units[index].anchor, self.failed[index]
                for cell in self.partial.get(index, ()):
                    if rng.contains(cell):
                        return cell, self.cell_failed[cell]
        return None

    def _iterate(self, group: tuple[int, ...]) -> None:
        """Passes over a circular group (see the module docstring)."""
        model = self.plan.model
        units = [self.plan.units[i] for i in group]
        inside = frozenset(group)
        passes = model.calc.iterate_count if model.calc.iterate else len(units) + EXTRA_PASSES
        delta = model.calc.iterate_delta if model.calc.iterate else 0.0
        before = self._snapshot(units)
        settled = False
        for _ in range(max(passes, 1)):
            ran = [self._run(unit, inside) for unit in units]
            if not all(ran):
                self._fail_group(units)
                return
            after = self._snapshot(units)
            change = np.abs(after - before)
            settled = (
                bool(np.all(change <= delta)) if model.calc.iterate else bool(np.all(change == 0))
            )
            before = after
            if settled:
                break
        if settled or model.calc.iterate:
            return
        names = " → ".join(str(unit.anchor) for unit in units)
        for unit in units:
            self.tracker.done.discard(unit.index)
            self.failed[unit.index] = Uncomputable(
                f"{unit.anchor}: circular reference ({names}); iterative calculation is off",
                "circular reference",
            )

    def _circular(self, group: tuple[int, ...]) -> None:
        """A cycle with iteration off (see the module docstring): the cells that read it are
        left at 0; the rest of the group, which the data does not close, is calculated."""
        units = [self.plan.units[i] for i in group]
        inside = frozenset(group)
        for unit in units:
            self.grid.write(unit.output, _constant(unit, ErrorCode.GETTING_DATA))
        for _ in range(len(units) + EXTRA_PASSES):
            for unit in units:
                if not self._run(unit, inside):
                    self._fail_group(units)
                    return
                if unit.is_array:
                    self._taint_array(unit)
        for unit in units:
            followed = self._sentinel_cells(unit)
            if followed:
                self._leave_at_zero(unit, followed)
        rest = [unit for unit in units if unit.index not in self.uncalculated]
        if not rest:
            return
        before = self._snapshot(rest)
        for unit in rest:
            self._run(unit, inside)
        if not np.array_equal(before, self._snapshot(rest)):
            names = " → ".join(str(unit.anchor) for unit in rest)
            for unit in rest:
                self.tracker.done.discard(unit.index)
                self.failed[unit.index] = Uncomputable(
                    f"{unit.anchor}: circular reference ({names}); iterative calculation is off",
                    "circular reference",
                )

    def _sentinel(self, rng: RangeAddress) -> np.ndarray:
        """Which cells of `rng` hold the cycle's marker: (R, C) bool."""
        region = (slice(rng.min_row, rng.max_row + 1), slice(rng.min_col, rng.max_col + 1))
        return self.grid.sheets[rng.sheet].err[region] == ErrorCode.GETTING_DATA

    def _sentinel_cells(self, unit: Unit) -> list[RangeAddress]:
        found = self._sentinel(unit.output)
        if found.all():
            return [unit.output]
        cells = unit.output.cells()
        return [RangeAddress.from_cell(cells[i]) for i in np.flatnonzero(found.ravel())]

    def _taint_array(self, unit: Unit) -> None:
        """An array formula's cell reads the cells at its place in ranges of the block's shape
        (and every cell of other ranges), whatever its IFs decide: it holds the cycle's marker
        when one of those does."""
        out = unit.output
        mask = np.zeros(out.shape, dtype=bool)
        for rng in unit.reads:
            marked = self._sentinel(rng)
            if marked.shape == out.shape:
                mask |= marked
            elif marked.any():
                mask[:] = True
        if mask.any():
            region = (slice(out.min_row, out.max_row + 1), slice(out.min_col, out.max_col + 1))
            sheet = self.grid.sheets[out.sheet]
            sheet.err[region] = np.where(mask, np.int8(ErrorCode.GETTING_DATA), sheet.err[region])

    def _leave_at_zero(self, unit: Unit, cells: list[RangeAddress]) -> None:
        """Excel's uncalculated cells (see `uncalculated`): 0 in the grid, done."""
        for rng in cells:
            shaped = unit if rng == unit.output else Unit(unit.index, unit.body, rng, False)
            self.grid.write(rng, _constant(shaped, 0))
        self.uncalculated.setdefault(unit.index, []).extend(cells)
        self.tracker.done.add(unit.index)

    def _stale_cells(self, unit: Unit) -> list[CellAddress]:
        """The unit's cells that read a cell Excel left uncalculated."""
        if not any(dep in self.uncalculated for dep in unit.deps):
            return []
        stale_areas = [rng for dep in unit.deps for rng in self.uncalculated.get(dep, ())]
        if unit.is_array:
            hit = any(_overlap(r, a) for r in unit.reads for a in stale_areas)
            return unit.output.cells() if hit else []
        refs = value_refs(unit.body)
        col = unit.output.min_col
        return [
            cell
            for row in unit.rows
            if any(_overlap(ref.at(row, col), area) for ref in refs for area in stale_areas)
            for cell in [CellAddress(unit.output.sheet, row, col)]
        ]

    def _fail_group(self, units: list[Unit]) -> None:
        """One unit of a circular group failed: the others cannot be computed either."""
        first = next(unit for unit in units if unit.index in self.failed)
        cause = self.failed[first.index]
        for unit in units:
            if unit.index not in self.failed:
                self.tracker.done.discard(unit.index)
                self.failed[unit.index] = Uncomputable(
                    f"{unit.anchor}: needs {first.anchor}, which cannot be computed "
                    f"({_reason(cause)})",
                    cause.feature,
                )

    def _snapshot(self, units: list[Unit]) -> np.ndarray:
        parts = []
        for unit in units:
            out = unit.output
            sheet = self.grid.sheets[out.sheet]
            region = (slice(out.min_row, out.max_row + 1), slice(out.min_col, out.max_col + 1))
            num = np.where(sheet.err[region] == 0, sheet.num[region], 0.0)  # junk under errors
            parts.append(np.nan_to_num(num, nan=0.0).ravel())
            parts.append(sheet.err[region].astype(np.float64).ravel() * 1e9)
        return np.concatenate(parts)

    def results(self) -> dict[CellAddress, Any]:
        found: dict[CellAddress, Any] = {}
        for unit in self.plan.units:
            cells = unit.output.cells()
            failure = self.failed.get(unit.index)
            if failure is None and unit.index not in self.tracker.done:
                failure = Uncomputable(f"{unit.anchor}: not computed", "engine error")
            if failure is not None:
                for cell in cells:
                    found[cell] = failure
            else:
                for cell, value in zip(cells, self.grid.values(unit.output), strict=True):
                    found[cell] = self.cell_failed.get(cell, value)
        return found


def _overlap(a: RangeAddress, b: RangeAddress) -> bool:
    return (
        a.sheet == b.sheet
        and a.min_row <= b.max_row
        and b.min_row <= a.max_row
        and a.min_col <= b.max_col
        and b.min_col <= a.max_col
    )


def _constant(unit: Unit, value: float | ErrorCode) -> Block:
    """`value` in every cell of the unit's output, shaped as `lower_unit` shapes results."""
    if isinstance(value, ErrorCode):
        return fit_output(Block.error(value), unit)
    return fit_output(Block.scalar(float(value)), unit)


def _uncomputable(unit: Unit, exc: XlLesson3Error) -> Uncomputable:
    message = _SUPPORTED_LIST.sub("", one_line(str(exc)))
    if not message.startswith(str(unit.anchor)):
        message = f"{unit.anchor}: {message}"
    match = _UNSUPPORTED.search(message)
    if isinstance(exc, UnsupportedFunctionError) and match:
        feature = match.group(1)
    else:
        feature = _feature(message)
    return Uncomputable(message, feature)


def _feature(message: str) -> str:
    """A short group name for a failure message: its first clause after the cell."""
    body = message.split(": ", 1)[-1]
    if body.startswith("the ") and "not supported" in body:
        return body.split(" is not supported")[0].removeprefix("the ")
    match = _UNSUPPORTED.search(body)
    if match:
        return match.group(1)
    return re.split(r"[:(\n]", body, maxsplit=1)[0].strip()[:60]


def _reason(cause: Uncomputable) -> str:
    """The cause's message without its cell (which the dependent message names already)."""
    return cause.message.split(": ", 1)[-1]
