"""Cell values as dense numpy grids per sheet: the store that evaluation reads and writes.

Every sheet's used area becomes three arrays (number, kind, error code) and, for the columns that
hold text, an object array per column, indexed 1-based so that ``grid.num[row, col]`` is the cell. A reference is read with one
numpy fancy-index for a whole run of cells, and a unit's results are written back the same way,
so evaluation costs a few numpy calls per unit however long the run. Cells beyond the used area
read as blanks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from xl_lesson3.formula.functions.core.shapes import text_array
from xl_lesson3.formula.scalars import ErrorCode, ExcelError, Kind
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel

_NUMBER, _BOOL, _TEXT, _BLANK = (int(k) for k in (Kind.NUMBER, Kind.BOOL, Kind.TEXT, Kind.BLANK))
_ERRORS = {int(code): ExcelError(code) for code in ErrorCode if code}


@dataclass
class SheetGrid:
    """One sheet's values; row and column 0 and the last row/column are padding (blank).

    Text lives in one object array per column that holds any (`texts`), None elsewhere.
    """

    num: np.ndarray  # (rows + 2, cols + 2) float64
    kind: np.ndarray  # same shape, int8 Kind
    err: np.ndarray  # same shape, int8 ErrorCode
    texts: dict[int, np.ndarray] = field(default_factory=dict)  # col → (rows + 2,) object

    @classmethod
    def blank(cls, rows: int, cols: int) -> SheetGrid:
        shape = (rows + 2, cols + 2)
        return cls(
            np.zeros(shape, dtype=np.float64),
            np.full(shape, _BLANK, dtype=np.int8),
            np.zeros(shape, dtype=np.int8),
        )

    def copy(self) -> SheetGrid:
        return SheetGrid(
            self.num.copy(),
            self.kind.copy(),
            self.err.copy(),
            {col: texts.copy() for col, texts in self.texts.items()},
        )

    def text_column(self, col: int) -> np.ndarray:
        """Column `col`'s text array, created (all None) on first use."""
        found = self.texts.get(col)
        if found is None:
            found = self.texts[col] = np.full(self.num.shape[0], None, dtype=object)
        return found

    def set(self, row: int, col: int, value: Any) -> None:
        """Store one Python value (number, bool, text, None, ExcelError)."""
        if col in self.texts:
            self.texts[col][row] = None
        self.num[row, col], self.err[row, col] = 0.0, 0
        if value is None:
            self.kind[row, col] = _BLANK
        elif isinstance(value, bool):
            self.num[row, col], self.kind[row, col] = float(value), _BOOL
        elif isinstance(value, (int, float)):
            self.num[row, col], self.kind[row, col] = float(value), _NUMBER
        elif isinstance(value, ExcelError):
            self.kind[row, col], self.err[row, col] = _NUMBER, int(value.code)
        else:
            self.kind[row, col] = _TEXT
            self.text_column(col)[row] = str(value)

    def fill_column(self, col: int, rows: np.ndarray, values: list) -> None:
        """Store `values` at `rows` (no duplicates) of column `col`, one numpy step per type.

        Plain floats, ints, bools and strings (nearly every cell) go in by type; anything else
        (None, error values, numpy scalars, subclasses) cell by cell through `set`.
        """
        types = list(map(type, values))
        found = set(types)
        if found <= {float, int}:  # the common all-number column
            groups = [(float, rows, np.array(values, dtype=np.float64))]
        else:
            type_ids = np.fromiter(map(id, types), dtype=np.int64, count=len(types))
            objects = np.array(values, dtype=object)
            masks = {t: type_ids == id(t) for t in found}
            groups = [(t, rows[mask], objects[mask]) for t, mask in masks.items()]
        if col in self.texts:
            self.texts[col][rows] = None
        for kind, at, group in groups:
            if kind in (float, int, bool):
                self.num[at, col] = group.astype(np.float64)
                self.kind[at, col] = _BOOL if kind is bool else _NUMBER
                self.err[at, col] = 0
            elif kind is str:
                self.num[at, col], self.kind[at, col], self.err[at, col] = 0.0, _TEXT, 0
                self.text_column(col)[at] = group
            else:
                for row, value in zip(at.tolist(), group.tolist(), strict=True):
                    self.set(row, col, value)

    def get(self, row: int, col: int) -> Any:
        """The Python value of one cell."""
        err = int(self.err[row, col])
        if err:
            return _ERRORS[err]
        kind = int(self.kind[row, col])
        if kind == _BLANK:
            return None
        if kind == _TEXT:
            texts = self.texts.get(col)
            text = None if texts is None else texts[row]
            return "" if text is None else text
        if kind == _BOOL:
            return bool(self.num[row, col])
        return float(self.num[row, col])


def _constant_grids(model: WorkbookModel) -> dict[str, SheetGrid]:
    """Every sheet's used area (and array formulas' blocks) with its constant cells filled."""
    grids: dict[str, SheetGrid] = {}
    # an array formula's block may reach past the cells the file stores (Excel need not
    # store members that hold nothing): the grid covers the whole block
    blocks = [array.ref for array in model.array_formulas.values()]
    for sheet in model.sheet_names:
        used = model.used_range(sheet)
        rows = max([used.max_row, *(ref.max_row for ref in blocks if ref.sheet == sheet)])
        cols = max([used.max_col, *(ref.max_col for ref in blocks if ref.sheet == sheet)])
        grids[sheet] = SheetGrid.blank(rows, cols)
    for (sheet, col), column in model.value_columns().items():
        grids[sheet].fill_column(col, np.asarray(column.rows), column.values)
    return grids


class ValueGrid:
    """Grids for every sheet of a model, filled with its constant cells (formulas left blank)."""

    def __init__(self, model: WorkbookModel, overrides: Mapping[CellAddress, Any] | None = None):
        overrides = {a: v for a, v in (overrides or {}).items() if model.sheet_exists(a.sheet)}
        constants = model.memo.get("constant_grids")
        if constants is None:  # filled once per model: compile and write-back both start here
            constants = model.memo["constant_grids"] = _constant_grids(model)
        self.sheets: dict[str, SheetGrid] = {}
        for sheet in model.sheet_names:
            base = constants[sheet]
            rows = max([base.num.shape[0] - 2, *(a.row for a in overrides if a.sheet == sheet)])
            cols = max([base.num.shape[1] - 2, *(a.col for a in overrides if a.sheet == sheet)])
            if (rows + 2, cols + 2) == base.num.shape:
                self.sheets[sheet] = base.copy()
            else:  # an override past the used area: a bigger grid (rare: one cell)
                self.sheets[sheet] = grid = SheetGrid.blank(rows, cols)
                r, c = base.num.shape
                grid.num[:r, :c], grid.kind[:r, :c], grid.err[:r, :c] = (
                    base.num,
                    base.kind,
                    base.err,
                )
                for col, texts in base.texts.items():
                    grid.text_column(col)[:r] = texts
        for address, value in overrides.items():
            self.sheets[address.sheet].set(address.row, address.col, value)

    def get(self, cell: CellAddress) -> Any:
        grid = self.sheets[cell.sheet]
        last_row, last_col = grid.num.shape[0] - 1, grid.num.shape[1] - 1
        row = cell.row if 1 <= cell.row <= last_row else last_row
        col = cell.col if 1 <= cell.col <= last_col else last_col
        return grid.get(row, col)

    def values(self, rng: RangeAddress) -> list[Any]:
        """The Python values of every cell of `rng`, row by row (cells past the grid: blank)."""
        grid, rows, cols = self.indices(
            rng.sheet,
            np.arange(rng.min_row, rng.max_row + 1),
            np.arange(rng.min_col, rng.max_col + 1),
        )
        r, c = rows[:, None], cols[None, :]
        found = grid.num[r, c].ravel().tolist()
        special = (grid.kind[r, c] != _NUMBER) | (grid.err[r, c] != 0)
        n_cols = len(cols)
        for i in np.flatnonzero(special.ravel()).tolist():
            found[i] = grid.get(int(rows[i // n_cols]), int(cols[i % n_cols]))
        return found

    def indices(self, sheet: str, rows: np.ndarray, cols: np.ndarray):
        """`rows` (n, R) and `cols` (C,) clipped into the grid (outside → the blank padding)."""
        grid = self.sheets[sheet]
        return grid, *_clip(grid, rows, cols)

    def gather(self, sheet: str, rows: np.ndarray, cols: np.ndarray) -> Block:
        """The cells at rows (n, R) × cols (C,) as a reference Block (1, n, R, C), float64.

        A reference that moves with the row over a run inside the grid (rows[i, j] = r0 + i + j,
        columns side by side: nearly every reference of a copied formula) is read as slices,
        copied; anything else (anchored rows, OFFSET's computed indices, cells past the grid)
        by fancy indexing, several times slower on a 100k-row run.
        """
        grid = self.sheets[sheet]
        if _is_window(grid, rows, cols):
            return self._gather_window(grid, int(rows[0, 0]), rows.shape, int(cols[0]), len(cols))
        grid, r, c = self.indices(sheet, rows, cols)
        rc = (r[:, :, None], c[None, None, :])
        num = grid.num[rc]
        kind = grid.kind[rc]
        err = grid.err[rc]
        text = None
        if grid.texts and (kind == _TEXT).any():
            text = np.full(num.shape, None, dtype=object)
            for j, col in enumerate(c.tolist()):
                texts = grid.texts.get(col)
                if texts is not None:
                    text[:, :, j] = texts[r]
        return _reference_block(num, kind, err, text)

    def _gather_window(self, grid: SheetGrid, r0: int, shape: tuple[int, int], c0: int, width: int):
        n, height = shape
        region = (slice(r0, r0 + n + height - 1), slice(c0, c0 + width))
        num = _windows(grid.num[region], height)
        kind = _windows(grid.kind[region], height)
        err = _windows(grid.err[region], height)
        text = None
        if grid.texts and (kind == _TEXT).any():
            text = np.full(num.shape, None, dtype=object)
            for j in range(width):
                texts = grid.texts.get(c0 + j)
                if texts is not None:
                    text[:, :, j] = _windows(texts[region[0], None], height)[:, :, 0]
        return _reference_block(num, kind, err, text)

    def write(self, output: RangeAddress, block: Block) -> None:
        """Store a unit's result, already shaped to its output (`interpret.fit_output`), batch 1.

        A run's block is (1, n, 1, 1) down one column; an array formula's is (1, 1, R, C).
        """
        grid = self.sheets[output.sheet]
        shape = output.shape
        target = tuple(block.num.shape[1:])
        num = _plane(block.num, target, shape)
        zeros = np.zeros(shape, np.int8)
        kind = _plane(block.kind, target, shape) if block.kind is not None else zeros
        err = _plane(block.err, target, shape) if block.err is not None else zeros
        r0, c0 = output.min_row, output.min_col
        region = (slice(r0, r0 + shape[0]), slice(c0, c0 + shape[1]))
        grid.num[region] = num
        grid.kind[region] = np.where(kind == _BLANK, _NUMBER, kind)
        grid.err[region] = err
        is_text = kind == _TEXT
        texts = text_array(block).reshape(shape) if block.text is not None else None
        for j in range(shape[1]):
            col = c0 + j
            if col in grid.texts:
                grid.texts[col][region[0]] = None
            if texts is not None and is_text[:, j].any():
                at = np.flatnonzero(is_text[:, j])
                grid.text_column(col)[r0 + at] = [str(text) for text in texts[at, j]]


def _reference_block(num, kind, err, text) -> Block:
    return Block(
        torch.from_numpy(num).unsqueeze(0),
        err=torch.from_numpy(err).unsqueeze(0) if err.any() else None,
        kind=torch.from_numpy(kind).unsqueeze(0) if kind.any() else None,
        text=text,
        from_reference=True,
    )


def _is_window(grid: SheetGrid, rows: np.ndarray, cols: np.ndarray) -> bool:
    """Whether rows (n, R) are r0 + i + j and cols c0 + k, all inside the grid (no clipping)."""
    n, height = rows.shape
    if n < 2 or not len(cols) or not height:
        return False
    r0, c0 = int(rows[0, 0]), int(cols[0])
    last_row, last_col = grid.num.shape[0] - 1, grid.num.shape[1] - 1
    if r0 < 1 or c0 < 1 or r0 + n + height - 2 > last_row or c0 + len(cols) - 1 > last_col:
        return False
    steps = np.arange(max(n, len(cols), height))
    return bool(
        np.array_equal(cols, c0 + steps[: len(cols)])
        and np.array_equal(rows, r0 + steps[:n, None] + steps[None, :height])
    )


def _windows(plane: np.ndarray, height: int) -> np.ndarray:
    """(n + height - 1, C) rows → (n, height, C): row i's window starts at row i (a copy)."""
    if height == 1:
        return plane[:, None, :].copy()
    view = np.lib.stride_tricks.sliding_window_view(plane, height, axis=0)  # (n, C, height)
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def _clip(grid: SheetGrid, rows: np.ndarray, cols: np.ndarray):
    last_row, last_col = grid.num.shape[0] - 1, grid.num.shape[1] - 1
    rows = np.where((rows < 1) | (rows > last_row), last_row, rows)
    cols = np.where((cols < 1) | (cols > last_col), last_col, cols)
    return rows, cols


def _plane(tensor: torch.Tensor, target: tuple[int, ...], shape: tuple[int, int]) -> np.ndarray:
    """Batch 0 of `tensor`, broadcast to `target` (run, rows, cols), as a (rows, cols) plane."""
    values = tensor.detach()[0].cpu().numpy()
    return np.broadcast_to(values, target).reshape(shape)
