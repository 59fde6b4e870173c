"""Dynamic-array functions: SEQUENCE, FILTER, SORT, UNIQUE (LET is bound, see `bind`).

Their result's *shape* depends on values (how many rows pass FILTER), and a compiled program
needs fixed shapes, so the deciding values (FILTER's include, SORT's keys, UNIQUE's rows) must
not depend on the solver's changing cells; the values moved around may, and gradients follow
them through one gather (`lookup.take`), as with any look-up.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from xl_lesson3.errors import EvaluationError
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.lookup.lookups import _numbers, take
from xl_lesson3.formula.functions.lookup.matching import cell_values, order_key
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Lookup & Reference"


def _error(code: ErrorCode, like: Block) -> Block:
    return Block.error(code, dtype=like.num.dtype, device=like.num.device)


@register("SEQUENCE", min_args=1, max_args=4, category=CATEGORY, differentiable=False,
          array_result=True)  # fmt: skip
def sequence(rows: Block, columns=None, start=None, step=None) -> Block:
    """SEQUENCE(rows, [columns=1], [start=1], [step=1]): numbers filling rows then columns."""
    values = [_numbers(b, d) for b, d in ((rows, 1), (columns, 1), (start, 1), (step, 1))]
    if any(err.reshape(-1)[0] for _, err in values):
        return _error(ErrorCode.VALUE, rows)
    n_rows, n_cols, first, by = (float(v.reshape(-1)[0]) for v, _ in values)
    n_rows, n_cols = int(n_rows), int(n_cols)
    if n_rows < 1 or n_cols < 1:
        return _error(ErrorCode.VALUE, rows)
    grid = first + by * np.arange(n_rows * n_cols, dtype=np.float64).reshape(n_rows, n_cols)
    return Block(torch.as_tensor(grid, dtype=rows.num.dtype)[None, None])


def _batch0(block: Block, what: str = "the values that decide the result's shape") -> np.ndarray:
    """The cells as Python values (R, C): the same for every restart and every cell of a run,
    since a result's shape cannot vary within one block."""
    values = cell_values(block)
    flat = values.reshape(values.shape[0] * values.shape[1], -1)
    if any(list(row) != list(flat[0]) for row in flat[1:]):
        raise EvaluationError(f"{what} differ between cells of a run or solver restarts")
    return values[0, 0]


@register("FILTER", min_args=2, max_args=3, category=CATEGORY, array_result=True)
def filter_(array: Block, include: Block, if_empty: Block | None = None) -> Block:
    """FILTER(array, include, [if_empty]): the rows (or columns) whose include is TRUE."""
    rows, cols = array.shape
    flags = _batch0(include)
    by_row = flags.shape == (rows, 1)
    if not by_row and flags.shape != (1, cols):
        return _error(ErrorCode.VALUE, array)
    for value in flags.reshape(-1):
        if hasattr(value, "code"):
            return _error(value.code, array)
        if isinstance(value, str):  # include must hold booleans or numbers
            return _error(ErrorCode.VALUE, array)
    keep = [bool(v) and not isinstance(v, str) for v in flags.reshape(-1)]
    picked = [i for i, k in enumerate(keep) if k]
    if not picked:  # Excel says #CALC!, which older readers and this engine show as #VALUE!
        return if_empty if if_empty is not None else _error(ErrorCode.VALUE, array)
    index = np.array(picked)
    if by_row:
        flat = index[:, None] * cols + np.arange(cols)[None, :]
    else:
        flat = np.arange(rows)[:, None] * cols + index[None, :]
    return take(array, flat[None, None])


def _compare(a: tuple, b: tuple) -> int:
    ka = [order_key(v) for v in a]
    kb = [order_key(v) for v in b]
    return (ka > kb) - (ka < kb)


@register("SORT", min_args=1, max_args=4, category=CATEGORY, array_result=True)
def sort(array: Block, sort_index=None, sort_order=None, by_col=None) -> Block:
    """SORT(array, [sort_index=1], [sort_order=1], [by_col=FALSE]): rows (columns) ordered by
    one column (row); numbers before text before booleans, blanks last; stable."""
    values = _batch0(array)
    indexes = _numbers(sort_index, 1.0)[0].reshape(-1)
    orders = _numbers(sort_order, 1.0)[0].reshape(-1)
    if len(orders) > 1 and len(orders) != len(indexes):  # an order for a key not given
        return _error(ErrorCode.VALUE, array)
    index, order = int(indexes[0]), orders[0]
    columns = bool(_numbers(by_col, 0.0)[0].reshape(-1)[0])
    lines = values.T if columns else values
    if not 1 <= index <= lines.shape[1] or order not in (1, -1):
        return _error(ErrorCode.VALUE, array)
    keys = [(line[index - 1],) for line in lines]
    ranked = sorted(range(len(lines)), key=functools.cmp_to_key(
        lambda i, j: _compare(keys[i], keys[j])))  # fmt: skip
    if order == -1:
        ranked = sorted(range(len(lines)), key=functools.cmp_to_key(
            lambda i, j: _compare(keys[j], keys[i])))  # fmt: skip
    rows, cols = array.shape
    ranked = np.array(ranked)
    if columns:
        flat = np.arange(rows)[:, None] * cols + ranked[None, :]
    else:
        flat = ranked[:, None] * cols + np.arange(cols)[None, :]
    return take(array, flat[None, None])


@register("UNIQUE", min_args=1, max_args=3, category=CATEGORY, array_result=True)
def unique(array: Block, by_col=None, exactly_once=None) -> Block:
    """UNIQUE(array, [by_col=FALSE], [exactly_once=FALSE]): distinct rows (text any case)."""
    values = _batch0(array)
    columns = bool(_numbers(by_col, 0.0)[0].reshape(-1)[0])
    once = bool(_numbers(exactly_once, 0.0)[0].reshape(-1)[0])
    lines = values.T if columns else values
    keys = [tuple(order_key(v) for v in line) for line in lines]
    counts: dict[tuple, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    seen: set[tuple] = set()
    picked = []
    for i, key in enumerate(keys):
        if key in seen or (once and counts[key] > 1):
            continue
        seen.add(key)
        picked.append(i)
    if not picked:
        return _error(ErrorCode.VALUE, array)
    rows, cols = array.shape
    index = np.array(picked)
    if columns:
        flat = np.arange(rows)[:, None] * cols + index[None, :]
    else:
        flat = index[:, None] * cols + np.arange(cols)[None, :]
    return take(array, flat[None, None])
