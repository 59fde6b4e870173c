"""SORTBY: an array's rows (or columns) ordered by other arrays, key after key.

Each ``by_array`` is one column as tall as the array (rows are sorted) or one row as wide as
it (columns are sorted), all of one orientation; anything else is #VALUE!, as is a sort order
other than 1 or -1. Values order as SORT orders them (`matching.order_key`: numbers, text any
case, booleans, errors, then blanks); the sort is stable. The keys decide a permutation (no
gradient); the values move with one gather, so gradients follow them.
"""

from __future__ import annotations

import functools

import numpy as np

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.lookup.matching import cell_values, order_key
from xl_lesson3.formula.functions.lookup.shaping_core import (
    OMITTED,
    Layout,
    assemble,
    counts,
    error_block,
    joined,
    run_length,
    same_over_batch,
)
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError

CATEGORY = "Lookup & Reference"


def _orientation(array: Block, keys: list[Block]) -> bool | None:
    """True when the keys sort rows, False for columns, None when they do not fit."""
    rows, cols = array.shape
    by_rows = [k.shape == (rows, 1) for k in keys]
    by_cols = [k.shape == (1, cols) for k in keys]
    if all(by_rows):
        return True
    if all(by_cols):
        return False
    return None


def _order(keys: list[np.ndarray], directions: list[int]) -> list[int]:
    """A stable permutation of the lines by (key, direction) pairs."""
    ranked = [[order_key(v) for v in key] for key in keys]

    def compare(i: int, j: int) -> int:
        for key, direction in zip(ranked, directions):
            if key[i] != key[j]:
                return direction if key[i] > key[j] else -direction
        return 0

    return sorted(range(len(keys[0])), key=functools.cmp_to_key(compare))


@register("SORTBY", min_args=2, max_args=254, category=CATEGORY, differentiable=True,
          array_result=True)  # fmt: skip
def sortby(array: Block, *by_and_order: Block) -> Block:
    """SORTBY(array, by_array1, [sort_order1=1], [by_array2, sort_order2], ...)."""
    keys = list(by_and_order[0::2])
    orders = list(by_and_order[1::2]) + [None] * (len(keys) - len(by_and_order[1::2]))
    by_rows = _orientation(array, keys)
    if by_rows is None:
        return error_block(ErrorCode.VALUE, array)
    rows, cols = array.shape
    run = run_length(array, *keys, *[o for o in orders if o is not None])
    values = [same_over_batch(cell_values(k), "SORTBY's keys") for k in keys]  # (N, R, C)
    directions = [counts(o, run, "sort orders") for o in orders]
    source, _ = joined([array])
    layouts = []
    for n in range(run):
        chosen = [1.0 if d[n] is OMITTED else d[n] for d in directions]
        error = next((d for d in chosen if isinstance(d, ExcelError)), None)
        if error is None and any(d not in (1.0, -1.0) for d in chosen):
            error = ExcelError(ErrorCode.VALUE)
        if error is not None:
            layouts.append(Layout.error(error.code))
            continue
        lines = [v[min(n, len(v) - 1)].reshape(-1) for v in values]
        ranked = np.array(_order(lines, [int(d) for d in chosen]), dtype=np.int64)
        if by_rows:
            flat = ranked[:, None] * cols + np.arange(cols)[None, :]
        else:
            flat = np.arange(rows)[:, None] * cols + ranked[None, :]
        layouts.append(Layout.of(flat))
    return assemble(source, layouts)
