"""`ValueGrid.gather` reads a reference's cells for a whole run: checked cell by cell against
the grid's own `get`, for the sliced path (a reference moving with the row) and the indexed one."""

from __future__ import annotations

import numpy as np
import pytest

from xl_lesson3.formula.evaluate.grid import SheetGrid, ValueGrid
from xl_lesson3.formula.scalars import ErrorCode, ExcelError, Kind

ROWS, COLS = 12, 5


def _grid() -> ValueGrid:
    """One sheet "s" of ROWS × COLS: numbers, text, booleans, an error and blanks."""
    sheet = SheetGrid.blank(ROWS, COLS)
    for row in range(1, ROWS + 1):
        for col in range(1, COLS + 1):
            pick = (row * 7 + col * 3) % 6
            value = {
                0: row + col / 10,
                1: f"t{row}.{col}",
                2: row % 2 == 0,
                3: None,
                4: ExcelError(ErrorCode.DIV0) if row == 5 else -row,
                5: float(col),
            }[pick]
            sheet.set(row, col, value)
    grid = ValueGrid.__new__(ValueGrid)
    grid.sheets = {"s": sheet}
    return grid


def _expected(grid: ValueGrid, rows: np.ndarray, cols: np.ndarray) -> list:
    """Each cell's Python value, past the grid blank, by `SheetGrid.get` one at a time."""
    sheet = grid.sheets["s"]
    found = []
    for i in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            for col in cols.tolist():
                row = int(rows[i, j])
                inside = 1 <= row <= ROWS and 1 <= col <= COLS
                found.append(sheet.get(row, col) if inside else None)
    return found


def _values(block) -> list:
    """The block's cells as Python values, in the same order as `_expected`."""
    num = block.num[0].numpy().ravel()
    kind = np.zeros(num.shape, np.int8) if block.kind is None else block.kind[0].numpy().ravel()
    err = np.zeros(num.shape, np.int8) if block.err is None else block.err[0].numpy().ravel()
    text = None if block.text is None else np.asarray(block.text).reshape(-1)[-num.size :]
    found = []
    for k in range(num.size):
        if err[k]:
            found.append(ExcelError(ErrorCode(int(err[k]))))
        elif kind[k] == Kind.BLANK:
            found.append(None)
        elif kind[k] == Kind.TEXT:
            found.append(text[k])
        elif kind[k] == Kind.BOOL:
            found.append(bool(num[k]))
        else:
            found.append(float(num[k]))
    return found


@pytest.mark.parametrize(
    ("first", "n", "offsets", "cols"),
    [
        (1, ROWS, (0,), (1, 2, 3, 4, 5)),  # a whole column block, one row each: sliced
        (2, 6, (0, 1, 2), (2, 3)),  # a 3-row window moving down: sliced
        (3, 5, (-2, -1), (4,)),  # windows above the row: sliced
        (8, 8, (0,), (1, 2)),  # runs past the grid: indexed, blank there
        (1, 4, (0,), (3, 1)),  # columns not side by side: indexed
        (0, 3, (0, 1), (2,)),  # row 0 (outside): indexed
    ],
    ids=["column-block", "window", "above", "past-the-end", "scattered-cols", "row-zero"],
)
def test_gather_reads_every_cell_as_get_does(first, n, offsets, cols):
    grid = _grid()
    rows = np.arange(first, first + n)[:, None] + np.array(offsets)[None, :]
    cols = np.array(cols)
    block = grid.gather("s", rows, cols)
    assert tuple(block.num.shape) == (1, n, len(offsets), len(cols))
    assert _values(block) == _expected(grid, rows, cols)
