"""Conversions between Python cell values and `Block`s.

Python values are what a workbook model and `evaluate` use: float/int, bool, str, None (blank)
and `ExcelError`. `block_from_values` builds a block from a scalar or a 2-D list of them (the
err/kind/text fields only when needed, so plain numbers take the fast path);
`block_to_values` reads one cell or range of a block back. `blank` is what an empty argument,
as in ``IF(A1,,2)``, evaluates to.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from xl_lesson3.formula.values import Block, ErrorCode, ExcelError, Kind


def _grid(values: object) -> list[list[object]]:
    if isinstance(values, (list, tuple)):
        rows = [list(row) if isinstance(row, (list, tuple)) else [row] for row in values]
        if len({len(row) for row in rows}) > 1:
            raise ValueError("ragged rows in a block of values")
        return rows
    return [[values]]


def block_from_values(
    values: object,
    *,
    from_reference: bool = False,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Block:
    """A ``(1, 1, rows, cols)`` block from a scalar or a list of rows of cell values.

    A 1-D list is read as a column. ``from_reference`` says the values came from a range
    reference, which changes how aggregates read them (see `coercion`).
    """
    grid = _grid(values)
    shape = (len(grid), len(grid[0]))
    num = np.zeros(shape)
    err = np.zeros(shape, dtype=np.int8)
    kind = np.zeros(shape, dtype=np.int8)
    text = np.full(shape, None, dtype=object)
    for (r, c), value in np.ndenumerate(np.array(grid, dtype=object).reshape(shape)):
        if isinstance(value, ExcelError):
            err[r, c] = value.code
        elif isinstance(value, ErrorCode):
            err[r, c] = value
        elif value is None:
            kind[r, c] = Kind.BLANK
        elif isinstance(value, (bool, np.bool_)):
            kind[r, c], num[r, c] = Kind.BOOL, float(value)
        elif isinstance(value, str):
            kind[r, c], text[r, c] = Kind.TEXT, value
        elif isinstance(value, (int, float, np.number)) and math.isfinite(value):
            num[r, c] = float(value)
        elif isinstance(value, (int, float, np.number)):
            err[r, c] = ErrorCode.NUM
        else:
            raise TypeError(f"not a cell value: {value!r}")

    def tensor(array: np.ndarray, tensor_dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(array, device=device).to(tensor_dtype)[None, None]

    return Block(
        tensor(num, dtype),
        err=tensor(err, torch.int8) if err.any() else None,
        kind=tensor(kind, torch.int8) if kind.any() else None,
        text=text[None] if (kind == Kind.TEXT).any() else None,
        from_reference=from_reference,
    )


def blank(dtype: torch.dtype = torch.float64, device=None) -> Block:
    """A blank cell: the value of an empty argument (``IF(A1,,2)``) or an empty referenced cell."""
    num = torch.zeros((1, 1, 1, 1), dtype=dtype, device=device)
    return Block(
        num, kind=torch.full((1, 1, 1, 1), int(Kind.BLANK), dtype=torch.int8, device=device)
    )


def _cell(block: Block, index: tuple[int, int, int, int]) -> object:
    """One cell as a Python value; inf/NaN (never an Excel value) reads as #NUM!."""
    if block.err is not None:
        code = int(block.err.expand_as(block.num)[index])
        if code:
            return ExcelError(ErrorCode(code))
    value = float(block.num[index])
    kind = Kind.NUMBER if block.kind is None else Kind(int(block.kind.expand_as(block.num)[index]))
    if kind is Kind.TEXT:
        text = np.broadcast_to(block.text, block.num.shape[1:])
        return text[index[1:]]
    if kind is Kind.BLANK:
        return None
    if not math.isfinite(value):
        return ExcelError(ErrorCode.NUM)
    if kind is Kind.BOOL:
        return value != 0
    return value


def block_to_values(block: Block, batch: int = 0, run: int = 0) -> object | list[list[object]]:
    """One (batch, run) entry of a block as a Python value (1×1) or a list of rows."""
    batch = batch if block.num.shape[0] > 1 else 0
    run = run if block.num.shape[1] > 1 else 0
    rows, cols = block.shape
    cells = [[_cell(block, (batch, run, r, c)) for c in range(cols)] for r in range(rows)]
    return cells[0][0] if (rows, cols) == (1, 1) else cells
