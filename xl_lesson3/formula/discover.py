"""Discovery: the formula cells a set of targets depends on, each parsed and bound once.

A breadth-first walk over references, cell by cell (iterative: chains of thousands of cells
exist). Only the cells reached are parsed, so a broken formula elsewhere in the workbook does not
matter. Copied formulas are recognised by their R1C1 key (`r1c1`) and share one bound tree, which
makes the walk cheap per cell and lets the planner group them into runs by identity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from xl_lesson3.formula.ast import BoundRef, Node, walk
from xl_lesson3.formula.bind import bind_formula
from xl_lesson3.formula.parse import parse_formula
from xl_lesson3.formula.r1c1 import r1c1_key
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel


def producers(model: WorkbookModel, rng: RangeAddress) -> list[CellAddress]:
    """Formula cells that write into `rng`: its own formula cells and overlapping arrays."""
    found = model.formula_cells_in(rng)
    for anchor, array in model.array_formulas.items():
        ref = array.ref
        if (
            ref.sheet == rng.sheet
            and ref.min_row <= rng.max_row
            and rng.min_row <= ref.max_row
            and ref.min_col <= rng.max_col
            and rng.min_col <= ref.max_col
        ):
            found.append(anchor)
    return found


def discover(
    model: WorkbookModel, targets: Iterable[CellAddress | RangeAddress]
) -> dict[CellAddress, Node]:
    """Breadth-first over references: every needed formula cell → its bound formula.

    Copied formulas share one bound tree (the same object), found through their R1C1 key.
    """
    queue: deque[CellAddress] = deque()
    for target in targets:
        rng = target if isinstance(target, RangeAddress) else RangeAddress.from_cell(target)
        queue.extend(producers(model, rng))
    bodies: dict[CellAddress, Node] = {}
    binder = _Binder(model)
    seen: set[tuple] = set()
    formula_cells = model.formula_cell_set
    has_arrays = bool(model.array_formulas)
    while queue:
        cell = queue.popleft()
        if cell in bodies:
            continue
        body, refs = binder.bind(cell)
        bodies[cell] = body
        for ref in refs:
            bounds = ref.bounds(cell.row, cell.col)
            if bounds in seen:
                continue
            seen.add(bounds)
            sheet, r1, c1, r2, c2 = bounds
            if r1 == r2 and c1 == c2 and not has_arrays:  # the common case: one plain cell
                target = CellAddress(sheet, r1, c1)
                if target in formula_cells and target not in bodies:
                    queue.append(target)
            else:
                rng = RangeAddress(sheet, r1, c1, r2, c2)
                queue.extend(p for p in producers(model, rng) if p not in bodies)
    return bodies


class _Binder:
    """Parse and bind formula cells, once per R1C1 shape (see `r1c1`)."""

    def __init__(self, model: WorkbookModel) -> None:
        self.model = model
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
        body = bind_formula(self.model, cell, parse_formula(formula, str(cell)))
        result = (body, [node for node in walk(body) if isinstance(node, BoundRef)])
        if key is not None:
            self.cache[key] = result
        return result
