"""Calling a Python text function cell by cell when some arguments are taken whole.

Excel's newer text functions mix two kinds of argument: most are read one value at a time
(a range there makes the function run once per cell and return an array of results), but a few
take a whole array (TEXTSPLIT's delimiters, ARRAYTOTEXT's array). And some return an array
themselves (TEXTSPLIT, REGEXEXTRACT's modes 1 and 2), which Excel spills when the one-value
arguments are single values; when they are arrays, each result is cut to its top-left value
(Excel's saved ``{=TEXTSPLIT(C47:Q47, 1)}`` shows the first piece of each split).

A run's cells may get arrays of different sizes: the block takes the largest, and the cells
beyond a smaller result hold ``#N/A``, as Excel fills an array formula's range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_number,
    block_from_cells,
    cell_values,
)
from xl_lesson3.formula.functions.core.literals import block_from_values
from xl_lesson3.formula.functions.core.shapes import align
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError, Kind

Result = object  # a Cell, or a 2-D list / object array of Cells


def _grid(result: Result) -> np.ndarray:
    """A result as a 2-D object array (a single value is 1×1)."""
    if isinstance(result, np.ndarray):
        return result.reshape(result.shape[0], -1) if result.ndim else result.reshape(1, 1)
    if isinstance(result, list):
        rows = [row if isinstance(row, list) else [row] for row in result]
        out = np.empty((len(rows), max(len(row) for row in rows)), dtype=object)
        out[:] = ExcelError(ErrorCode.NA)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                out[i, j] = value
        return out
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = result
    return out


def map_mixed(
    fn: Callable[..., Result], args: Sequence[Block | None], whole: Sequence[int] = ()
) -> Block:
    """`fn` called per cell of the one-value arguments, with the arguments at positions `whole`
    passed as ``(rows, cols)`` object arrays; None arguments pass None.

    `fn` receives Python cell values (errors included: it decides their precedence) and
    returns a cell value or a 2-D array of them.
    """
    present = [args[i] for i in range(len(args)) if i not in whole and args[i] is not None]
    aligned = iter(align(*present)) if present else iter(())
    blocks = [
        None if block is None or i in whole else next(aligned) for i, block in enumerate(args)
    ]
    arrays = [None if block is None else cell_values(block) for block in blocks]
    wholes = {i: cell_values(args[i]) for i in whole if args[i] is not None}
    shapes = [array.shape for array in arrays if array is not None]
    runs = [array.shape[0] for array in wholes.values()]
    shape = np.broadcast_shapes(*shapes, (max(runs, default=1), 1, 1))
    arrays = [None if a is None else np.broadcast_to(a, shape) for a in arrays]
    single = shape[1:] == (1, 1)
    results: dict[tuple[int, ...], np.ndarray] = {}
    for index in np.ndindex(shape):
        run = index[0]
        values = [
            wholes[i][min(run, wholes[i].shape[0] - 1)]
            if i in wholes
            else (None if arrays[i] is None else arrays[i][index])
            for i in range(len(args))
        ]
        grid = _grid(fn(*values))
        results[index] = grid if single else grid[:1, :1]
    rows = max(grid.shape[0] for grid in results.values())
    cols = max(grid.shape[1] for grid in results.values())
    if single:
        out = np.empty((shape[0], rows, cols), dtype=object)
        out[:] = ExcelError(ErrorCode.NA)
        for (run, _, _), grid in results.items():
            out[run, : grid.shape[0], : grid.shape[1]] = grid
    else:
        out = np.empty(shape, dtype=object)
        for index, grid in results.items():
            out[index] = grid[0, 0]
    like = next(block for block in args if block is not None)
    return block_from_cells(out, like.num)


# -- reading option arguments ------------------------------------------------------------------


def as_logical(value: Cell) -> bool | ExcelError:
    """A TRUE/FALSE option: numbers are TRUE unless 0, blank is FALSE, and text only when it
    spells TRUE or FALSE in any case (Excel's saved ``FIXED(1, 3, "TRuE")`` drops the commas
    and ``FIXED(1, 3, "1")`` is #VALUE!)."""
    if isinstance(value, ExcelError):
        return value
    if isinstance(value, str):
        word = value.strip().upper()
        if word not in ("TRUE", "FALSE"):
            return ExcelError(ErrorCode.VALUE)
        return word == "TRUE"
    return bool(value)


def as_choice(value: Cell, allowed: range) -> int | ExcelError:
    """An integer option (truncated) that must lie in `allowed`, else #VALUE!."""
    number = as_number(value)
    if isinstance(number, ExcelError):
        return number
    choice = int(number)
    return choice if choice in allowed else ExcelError(ErrorCode.VALUE)


def or_default(block: Block | None, default: object) -> Block:
    """`block`, or `default` when the argument was left out: not written at all, or written
    as an empty place (``TEXTSPLIT(A1,,";")``), which reads as a blank literal. A reference
    to a blank cell is given, and read as blank."""
    if block is None or (
        not block.from_reference
        and block.is_scalar
        and block.kind is not None
        and bool((block.kind == Kind.BLANK).all())
    ):
        return block_from_values(default)
    return block
