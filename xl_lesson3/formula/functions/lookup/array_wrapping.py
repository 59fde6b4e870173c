"""Reflowing arrays: TOCOL, TOROW, WRAPROWS, WRAPCOLS, and TRIMRANGE's blank-edge trimming.

Excel's rules as its saved values show them (formulas' test.xlsx, LOOKUP sheet):
- TOCOL/TOROW's ``ignore`` is 0 (keep all), 1 (skip blanks), 2 (skip errors) or 3 (both),
  truncated; anything else is #VALUE!; nothing left is #CALC! (stored as #VALUE!);
- WRAPROWS/WRAPCOLS take a one-row or one-column vector (else #VALUE!), a ``wrap_count`` below 1
  is #NUM!, and the last row (column) is padded with ``pad_with`` (#N/A by default);
- TRIMRANGE's trim modes are the integers 0–3 (a fraction is #VALUE!, an array of them #VALUE!
  cell by cell); a range that is blank throughout is #REF!.
An array where a single count belongs applies the function per count (`lookups.per_cell`).
"""

from __future__ import annotations

import numpy as np

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.lookup.lookups import per_cell
from xl_lesson3.formula.functions.lookup.matching import block_from_values
from xl_lesson3.formula.functions.lookup.shaping_core import (
    OMITTED,
    Layout,
    assemble,
    counts,
    error_block,
    errors_and_blanks,
    first_error,
    is_omitted,
    joined,
    run_length,
)
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError

CATEGORY = "Lookup & Reference"
CALC = ErrorCode.VALUE  # Excel's #CALC! (an empty result), as the files store it


def _to_line(array: Block, ignore, scan_by_column, as_column: bool) -> Block:
    rows, cols = array.shape
    run = run_length(array, ignore, scan_by_column)
    err, blank = errors_and_blanks(array, run, "the cells TOCOL skips")
    source, _ = joined([array])
    order = np.arange(rows * cols).reshape(rows, cols)
    layouts = []
    for n, (mode, by_col) in enumerate(
        zip(counts(ignore, run, "ignore"), counts(scan_by_column, run, "scan_by_column"))
    ):
        error = first_error(mode, by_col)
        mode = 0 if mode is OMITTED else int(np.trunc(mode)) if error is None else 0
        if error is None and mode not in (0, 1, 2, 3):
            error = ExcelError(ErrorCode.VALUE)
        if error is not None:
            layouts.append(Layout.error(error.code))
            continue
        keep = np.ones((rows, cols), dtype=bool)
        if mode & 1:
            keep &= ~blank[n]
        if mode & 2:
            keep &= err[n] == 0
        by_columns = by_col is not OMITTED and by_col != 0
        picked = order.T[keep.T] if by_columns else order[keep]
        if not len(picked):
            layouts.append(Layout.error(CALC))
            continue
        layouts.append(Layout.of(picked[:, None] if as_column else picked[None, :]))
    return assemble(source, layouts)


@register("TOCOL", min_args=1, max_args=3, category=CATEGORY, array_result=True)
def tocol(array: Block, ignore=None, scan_by_column=None) -> Block:
    """TOCOL(array, [ignore=0], [scan_by_column=FALSE]): the cells in one column."""
    lifted = per_cell(tocol, [array, ignore, scan_by_column], scalar=(1, 2), trigger=(1, 2))
    return lifted if lifted is not None else _to_line(array, ignore, scan_by_column, True)


@register("TOROW", min_args=1, max_args=3, category=CATEGORY, array_result=True)
def torow(array: Block, ignore=None, scan_by_column=None) -> Block:
    """TOROW(array, [ignore=0], [scan_by_column=FALSE]): the cells in one row."""
    lifted = per_cell(torow, [array, ignore, scan_by_column], scalar=(1, 2), trigger=(1, 2))
    return lifted if lifted is not None else _to_line(array, ignore, scan_by_column, False)


def _wrap(vector: Block, wrap_count: Block, pad_with, by_rows: bool) -> Block:
    rows, cols = vector.shape
    if rows > 1 and cols > 1:
        return error_block(ErrorCode.VALUE, vector)
    length = rows * cols
    run = run_length(vector, wrap_count)
    padded = not is_omitted(pad_with)
    source, starts = joined([vector, pad_with] if padded else [vector])
    layouts = []
    for count in counts(wrap_count, run, "wrap_count"):
        if isinstance(count, ExcelError):
            layouts.append(Layout.error(count.code))
            continue
        width = int(np.trunc(count)) if count is not OMITTED else 0
        if width < 1:
            layouts.append(Layout.error(ErrorCode.NUM))
            continue
        lines = -(-length // width)
        position = np.arange(lines * width).reshape(lines, width)
        inside = position < length
        flat = np.where(inside, position, starts[-1] if padded else 0)
        err = np.where(inside | padded, np.int8(0), np.int8(ErrorCode.NA))
        layouts.append(Layout(flat, err) if by_rows else Layout(flat.T, err.T))
    return assemble(source, layouts)


@register("WRAPROWS", min_args=2, max_args=3, category=CATEGORY, array_result=True)
def wraprows(vector: Block, wrap_count: Block, pad_with=None) -> Block:
    """WRAPROWS(vector, wrap_count, [pad_with=#N/A]): the vector in rows of wrap_count."""
    lifted = per_cell(wraprows, [vector, wrap_count, pad_with], scalar=(1, 2), trigger=(1, 2))
    return lifted if lifted is not None else _wrap(vector, wrap_count, pad_with, by_rows=True)


@register("WRAPCOLS", min_args=2, max_args=3, category=CATEGORY, array_result=True)
def wrapcols(vector: Block, wrap_count: Block, pad_with=None) -> Block:
    """WRAPCOLS(vector, wrap_count, [pad_with=#N/A]): the vector in columns of wrap_count."""
    lifted = per_cell(wrapcols, [vector, wrap_count, pad_with], scalar=(1, 2), trigger=(1, 2))
    return lifted if lifted is not None else _wrap(vector, wrap_count, pad_with, by_rows=False)


def _trim_mode(value) -> int | ExcelError:
    if value is OMITTED:
        return 3
    if isinstance(value, ExcelError):
        return value
    if value != int(value) or not 0 <= value <= 3:
        return ExcelError(ErrorCode.VALUE)
    return int(value)


def _kept(nonblank: np.ndarray, mode: int) -> range:
    """The positions kept along one axis: blank lines cut from the start (mode 1), the end
    (2) or both (3)."""
    filled = np.flatnonzero(nonblank)
    first = int(filled[0]) if mode & 1 else 0
    last = int(filled[-1]) if mode & 2 else len(nonblank) - 1
    return range(first, last + 1)


@register("TRIMRANGE", min_args=1, max_args=3, category=CATEGORY, array_result=True)
def trimrange(range_: Block, rows_to_trim=None, cols_to_trim=None) -> Block:
    """TRIMRANGE(range, [rows_to_trim=3], [cols_to_trim=3]): the range without its blank
    leading (1), trailing (2) or both (3) rows and columns."""
    modes = [b for b in (rows_to_trim, cols_to_trim) if b is not None]
    if any(not b.is_scalar for b in modes):
        shape = tuple(max(b.shape[i] for b in modes) for i in (0, 1))
        return block_from_values(np.full(shape, ExcelError(ErrorCode.VALUE), dtype=object))
    cols = range_.shape[1]
    run = run_length(range_, rows_to_trim, cols_to_trim)
    err, blank = errors_and_blanks(range_, run, "the cells TRIMRANGE trims")
    source, _ = joined([range_])
    layouts = []
    for n, (r_mode, c_mode) in enumerate(
        zip(counts(rows_to_trim, run, "rows_to_trim"), counts(cols_to_trim, run, "cols_to_trim"))
    ):
        r_mode, c_mode = _trim_mode(r_mode), _trim_mode(c_mode)
        error = first_error(r_mode, c_mode)
        filled = ~blank[n] | (err[n] != 0)
        if error is None and not filled.any():
            error = ExcelError(ErrorCode.REF)
        if error is not None:
            layouts.append(Layout.error(error.code))
            continue
        kept_rows = np.array(_kept(filled.any(axis=1), r_mode))
        kept_cols = np.array(_kept(filled.any(axis=0), c_mode))
        layouts.append(Layout.of(kept_rows[:, None] * cols + kept_cols[None, :]))
    return assemble(source, layouts)
