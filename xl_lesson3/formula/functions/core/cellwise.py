"""Cell-by-cell functions in Python, for what tensors cannot hold: text, dates, base conversions.

Text lives in numpy beside the tensors (see `values`), so text functions (LEFT, TEXT, CONVERT's
unit names...) read each cell as a Python value, compute a Python value, and build a block back.
That is one call per run of cells, as for every function, with a Python loop inside it. The
numbers they read must be the same for every solver restart (`same_for_every_restart`): such a
function of the changing cells cannot be compiled, and says so; in evaluation it always works.
Results carry no gradient: these functions are piecewise constant or not numeric at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from xl_lesson3.formula.functions.core.coercion import parse_number
from xl_lesson3.formula.functions.core.comparison import format_number
from xl_lesson3.formula.functions.core.shapes import align, same_for_every_restart, text_array
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError, Kind

Cell = object  # float | bool | str | None | ExcelError


def cell_values(block: Block, what: str = "a text function's argument") -> np.ndarray:
    """The block's cells as Python values, an object array ``(run, rows, cols)``."""
    numbers = same_for_every_restart(block.num, what)
    shape = numbers.shape
    kinds = np.zeros(shape, dtype=np.int8)
    if block.kind is not None:
        kinds = np.broadcast_to(same_for_every_restart(block.kind, what), shape)
    errors = np.zeros(shape, dtype=np.int8)
    if block.err is not None:
        errors = np.broadcast_to(same_for_every_restart(block.err, what), shape)
    texts = text_array(block)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        if errors[index]:
            out[index] = ExcelError(ErrorCode(int(errors[index])))
            continue
        kind = kinds[index]
        if kind == Kind.TEXT:
            out[index] = texts[index]
        elif kind == Kind.BOOL:
            out[index] = bool(numbers[index])
        elif kind == Kind.BLANK:
            out[index] = None
        else:
            out[index] = float(numbers[index])
    return out


def block_from_cells(cells: np.ndarray, like: torch.Tensor) -> Block:
    """A ``(1, run, rows, cols)`` block from an object array of Python cell values."""
    shape = cells.shape
    num = np.zeros(shape)
    err = np.zeros(shape, dtype=np.int8)
    kind = np.zeros(shape, dtype=np.int8)
    text = np.full(shape, None, dtype=object)
    for index, value in np.ndenumerate(cells):
        if isinstance(value, ExcelError):
            err[index] = value.code
        elif value is None:
            kind[index] = Kind.BLANK
        elif isinstance(value, (bool, np.bool_)):
            kind[index], num[index] = Kind.BOOL, float(value)
        elif isinstance(value, str):
            kind[index], text[index] = Kind.TEXT, value
        elif math.isfinite(value):
            num[index] = float(value)
        else:
            err[index] = ErrorCode.NUM

    def tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(array, device=like.device).to(dtype)[None]

    return Block(
        tensor(num, like.dtype),
        err=tensor(err, torch.int8) if err.any() else None,
        kind=tensor(kind, torch.int8) if kind.any() else None,
        text=text if (kind == Kind.TEXT).any() else None,
    )


def first_error_of(values: tuple[Cell, ...]) -> ExcelError | None:
    """The first error among a cell's arguments (Excel reports the leftmost)."""
    for value in values:
        if isinstance(value, ExcelError):
            return value
    return None


def map_cells(fn: Callable[..., Cell], *blocks: Block | None, errors_in: bool = False) -> Block:
    """``fn`` applied cell by cell to aligned blocks; a None block passes None to `fn`.

    Unless `errors_in`, a cell where any argument is an error takes the first such error and
    `fn` is not called. `fn` returns a Python cell value (an `ExcelError` for errors).
    """
    present = [block for block in blocks if block is not None]
    aligned = iter(align(*present))
    blocks = tuple(None if block is None else next(aligned) for block in blocks)
    arrays = [None if block is None else cell_values(block) for block in blocks]
    shape = np.broadcast_shapes(*(array.shape for array in arrays if array is not None))
    arrays = [None if a is None else np.broadcast_to(a, shape) for a in arrays]
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        args = tuple(None if a is None else a[index] for a in arrays)
        error = None if errors_in else first_error_of(args)
        out[index] = error if error is not None else fn(*args)
    return block_from_cells(out, present[0].num)


def value_error() -> ExcelError:
    return ExcelError(ErrorCode.VALUE)


def num_error() -> ExcelError:
    return ExcelError(ErrorCode.NUM)


def na_error() -> ExcelError:
    return ExcelError(ErrorCode.NA)


def as_number(value: Cell) -> float | ExcelError:
    """A cell read as a number the way arithmetic reads it (``"3"`` is 3, TRUE 1, blank 0)."""
    if isinstance(value, ExcelError):
        return value
    if value is None:
        return 0.0
    if isinstance(value, str):
        parsed = parse_number(value)
        return value_error() if parsed is None else parsed
    return float(value)


def as_text(value: Cell) -> str | ExcelError:
    """A cell read as text the way ``&`` reads it (1.5 is "1.5", TRUE "TRUE", blank "")."""
    if isinstance(value, ExcelError):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    return format_number(float(value))


def numeric(fn: Callable[..., Cell]) -> Callable[..., Cell]:
    """Wrap `fn` so its arguments arrive as numbers (`as_number`); a non-number is the error.

    Optional arguments must be given a default block by the caller: a blank reads as 0.
    """

    def wrapped(*values: Cell) -> Cell:
        numbers = tuple(as_number(value) for value in values)
        error = first_error_of(numbers)
        return error if error is not None else fn(*numbers)

    return wrapped
