"""Array-shaping functions: VSTACK, HSTACK, CHOOSECOLS, CHOOSEROWS, TAKE, DROP, EXPAND.

Excel's rules, as its saved values show them (formulas' test.xlsx, LOOKUP sheet):
- counts are truncated toward zero (-3.9 is -3) and read as arithmetic reads them (``"1.1"``
  is 1.1, TRUE 1, a blank cell 0); a count's error is the result;
- a result with no cells is ``#CALC!``, which files store as ``#VALUE!`` for older readers;
- stacks of ragged arrays are padded with ``#N/A``; errors inside the arrays stay in place;
- an array where a single count belongs (``TAKE(x, 1, {1;2})``) applies the function once per
  count and shows each result's top-left cell (`lookups.per_cell`).
The layout logic lives in `shaping_core`; the values move with one gather.
"""

from __future__ import annotations

import numpy as np

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.lookup.lookups import _numbers, per_cell
from xl_lesson3.formula.functions.lookup.shaping_core import (
    OMITTED,
    Layout,
    assemble,
    counts,
    first_error,
    is_omitted,
    joined,
    run_length,
    same_over_batch,
)
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError

CATEGORY = "Lookup & Reference"
CALC = ErrorCode.VALUE  # Excel's #CALC! (an empty result), as the files store it


def _stack(arrays: tuple[Block, ...], vertical: bool) -> Block:
    """The arrays one below (beside) the other; narrower (shorter) ones padded with #N/A."""
    source, starts = joined(list(arrays))
    across = max(a.shape[1] if vertical else a.shape[0] for a in arrays)
    pieces = []
    for array, start in zip(arrays, starts):
        rows, cols = array.shape
        r = np.arange(rows)[:, None]
        c = np.arange(across if vertical else cols)[None, :]
        if not vertical:
            r = np.arange(across)[:, None]
        flat = start + r * cols + c
        outside = (c >= cols) | (r >= rows)
        err = np.where(outside, np.int8(ErrorCode.NA), np.int8(0))
        pieces.append(Layout(np.where(outside, 0, flat), err))
    axis = 0 if vertical else 1
    layout = Layout(
        np.concatenate([p.flat for p in pieces], axis=axis),
        np.concatenate([p.err for p in pieces], axis=axis),
    )
    return assemble(source, [layout])


@register("VSTACK", min_args=1, max_args=254, category=CATEGORY, array_result=True)
def vstack(*arrays: Block) -> Block:
    """VSTACK(array1, ...): the arrays' rows one after another, as wide as the widest."""
    return _stack(arrays, vertical=True)


@register("HSTACK", min_args=1, max_args=254, category=CATEGORY, array_result=True)
def hstack(*arrays: Block) -> Block:
    """HSTACK(array1, ...): the arrays side by side, as tall as the tallest."""
    return _stack(arrays, vertical=False)


def _indices(blocks: tuple[Block, ...], run: int, size: int) -> list[list[int] | ExcelError]:
    """CHOOSECOLS' column numbers per cell of the run, 0-based; each argument a number or a
    one-row/one-column array of them; 0, beyond `size` or a 2-D array is #VALUE!."""
    out: list[list[int] | ExcelError] = [[] for _ in range(run)]
    for block in blocks:
        if block.shape[0] > 1 and block.shape[1] > 1:
            return [ExcelError(ErrorCode.VALUE)] * run
        values, err = _numbers(block, 0.0)
        values = same_over_batch(values, "column numbers").reshape(values.shape[1], -1)
        err = same_over_batch(err, "column numbers").reshape(err.shape[1], -1)
        for n in range(run):
            if isinstance(out[n], ExcelError):
                continue
            i = min(n, len(values) - 1)
            for number, code in zip(np.trunc(values[i]), err[i]):
                if code:
                    out[n] = ExcelError(ErrorCode(int(code)))
                    break
                if number == 0 or abs(number) > size:
                    out[n] = ExcelError(ErrorCode.VALUE)
                    break
                out[n].append(int(number) - 1 if number > 0 else size + int(number))
    return out


def _choose(array: Block, numbers: tuple[Block, ...], columns: bool) -> Block:
    rows, cols = array.shape
    run = run_length(array, *numbers)
    source, _ = joined([array])
    layouts = []
    for picked in _indices(numbers, run, cols if columns else rows):
        if isinstance(picked, ExcelError):
            layouts.append(Layout.error(picked.code))
            continue
        chosen = np.array(picked, dtype=np.int64)
        if columns:
            layouts.append(Layout.of(np.arange(rows)[:, None] * cols + chosen[None, :]))
        else:
            layouts.append(Layout.of(chosen[:, None] * cols + np.arange(cols)[None, :]))
    return assemble(source, layouts)


@register("CHOOSECOLS", min_args=2, max_args=254, category=CATEGORY, array_result=True)
def choosecols(array: Block, *col_nums: Block) -> Block:
    """CHOOSECOLS(array, col_num1, ...): the given columns, in order; negative from the end."""
    return _choose(array, col_nums, columns=True)


@register("CHOOSEROWS", min_args=2, max_args=254, category=CATEGORY, array_result=True)
def chooserows(array: Block, *row_nums: Block) -> Block:
    """CHOOSEROWS(array, row_num1, ...): the given rows, in order; negative from the end."""
    return _choose(array, row_nums, columns=False)


def _span(count: float | None, size: int, take_: bool) -> range | ExcelError:
    """The kept positions along one axis: TAKE keeps `count` from the start (the end when
    negative), DROP removes them; nothing kept is #CALC!."""
    if count is OMITTED:
        return range(size)
    n = int(np.trunc(count))
    if take_:
        kept = range(min(n, size)) if n >= 0 else range(max(size + n, 0), size)
    else:
        kept = range(min(n, size), size) if n >= 0 else range(max(size + n, 0))
    return kept if len(kept) else ExcelError(CALC)


def _take_or_drop(array: Block, rows_n: Block | None, cols_n: Block | None, take_: bool):
    rows, cols = array.shape
    run = run_length(array, rows_n, cols_n)
    source, _ = joined([array])
    layouts = []
    for r_count, c_count in zip(counts(rows_n, run, "rows"), counts(cols_n, run, "columns")):
        error = first_error(r_count, c_count)
        if error is None:
            kept_rows, kept_cols = _span(r_count, rows, take_), _span(c_count, cols, take_)
            error = first_error(kept_rows, kept_cols)
        if error is not None:
            layouts.append(Layout.error(error.code))
            continue
        flat = np.array(kept_rows)[:, None] * cols + np.array(kept_cols)[None, :]
        layouts.append(Layout.of(flat))
    return assemble(source, layouts)


@register("TAKE", min_args=2, max_args=3, category=CATEGORY, array_result=True)
def take_(array: Block, rows: Block, columns: Block | None = None) -> Block:
    """TAKE(array, rows, [columns]): the first rows/columns (the last for negative counts)."""
    lifted = per_cell(take_, [array, rows, columns], scalar=(1, 2), trigger=(1, 2))
    return lifted if lifted is not None else _take_or_drop(array, rows, columns, take_=True)


@register("DROP", min_args=2, max_args=3, category=CATEGORY, array_result=True)
def drop(array: Block, rows: Block, columns: Block | None = None) -> Block:
    """DROP(array, rows, [columns]): without the first rows/columns (the last for negative)."""
    lifted = per_cell(drop, [array, rows, columns], scalar=(1, 2), trigger=(1, 2))
    return lifted if lifted is not None else _take_or_drop(array, rows, columns, take_=False)


@register("EXPAND", min_args=2, max_args=4, category=CATEGORY, array_result=True)
def expand(array: Block, rows: Block, columns: Block | None = None, pad_with=None) -> Block:
    """EXPAND(array, rows, [columns], [pad_with=#N/A]): the array grown to rows × columns;
    fewer rows or columns than it has is #VALUE!."""
    args = [array, rows, columns, pad_with]
    lifted = per_cell(expand, args, scalar=(1, 2, 3), trigger=(1, 2, 3))
    if lifted is not None:
        return lifted
    n_rows, n_cols = array.shape
    run = run_length(array, rows, columns)
    padded = not is_omitted(pad_with)
    blocks = [array, pad_with] if padded else [array]
    source, starts = joined(blocks)
    layouts = []
    for r_count, c_count in zip(counts(rows, run, "rows"), counts(columns, run, "columns")):
        error = first_error(r_count, c_count)
        if error is not None:
            layouts.append(Layout.error(error.code))
            continue
        target = (_size(r_count, n_rows), _size(c_count, n_cols))
        if target[0] < n_rows or target[1] < n_cols:
            layouts.append(Layout.error(ErrorCode.VALUE))
            continue
        r = np.arange(target[0])[:, None]
        c = np.arange(target[1])[None, :]
        inside = (r < n_rows) & (c < n_cols)
        flat = np.where(inside, r * n_cols + c, starts[-1] if padded else 0)
        err = np.where(inside | padded, np.int8(0), np.int8(ErrorCode.NA))
        layouts.append(Layout(flat, err))
    return assemble(source, layouts)


def _size(count: float | None, current: int) -> int:
    return current if count is OMITTED else int(np.trunc(count))
