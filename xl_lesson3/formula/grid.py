"""Cell values as dense numpy grids per sheet: the store that evaluation reads and writes.

Every sheet's used area becomes four arrays (number, kind, error code, and a sparse dict for
text), indexed 1-based so that ``grid.num[row, col]`` is the cell. A reference is read with one
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

from xl_lesson3.formula.functions.shapes import text_array
from xl_lesson3.formula.scalars import ErrorCode, ExcelError, Kind
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel


@dataclass
class SheetGrid:
    """One sheet's values; row and column 0 and the last row/column are padding (blank)."""

    num: np.ndarray  # (rows + 2, cols + 2) float64
    kind: np.ndarray  # same shape, int8 Kind
    err: np.ndarray  # same shape, int8 ErrorCode
    text: dict[tuple[int, int], str] = field(default_factory=dict)

    @classmethod
    def blank(cls, rows: int, cols: int) -> SheetGrid:
        shape = (rows + 2, cols + 2)
        return cls(
            np.zeros(shape, dtype=np.float64),
            np.full(shape, int(Kind.BLANK), dtype=np.int8),
            np.zeros(shape, dtype=np.int8),
        )

    def set(self, row: int, col: int, value: Any) -> None:
        """Store one Python value (number, bool, text, None, ExcelError)."""
        self.text.pop((row, col), None)
        self.num[row, col], self.err[row, col] = 0.0, 0
        if value is None:
            self.kind[row, col] = Kind.BLANK
        elif isinstance(value, bool):
            self.num[row, col], self.kind[row, col] = float(value), Kind.BOOL
        elif isinstance(value, (int, float)):
            self.num[row, col], self.kind[row, col] = float(value), Kind.NUMBER
        elif isinstance(value, ExcelError):
            self.kind[row, col], self.err[row, col] = Kind.NUMBER, int(value.code)
        else:
            self.kind[row, col] = Kind.TEXT
            self.text[(row, col)] = str(value)

    def get(self, row: int, col: int) -> Any:
        """The Python value of one cell."""
        if self.err[row, col]:
            return ExcelError(ErrorCode(int(self.err[row, col])))
        kind = self.kind[row, col]
        if kind == Kind.BLANK:
            return None
        if kind == Kind.TEXT:
            return self.text.get((row, col), "")
        if kind == Kind.BOOL:
            return bool(self.num[row, col])
        return float(self.num[row, col])


class ValueGrid:
    """Grids for every sheet of a model, filled with its constant cells (formulas left blank)."""

    def __init__(self, model: WorkbookModel, overrides: Mapping[CellAddress, Any] | None = None):
        overrides = {a: v for a, v in (overrides or {}).items() if model.sheet_exists(a.sheet)}
        self.sheets: dict[str, SheetGrid] = {}
        for sheet in model.sheet_names:
            used = model.used_range(sheet)
            rows = max([used.max_row, *(a.row for a in overrides if a.sheet == sheet)])
            cols = max([used.max_col, *(a.col for a in overrides if a.sheet == sheet)])
            self.sheets[sheet] = SheetGrid.blank(rows, cols)
        for address, cell in model.cells.items():
            if cell.formula is None:
                self.sheets[address.sheet].set(address.row, address.col, cell.value)
        for address, value in overrides.items():
            self.sheets[address.sheet].set(address.row, address.col, value)

    def get(self, cell: CellAddress) -> Any:
        grid = self.sheets[cell.sheet]
        rows, cols = _clip(grid, np.array(cell.row), np.array(cell.col))
        return grid.get(int(rows), int(cols))

    def indices(self, sheet: str, rows: np.ndarray, cols: np.ndarray):
        """`rows` (n, R) and `cols` (C,) clipped into the grid (outside → the blank padding)."""
        grid = self.sheets[sheet]
        return grid, *_clip(grid, rows, cols)

    def gather(self, sheet: str, rows: np.ndarray, cols: np.ndarray) -> Block:
        """The cells at rows (n, R) × cols (C,) as a reference Block (1, n, R, C), float64."""
        grid, r, c = self.indices(sheet, rows, cols)
        r, c = r[:, :, None], c[None, None, :]
        num = grid.num[r, c]
        kind = grid.kind[r, c]
        err = grid.err[r, c]
        text = None
        if grid.text and (kind == Kind.TEXT).any():
            text = np.full(num.shape, None, dtype=object)
            for k, i, j in zip(*np.nonzero(kind == Kind.TEXT), strict=True):
                text[k, i, j] = grid.text.get((int(r[k, i, 0]), int(c[0, 0, j])), "")
        return Block(
            torch.from_numpy(num).unsqueeze(0),
            err=torch.from_numpy(err).unsqueeze(0) if err.any() else None,
            kind=torch.from_numpy(kind).unsqueeze(0) if kind.any() else None,
            text=text,
            from_reference=True,
        )

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
        grid.kind[region] = np.where(kind == Kind.BLANK, int(Kind.NUMBER), kind)
        grid.err[region] = err
        for cell in output.cells():
            grid.text.pop((cell.row, cell.col), None)
        if block.text is not None and (kind == Kind.TEXT).any():
            texts = text_array(block).reshape(shape)
            for i, j in zip(*np.nonzero(kind == Kind.TEXT), strict=True):
                grid.text[(r0 + int(i), c0 + int(j))] = str(texts[i, j])


def _clip(grid: SheetGrid, rows: np.ndarray, cols: np.ndarray):
    last_row, last_col = grid.num.shape[0] - 1, grid.num.shape[1] - 1
    rows = np.where((rows < 1) | (rows > last_row), last_row, rows)
    cols = np.where((cols < 1) | (cols > last_col), last_col, cols)
    return rows, cols


def _plane(tensor: torch.Tensor, target: tuple[int, ...], shape: tuple[int, int]) -> np.ndarray:
    """Batch 0 of `tensor`, broadcast to `target` (run, rows, cols), as a (rows, cols) plane."""
    values = tensor.detach()[0].cpu().numpy()
    return np.broadcast_to(values, target).reshape(shape)
