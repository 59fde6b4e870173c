"""Discovery: the formula cells a set of targets depends on, found stretch by stretch.

A breadth-first walk over references (iterative: chains of thousands of cells exist) whose steps
are *stretches* of rows, not single cells: "rows 6..1000005 of column U" is one step, however
many cells it holds. Only the cells reached are needed, so a broken formula elsewhere in the
workbook does not matter.

Each formula column the walk touches is first cut into *segments*: consecutive rows where every
formula is the one above copied down (`r1c1.copied_runs`), within one table-row context, so that
every cell of a segment binds to the same tree. A segment is parsed and bound once, when the walk
first needs one of its cells; segments with the same R1C1 key share one tree object, which the
planner's grouping relies on. The walk marks the needed cells of each column in a boolean array
and hands them back cut at segment boundaries, each piece with its bound formula.
"""

from __future__ import annotations

import bisect
import itertools
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from xl_lesson3.errors import XlLesson3Error
from xl_lesson3.formula.parse.ast import BoundRef, Failed, Node, value_refs
from xl_lesson3.formula.parse.parser import parse_formula
from xl_lesson3.formula.parse.r1c1 import copied_runs, r1c1_key
from xl_lesson3.formula.plan.bind import bind_formula
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import ColumnCells, WorkbookModel

Bounds = tuple[str, int, int, int, int]  # sheet, min_row, min_col, max_row, max_col
Stretch = tuple[RangeAddress, Node]  # needed cells down one column, and their bound formula


def discover(
    model: WorkbookModel,
    targets: Iterable[CellAddress | RangeAddress],
    *,
    tolerant: bool = False,
    extra_reads: Mapping[CellAddress, Sequence[RangeAddress]] | None = None,
) -> list[Stretch]:
    """Every formula cell `targets` depend on (themselves included), as stretches.

    A stretch is consecutive rows of one column whose cells share one bound formula (an array
    formula's stretch is its top-left cell). Stretches never overlap; adjacent ones may hold
    equal formulas (the planner joins those). `tolerant`: a formula that cannot be parsed or
    bound becomes a `Failed` node instead of raising. `extra_reads`: rectangles that formula
    cells read through OFFSET/INDIRECT, learnt by an earlier evaluation (see `evaluate`).
    """
    columns = _Columns(model, tolerant)
    extra = dict(extra_reads or {})
    queue: deque[Bounds] = deque(_bounds(target) for target in targets)
    seen: set[Bounds] = set()
    while queue:
        sheet, r1, c1, r2, c2 = queue.popleft()
        for column, segment, lo, hi in columns.claim(sheet, r1, c1, r2, c2):
            refs = column.bound(segment, lo)[1]
            first, last = column.rows[lo], column.rows[hi - 1]
            reads = [_reads(ref, first, last, column.col) for ref in refs]
            if extra:
                reads += [
                    _bounds(rng)
                    for cell, found in extra.items()
                    if cell.sheet == sheet and cell.col == column.col and first <= cell.row <= last
                    for rng in found
                ]
            for read in reads:
                if read not in seen:
                    seen.add(read)
                    queue.append(read)
        for anchor in _array_anchors(model, sheet, r1, c1, r2, c2):
            read = (sheet, anchor.row, anchor.col, anchor.row, anchor.col)
            if read not in seen:
                seen.add(read)
                queue.append(read)
    return columns.stretches()


def _array_anchors(
    model: WorkbookModel, sheet: str, r1: int, c1: int, r2: int, c2: int
) -> list[CellAddress]:
    """Top-left cells of the array formulas whose block overlaps the rectangle."""
    return [
        anchor
        for anchor, array in model.array_formulas.items()
        if array.ref.sheet == sheet
        and array.ref.min_row <= r2
        and r1 <= array.ref.max_row
        and array.ref.min_col <= c2
        and c1 <= array.ref.max_col
    ]


def _bounds(target: CellAddress | RangeAddress) -> Bounds:
    if isinstance(target, CellAddress):
        return target.sheet, target.row, target.col, target.row, target.col
    return target.sheet, target.min_row, target.min_col, target.max_row, target.max_col


def _reads(ref: BoundRef, first: int, last: int, col: int) -> Bounds:
    """The rectangle `ref` reads for formulas in rows first..last of `col`, all together."""
    sheet, a_r1, a_c1, a_r2, a_c2 = ref.bounds(first, col)
    _, b_r1, b_c1, b_r2, b_c2 = ref.bounds(last, col)
    return sheet, min(a_r1, b_r1), min(a_c1, b_c1), max(a_r2, b_r2), max(a_c2, b_c2)


class _Columns:
    """The formula columns the walk has touched, and one binder shared by them."""

    def __init__(self, model: WorkbookModel, tolerant: bool = False) -> None:
        self.model = model
        self.binder = _Binder(model, tolerant)
        self.columns: dict[tuple[str, int], _Column] = {}

    def claim(self, sheet: str, r1: int, c1: int, r2: int, c2: int):
        """(column, segment, lo, hi) for each piece of the rectangle not claimed before."""
        cols = self.model.formula_columns(sheet)
        for col in cols[bisect.bisect_left(cols, c1) : bisect.bisect_right(cols, c2)]:
            column = self.columns.get((sheet, col))
            if column is None:
                cells = self.model.formula_column(sheet, col)
                column = self.columns[(sheet, col)] = _Column(self, sheet, col, cells)
            for segment, lo, hi in column.claim(r1, r2):
                yield column, segment, lo, hi

    def stretches(self) -> list[Stretch]:
        found: list[Stretch] = []
        for column in self.columns.values():
            found += column.stretches()
        return found


class _Column:
    """One formula column: its segments, which cells are needed, and each segment's binding."""

    def __init__(self, owner: _Columns, sheet: str, col: int, cells: ColumnCells) -> None:
        self.sheet, self.col = sheet, col
        self.binder = owner.binder
        self.rows = cells.rows
        self.cells = cells.cells
        self.needed = np.zeros(len(self.rows), dtype=bool)
        self.starts = segment_starts(owner.model, sheet, col, cells)  # (n_segments,) ascending
        self.bodies: dict[int, tuple[Node, list[BoundRef]]] = {}

    def claim(self, first_row: int, last_row: int) -> list[tuple[int, int, int]]:
        """Mark the cells in rows first..last needed; (segment, lo, hi) for the new ones."""
        lo = bisect.bisect_left(self.rows, first_row)
        hi = bisect.bisect_right(self.rows, last_row)
        if hi - lo == 1:  # the common single cell
            if self.needed[lo]:
                return []
            self.needed[lo] = True
            return [(int(np.searchsorted(self.starts, lo, side="right")) - 1, lo, lo + 1)]
        if lo >= hi or self.needed[lo:hi].all():
            return []
        new = np.flatnonzero(~self.needed[lo:hi]) + lo
        self.needed[lo:hi] = True
        return self._pieces(new)

    def _pieces(self, indices: np.ndarray) -> list[tuple[int, int, int]]:
        """Cut sorted cell indices into (segment, lo, hi) runs within one segment each."""
        segments = np.searchsorted(self.starts, indices, side="right") - 1
        cuts = np.flatnonzero((np.diff(indices) != 1) | (np.diff(segments) != 0)) + 1
        edges = [0, *cuts.tolist(), len(indices)]
        return [
            (int(segments[a]), int(indices[a]), int(indices[b - 1]) + 1)
            for a, b in itertools.pairwise(edges)
        ]

    def bound(self, segment: int, lo: int) -> tuple[Node, list[BoundRef]]:
        """The segment's bound formula (bound on first use, errors located at cell `lo`)."""
        found = self.bodies.get(segment)
        if found is None:
            found = self.bodies[segment] = self.binder.bind(self.cells[lo].address)
        return found

    def stretches(self) -> list[Stretch]:
        needed = np.flatnonzero(self.needed)
        if not len(needed):
            return []
        rows = self.rows
        return [
            (
                RangeAddress(self.sheet, rows[lo], self.col, rows[hi - 1], self.col),
                self.bodies[segment][0],
            )
            for segment, lo, hi in self._pieces(needed)
        ]


# Per model (by id, dropped when the model is collected): (sheet, col) → (column, starts).
_STARTS: dict[int, dict[tuple[str, int], tuple[ColumnCells, np.ndarray]]] = {}


def segment_starts(model: WorkbookModel, sheet: str, col: int, cells: ColumnCells) -> np.ndarray:
    """`_segment_starts`, computed once per model and column: a solve plans its objective, and
    the write-back then plans every formula, over the same columns (a 100k-row column's texts
    cost ~0.1 s to compare). The model is immutable; the column object must be the same one."""
    per_model = _STARTS.get(id(model))
    if per_model is None:
        per_model = _STARTS[id(model)] = {}
        weakref.finalize(model, _STARTS.pop, id(model), None)
    found = per_model.get((sheet, col))
    if found is None or found[0] is not cells:
        found = per_model[(sheet, col)] = (cells, _segment_starts(model, sheet, col, cells))
    return found[1]


def _segment_starts(model: WorkbookModel, sheet: str, col: int, cells: ColumnCells) -> np.ndarray:
    """Indices where a segment starts: a gap in the rows, a table edge (a row context change),
    an array formula's anchor (its own segment), or a formula that is not the one above copied."""
    rows = np.asarray(cells.rows)
    edges = {0, len(rows)}
    edges.update((np.flatnonzero(np.diff(rows) != 1) + 1).tolist())
    for t in model.tables.values():
        for row in (t.ref.min_row, t.ref.max_row + 1, t.first_data_row, t.last_data_row + 1):
            edges.add(int(np.searchsorted(rows, row)))
    for anchor in model.array_formulas:
        if anchor.sheet == sheet and anchor.col == col:
            i = int(np.searchsorted(rows, anchor.row))
            edges.update((i, i + 1))
    texts = cells.formulas
    ordered = sorted(edges)
    starts: list[int] = []
    for a, b in itertools.pairwise(ordered):
        starts += [a + i for i in copied_runs(texts[a:b], cells.rows[a])]
    return np.array(starts, dtype=np.int64)


class _Binder:
    """Parse and bind formula cells, once per R1C1 shape (see `r1c1`)."""

    def __init__(self, model: WorkbookModel, tolerant: bool = False) -> None:
        self.model = model
        self.tolerant = tolerant
        self.cache: dict[tuple, tuple[Node, list[BoundRef]]] = {}

    def bind(self, cell: CellAddress) -> tuple[Node, list[BoundRef]]:
        formula = self.model.cells[cell].formula
        shape = r1c1_key(formula, cell.row, cell.col)
        key = None
        if shape is not None:
            key = (cell.sheet, cell.col, shape, self.model.row_context(cell))
            found = self.cache.get(key)
            if found is not None:
                return found
        try:
            body = bind_formula(self.model, cell, parse_formula(formula, str(cell)))
        except XlLesson3Error as exc:
            if not self.tolerant:
                raise
            body = Failed(one_line(str(exc)))
        result = (body, value_refs(body))
        if key is not None:
            self.cache[key] = result
        return result


def one_line(message: str) -> str:
    """A message on one line (syntax errors show the formula and a caret on lines of their own)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and set(lines[-1]) == {"^"}:
        lines = lines[:-1]
    return ": ".join(lines) if len(lines) > 1 else (lines[0] if lines else message)
