"""Look-ups: MATCH, XMATCH, VLOOKUP, HLOOKUP, LOOKUP, XLOOKUP, INDEX (on values), CHOOSE, ROWS,
COLUMNS, ADDRESS.

A look-up is two steps. *Where*: find the position of a key in a vector, with Excel's matching
rules (`matching`); this works on the values as plain Python data, since positions are
piecewise constant (their gradient is zero, and Excel's finite differences would see the same).
*What*: pick the values at those positions from the result range with one torch gather
(`take`), so gradients flow to the picked cells: an embedding table looked up by MATCH/INDEX or
VLOOKUP trains like ``nn.Embedding``.

Each function is vectorised over the run of formulas: positions are found for every cell of the
run (a dictionary or one scan per distinct lookup vector), then one gather picks every value.
"""

from __future__ import annotations

import numpy as np
import torch

from xl_lesson3.formula.functions.core.coercion import to_number
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, merge_errors, text_array
from xl_lesson3.formula.functions.lookup.matching import (
    APPROX_ASCENDING,
    APPROX_DESCENDING,
    BINARY_ASCENDING,
    BINARY_DESCENDING,
    EXACT,
    NEXT_LARGER,
    NEXT_SMALLER,
    WILDCARD,
    Finder,
    block_from_values,
    cell_values,
)
from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Lookup & Reference"


# -- what: one gather ---------------------------------------------------------------------------


def take(source: Block, flat: np.ndarray, err: np.ndarray | None = None) -> Block:
    """Values of `source` at row-major positions `flat` (B, N, r, c) of its (rows, cols) part.

    `err` (same shape): error codes to show instead (not found, out of range). The gather is
    differentiable with respect to `source` (the picked values get the gradient).
    """
    batch = max(source.num.shape[0], flat.shape[0])
    run = max(source.num.shape[1], flat.shape[1])
    shape = (batch, run, *flat.shape[2:])
    rows, cols = source.shape
    flat = np.clip(np.broadcast_to(flat, shape), 0, rows * cols - 1)
    index = torch.as_tensor(np.ascontiguousarray(flat), device=source.num.device)

    def pick(tensor: torch.Tensor | None) -> torch.Tensor | None:
        if tensor is None:
            return None
        if tensor.shape[0] * tensor.shape[1] == 1:  # a constant table: plain indexing
            return tensor.reshape(-1)[index]
        full = tensor.expand(batch, run, rows, cols).reshape(batch, run, rows * cols)
        return full.gather(2, index.reshape(batch, run, -1)).view(shape)

    num, errors, kind = pick(source.num), pick(source.err), pick(source.kind)
    text = None
    if source.text is not None:
        texts = np.broadcast_to(text_array(source), (run, rows, cols)).reshape(run, -1)
        text = np.take_along_axis(texts, flat[0].reshape(run, -1), axis=1).reshape(shape[1:])
    if err is not None and np.any(err):
        codes = torch.as_tensor(np.broadcast_to(err, shape).copy(), device=source.num.device)
        bad = codes != 0
        num = torch.where(bad, torch.zeros((), dtype=num.dtype, device=num.device), num)
        errors = codes if errors is None else torch.where(bad, codes, errors)
        if kind is not None:
            kind = torch.where(bad, torch.zeros((), dtype=kind.dtype, device=kind.device), kind)
    return Block(num, err=errors, kind=kind, text=text)


def _numbers(block: Block | None, default: float) -> tuple[np.ndarray, np.ndarray]:
    """A numeric argument as (values, error codes) numpy arrays (B, N, r, c)."""
    if block is None:
        return np.full((1, 1, 1, 1), default), np.zeros((1, 1, 1, 1), dtype=np.int8)
    number = to_number(block)
    values = number.num.detach().cpu().numpy()
    err = np.zeros(values.shape, dtype=np.int8)
    if number.err is not None:
        err = np.broadcast_to(number.err.cpu().numpy(), values.shape).astype(np.int8)
    return values, err


def _vector(block: Block) -> tuple[np.ndarray, bool] | None:
    """A one-row or one-column block's cells as (B, N, L) objects and whether it is a row."""
    rows, cols = block.shape
    if rows != 1 and cols != 1:
        return None
    values = cell_values(block)
    return values.reshape(*values.shape[:2], -1), rows == 1 and cols > 1


def find(keys: np.ndarray, vectors: np.ndarray, modes: np.ndarray, reverse: bool = False):
    """Positions (B, N, r, c) of `keys` objects (B, N, r, c) in `vectors` (B', N', L), -1 when
    not found; `modes` (broadcastable to keys' (B, N)) says how each is matched."""
    batch = max(keys.shape[0], vectors.shape[0])
    run = max(keys.shape[1], vectors.shape[1])
    keys = np.broadcast_to(keys, (batch, run, *keys.shape[2:]))
    modes = np.broadcast_to(modes, (batch, run))
    out = np.full(keys.shape, -1, dtype=np.int64)
    finders: dict[tuple[int, int, int], Finder] = {}
    for b in range(batch):
        for n in range(run):
            vb, vn = min(b, vectors.shape[0] - 1), min(n, vectors.shape[1] - 1)
            key = (vb, vn, int(modes[b, n]))
            finder = finders.get(key)
            if finder is None:
                finder = finders[key] = Finder(vectors[vb, vn], int(modes[b, n]), reverse)
            cells = keys[b, n]
            out[b, n] = np.array([finder.find(v) for v in cells.ravel()]).reshape(cells.shape)
    return out


def _key_errors(keys: np.ndarray) -> np.ndarray:
    """The lookup values' own error codes (an error looked up is that error)."""
    codes = np.frompyfunc(lambda v: int(v.code) if isinstance(v, ExcelError) else 0, 1, 1)
    return codes(keys).astype(np.int8)


def _result(positions: np.ndarray, keys: np.ndarray, like: Block) -> Block:
    """MATCH-style result: 1-based positions, #N/A where not found, key errors first."""
    err = np.where(positions < 0, np.int8(ErrorCode.NA), np.int8(0))
    err = np.where(_key_errors(keys) != 0, _key_errors(keys), err)
    num = torch.as_tensor((positions + 1).astype(np.float64), dtype=like.num.dtype)
    return Block(torch.where(torch.as_tensor(err != 0), 0.0, num), err=torch.as_tensor(err))


def _error_block(code: ErrorCode, like: Block) -> Block:
    return Block.error(code, dtype=like.num.dtype, device=like.num.device)


def _match_type_modes(values: np.ndarray) -> np.ndarray:
    """MATCH's match_type per (B, N): 1 ascending, 0 exact (wildcards), -1 descending."""
    values = values[..., 0, 0]
    return np.where(values > 0, APPROX_ASCENDING, np.where(values < 0, APPROX_DESCENDING, WILDCARD))


@register("MATCH", min_args=2, max_args=3, category=CATEGORY, differentiable=False,
          array_result=True)  # fmt: skip
def match(lookup_value: Block, lookup_array: Block, match_type: Block | None = None) -> Block:
    """MATCH(lookup_value, lookup_array, [match_type=1]): the 1-based position, or #N/A.

    1: the largest value <= the key (the vector sorted ascending); 0: the first equal value
    (text case-insensitive, ``*``/``?`` wildcards); -1: the smallest value >= the key (sorted
    descending). A position is piecewise constant: its gradient is zero.
    """
    vector = _vector(lookup_array)
    if vector is None:
        return _error_block(ErrorCode.NA, lookup_value)
    kinds, kind_err = _numbers(match_type, 1.0)
    keys = cell_values(lookup_value)
    positions = find(keys, vector[0], _match_type_modes(kinds))
    result = _result(positions, keys, lookup_value)
    if kind_err.any():
        result = result.with_(err=merge_errors(torch.as_tensor(kind_err), result.err))
    return result


_XMATCH_MODES = {0: EXACT, -1: NEXT_SMALLER, 1: NEXT_LARGER, 2: WILDCARD}


def _xmodes(match_mode: Block | None, search_mode: Block | None):
    """XLOOKUP/XMATCH modes per (B, N), whether to search last-to-first, and an error or None.

    Modes are rounded down (a search mode of -1.1 is -2, a binary search, as Excel answers);
    wildcards cannot be searched by halving (#VALUE!)."""
    modes, err1 = _numbers(match_mode, 0.0)
    search, err2 = _numbers(search_mode, 1.0)
    mode, direction = (
        np.floor(modes[..., 0, 0]).astype(int),
        np.floor(search[..., 0, 0]).astype(int),
    )
    if err1.any() or err2.any() or not np.isin(mode, list(_XMATCH_MODES)).all():
        return None, False, ErrorCode.VALUE
    if not np.isin(direction, (1, -1, 2, -2)).all():
        return None, False, ErrorCode.VALUE
    if ((np.abs(direction) == 2) & (mode == 2)).any():
        return None, False, ErrorCode.VALUE
    mapped = np.vectorize(_XMATCH_MODES.get)(mode)
    # A binary search halves the data as Excel does: unsorted data may miss the key.
    mapped = np.where(direction == 2, mapped + BINARY_ASCENDING, mapped)
    mapped = np.where(direction == -2, mapped + BINARY_DESCENDING, mapped)
    return mapped, bool((direction == -1).any()), None


def _mode_error(lookup_value: Block, code: ErrorCode) -> Block:
    """A bad mode's error, except where the lookup value is an error itself (that comes first)."""
    keys = cell_values(lookup_value)
    key_err = _key_errors(keys)
    err = np.where(key_err != 0, key_err, np.int8(code))
    return Block(torch.zeros(err.shape, dtype=lookup_value.num.dtype), err=torch.as_tensor(err))


def _cell(block: Block, row: int, col: int) -> Block:
    """One cell of a block as a 1×1 block (a dimension of size 1 repeats, as Excel's arrays)."""
    r = 0 if block.shape[0] == 1 else row
    c = 0 if block.shape[1] == 1 else col
    if r >= block.shape[0] or c >= block.shape[1]:
        return Block.error(ErrorCode.NA, dtype=block.num.dtype, device=block.num.device)

    def cut(t):
        return None if t is None else t[..., min(r, t.shape[-2] - 1) : min(r, t.shape[-2] - 1) + 1,
                                          min(c, t.shape[-1] - 1) : min(c, t.shape[-1] - 1) + 1]  # fmt: skip

    text = None if block.text is None else text_array(block)[:, r : r + 1, c : c + 1]
    return Block(cut(block.num), cut(block.err), cut(block.kind), text, block.from_reference)


def per_cell(fn, args: list, scalar: tuple[int, ...], trigger: tuple[int, ...]) -> Block | None:
    """Excel applies a function cell by cell when an argument it takes as one value (a mode)
    is an array: `fn` on each cell of the broadcast `scalar` arguments, the results side by
    side. None when no `trigger` argument is an array (the vectorised path applies)."""
    if not any(args[i] is not None and args[i].shape != (1, 1) for i in trigger if i < len(args)):
        return None
    shapes = [args[i].shape for i in scalar if i < len(args) and args[i] is not None]
    rows, cols = max(s[0] for s in shapes), max(s[1] for s in shapes)
    cells = []
    for r in range(rows):
        for c in range(cols):
            call = [
                _cell(a, r, c) if i in scalar and a is not None else a for i, a in enumerate(args)
            ]
            cells.append(_cell(fn(*call), 0, 0))
    from xl_lesson3.formula.functions.lookup.matching import block_from_values, cell_values

    values = np.empty((rows, cols), dtype=object)
    for k, block in enumerate(cells):
        values[k // cols, k % cols] = cell_values(block)[0, 0, 0, 0]
    return block_from_values(values)


@register("XMATCH", min_args=2, max_args=4, category=CATEGORY, differentiable=False,
          array_result=True)  # fmt: skip
def xmatch(
    lookup_value: Block,
    lookup_array: Block,
    match_mode: Block | None = None,
    search_mode: Block | None = None,
) -> Block:
    """XMATCH(lookup_value, lookup_array, [match_mode=0], [search_mode=1]): the position.

    match_mode 0 exact, -1 exact or next smaller, 1 exact or next larger, 2 wildcards;
    search_mode 1 first to last, -1 last to first, 2/-2 binary (sorted data).
    """
    args = [lookup_value, lookup_array, match_mode, search_mode]
    found = per_cell(xmatch, args, scalar=(0, 2, 3), trigger=(2, 3))
    if found is not None:
        return found
    vector = _vector(lookup_array)
    if vector is None:
        return _error_block(ErrorCode.VALUE, lookup_value)
    modes, reverse, error = _xmodes(match_mode, search_mode)
    if error is not None:
        return _mode_error(lookup_value, error)
    keys = cell_values(lookup_value)
    return _result(find(keys, vector[0], modes, reverse), keys, lookup_value)


def _bool_arg(block: Block | None, default: bool) -> tuple[np.ndarray, np.ndarray]:
    values, err = _numbers(block, 1.0 if default else 0.0)
    return values[..., 0, 0] != 0, err[..., 0, 0]


def _table_lookup(lookup_value, table, index, range_lookup, vertical: bool) -> Block:
    """VLOOKUP (vertical) and HLOOKUP: match in the first column (row), pick from column (row)
    `index`."""
    if lookup_value.shape != (1, 1) and index is not None and index.shape != (1, 1):
        index = _cell(index, 0, 0)  # arrays of both: Excel takes the index's first cell
    rows, cols = table.shape
    values = cell_values(table)
    vectors = values[..., :, 0] if vertical else values[..., 0, :]
    approx, approx_err = _bool_arg(range_lookup, True)
    modes = np.where(approx, APPROX_ASCENDING, WILDCARD)
    keys = cell_values(lookup_value)
    positions = find(keys, vectors, modes)
    number, number_err = _numbers(index, 1.0)
    number = np.trunc(number)
    limit = cols if vertical else rows
    err = np.where(positions < 0, np.int8(ErrorCode.NA), np.int8(0))
    err = np.where(_key_errors(keys) != 0, _key_errors(keys), err)
    err = np.where(number > limit, np.int8(ErrorCode.REF), err)
    err = np.where(number < 1, np.int8(ErrorCode.VALUE), err)
    err = np.where(number_err != 0, number_err, err)
    err = np.where(approx_err[..., None, None] != 0, approx_err[..., None, None], err)
    pick = np.clip(number.astype(np.int64) - 1, 0, limit - 1)
    pos = np.clip(positions, 0, None)
    flat = pos * cols + pick if vertical else pick * cols + pos
    return take(table, flat, err)


@register("VLOOKUP", min_args=3, max_args=4, category=CATEGORY, array_result=True)
def vlookup(lookup_value, table_array, col_index_num, range_lookup=None) -> Block:
    """VLOOKUP(value, table, col_index, [range_lookup=TRUE]): find in the first column, return
    column `col_index` of that row (gradients flow to the returned cell).

    #N/A not found, #VALUE! col_index < 1, #REF! past the table.
    """
    return _table_lookup(lookup_value, table_array, col_index_num, range_lookup, True)


@register("HLOOKUP", min_args=3, max_args=4, category=CATEGORY, array_result=True)
def hlookup(lookup_value, table_array, row_index_num, range_lookup=None) -> Block:
    """HLOOKUP(value, table, row_index, [range_lookup=TRUE]): VLOOKUP along the first row."""
    return _table_lookup(lookup_value, table_array, row_index_num, range_lookup, False)


@register("LOOKUP", min_args=2, max_args=3, category=CATEGORY, array_result=True)
def lookup(lookup_value: Block, lookup_vector: Block, result_vector: Block | None = None):
    """LOOKUP(value, lookup_vector, [result_vector]): approximate match (sorted ascending).

    Without a result vector, an array wider than tall is searched along its first row and
    answers from its last row; otherwise down its first column, answering from its last.
    """
    rows, cols = lookup_vector.shape
    values = cell_values(lookup_vector)
    # An array wider than tall is searched along its first row, else down its first column.
    wide = cols > rows
    vectors = values[..., 0, :] if wide else values[..., :, 0]
    if result_vector is None:  # array form: the answer comes from the last row (column)
        source, length = lookup_vector, max(rows, cols)

        def flat_of(p):
            return (rows - 1) * cols + p if wide else p * cols + (cols - 1)

    else:
        source = result_vector
        length = result_vector.shape[0] * result_vector.shape[1]
        if 1 not in result_vector.shape:  # a result "vector" of several rows and columns
            return _error_block(ErrorCode.NA, lookup_value)

        def flat_of(p):
            return p

    keys = cell_values(lookup_value)
    positions = find(keys, vectors, np.array([[APPROX_ASCENDING]]))
    err = np.where(positions < 0, np.int8(ErrorCode.NA), np.int8(0))
    err = np.where(positions >= length, np.int8(ErrorCode.NA), err)
    err = np.where(_key_errors(keys) != 0, _key_errors(keys), err)
    return take(source, flat_of(np.clip(positions, 0, length - 1)), err)


@register("XLOOKUP", min_args=3, max_args=6, category=CATEGORY, array_result=True)
def xlookup(
    lookup_value: Block,
    lookup_array: Block,
    return_array: Block,
    if_not_found: Block | None = None,
    match_mode: Block | None = None,
    search_mode: Block | None = None,
) -> Block:
    """XLOOKUP(value, lookup_array, return_array, [if_not_found], [match_mode], [search_mode]).

    A vertical lookup array returns the matching row of `return_array` (a horizontal one its
    column); a missing `if_not_found` gives #N/A. Modes as XMATCH.
    """
    args = [lookup_value, lookup_array, return_array, if_not_found, match_mode, search_mode]
    found = per_cell(xlookup, args, scalar=(0, 3, 4, 5), trigger=(3, 4, 5))
    if found is not None:
        return found
    vector = _vector(lookup_array)
    if vector is None:
        return _error_block(ErrorCode.VALUE, lookup_value)
    vectors, horizontal = vector
    modes, reverse, error = _xmodes(match_mode, search_mode)
    if error is not None:
        return _mode_error(lookup_value, error)
    length = vectors.shape[-1]
    r_rows, r_cols = return_array.shape
    if (r_cols if horizontal else r_rows) != length:
        return _error_block(ErrorCode.VALUE, lookup_value)
    keys = cell_values(lookup_value)
    positions = find(keys, vectors, modes, reverse)
    key_err = _key_errors(keys)
    missing = (positions < 0) & (key_err == 0)  # an error key gives its error, not the default
    pos = np.clip(positions, 0, None)
    if (r_rows if horizontal else r_cols) == 1:  # one value per key
        err = np.where(key_err != 0, key_err, np.where(missing, np.int8(ErrorCode.NA), 0))
        picked = take(return_array, pos, err.astype(np.int8))
    elif keys.shape[2:] == (1, 1):  # one key, a whole row (column) back
        p = pos[..., 0, 0]
        if horizontal:
            flat = np.arange(r_rows)[None, None, :, None] * r_cols + p[..., None, None]
        else:
            flat = p[..., None, None] * r_cols + np.arange(r_cols)[None, None, None, :]
        bad = np.where(key_err[..., :1, :1] != 0, key_err[..., :1, :1],
                       np.where(positions[..., :1, :1] < 0, np.int8(ErrorCode.NA), 0))  # fmt: skip
        picked = take(return_array, flat, np.broadcast_to(bad, flat.shape).astype(np.int8))
        missing = np.broadcast_to(missing[..., :1, :1], flat.shape)
    else:
        return _error_block(ErrorCode.VALUE, lookup_value)
    if if_not_found is None or not missing.any():
        return picked
    from xl_lesson3.formula.functions.logical.conditions import choose

    picked, fallback = align(picked, if_not_found)
    chosen = torch.as_tensor(~missing, device=picked.num.device)
    return choose(chosen, picked, fallback)


@register("INDEX", min_args=2, max_args=4, category=CATEGORY, array_result=True)
def index(array: Block, row_num: Block, column_num: Block | None = None, area=None) -> Block:
    """INDEX(array, row, [column]) on values (a reference's INDEX is `reference_ops`): the
    value at (row, column), a whole row/column for 0, #REF! outside. Gradients flow to it."""
    if area is not None:
        area_n, area_err = _numbers(area, 1.0)
        if area_err.any():
            return _error_block(
                ErrorCode(int(area_err.reshape(-1)[area_err.reshape(-1) != 0][0])), array
            )
        if (np.trunc(area_n) != 1).any():
            return _error_block(ErrorCode.REF, array)
    rows, cols = array.shape
    row, row_err = _numbers(row_num, 0.0)
    if column_num is None:
        if rows == 1:
            row, col, col_err = np.ones_like(row), row, row_err
            row_err = np.zeros_like(row_err)
        else:  # a whole row for one row number; the first column for an array of them
            whole = cols > 1 and row.shape[2:] == (1, 1)
            col = np.full_like(row, 0.0 if whole else 1.0)
            col_err = np.zeros_like(row_err)
    else:
        col, col_err = _numbers(column_num, 0.0)
    row, col = np.broadcast_arrays(np.trunc(row), np.trunc(col))
    whole_row, whole_col = bool((col == 0).all()), bool((row == 0).all())
    err = np.where((row > rows) | (col > cols), np.int8(ErrorCode.REF), np.int8(0))
    err = np.where((row < 0) | (col < 0), np.int8(ErrorCode.VALUE), err)  # before #REF!
    err = np.where(row_err != 0, row_err, np.where(col_err != 0, col_err, err))
    if row.shape[2:] == (1, 1) and (whole_row or whole_col):
        r = np.clip(row[..., 0, 0].astype(np.int64) - 1, 0, rows - 1)[..., None, None]
        c = np.clip(col[..., 0, 0].astype(np.int64) - 1, 0, cols - 1)[..., None, None]
        r_idx = np.arange(rows)[None, None, :, None] if whole_col else r
        c_idx = np.arange(cols)[None, None, None, :] if whole_row else c
        flat = r_idx * cols + c_idx
        return take(array, flat, np.broadcast_to(err[..., :1, :1], flat.shape))
    if (row == 0).any() or (col == 0).any():
        err = np.where(((row == 0) | (col == 0)) & (err == 0), np.int8(ErrorCode.VALUE), err)
    r = np.clip(row.astype(np.int64) - 1, 0, rows - 1)
    c = np.clip(col.astype(np.int64) - 1, 0, cols - 1)
    return take(array, r * cols + c, err.astype(np.int8))


@register("CHOOSE", min_args=2, max_args=255, category=CATEGORY, array_result=True)
def choose_(index_num: Block, *values: Block) -> Block:
    """CHOOSE(index, value1, ...): value number `index` (cell by cell for an array index)."""
    blocks = align(index_num, *values)
    number, number_err = _numbers(blocks[0], 1.0)
    number = np.trunc(number)
    k = len(values)
    err = np.where(number_err != 0, number_err,
                   np.where((number < 1) | (number > k), np.int8(ErrorCode.VALUE), 0))  # fmt: skip
    pick = np.clip(number.astype(np.int64) - 1, 0, k - 1)
    stacked = _stack(blocks[1:])  # rows of the choices side by side: (k, R, C) as one block
    rows, cols = stacked.shape[0] // k, stacked.shape[1]
    shape = torch.broadcast_shapes(*(b.num.shape for b in blocks))
    r = np.arange(shape[2])[None, None, :, None] % max(rows, 1)
    c = np.arange(shape[3])[None, None, None, :] % max(cols, 1)
    r = np.where(rows == 1, 0, r)
    c = np.where(cols == 1, 0, c)
    flat = (pick * rows + r) * cols + c
    return take(stacked, flat, np.broadcast_to(err, flat.shape).astype(np.int8))


def _stack(blocks: tuple[Block, ...]) -> Block:
    """Blocks of one shape stacked vertically (their rows one after the other)."""
    shape = (1, 1)
    for block in blocks:
        shape = (max(shape[0], block.shape[0]), max(shape[1], block.shape[1]))
    batch = max(b.num.shape[0] for b in blocks)
    run = max(b.num.shape[1] for b in blocks)

    def cat(get, dtype=None):
        parts = [get(b) for b in blocks]
        if all(p is None for p in parts):
            return None
        like = blocks[0].num
        full = [
            (
                p if p is not None else torch.zeros((1, 1, 1, 1), dtype=dtype, device=like.device)
            ).expand(batch, run, *shape)
            for p in parts
        ]
        return torch.cat(full, dim=2)

    text = None
    if any(b.text is not None for b in blocks):
        text = (
            np.concatenate(
                [np.broadcast_to(text_array(b), (run, *b.shape)) for b in blocks], axis=1
            )
            if all(b.shape == shape for b in blocks)
            else None
        )
    return Block(
        cat(lambda b: b.num, blocks[0].num.dtype),
        err=cat(lambda b: b.err, torch.int8),
        kind=cat(lambda b: b.kind, torch.int8),
        text=text,
    )


@register("ROWS", min_args=1, max_args=1, category=CATEGORY, differentiable=False)
def rows_(array: Block) -> Block:
    """ROWS(array): how many rows (of a reference: see `reference_ops.positions`)."""
    return Block.scalar(array.shape[0], dtype=array.num.dtype)


@register("COLUMNS", min_args=1, max_args=1, category=CATEGORY, differentiable=False)
def columns_(array: Block) -> Block:
    """COLUMNS(array): how many columns."""
    return Block.scalar(array.shape[1], dtype=array.num.dtype)


@register("ADDRESS", min_args=2, max_args=5, category=CATEGORY, differentiable=False,
          array_result=True)  # fmt: skip
def address(row_num, column_num, abs_num=None, a1=None, sheet_text=None) -> Block:
    """ADDRESS(row, column, [abs_num=1], [a1=TRUE], [sheet]): a reference as text, e.g. $B$3."""
    from openpyxl.utils.cell import get_column_letter

    from xl_lesson3.workbook.address import MAX_COL, MAX_ROW, quote_sheet

    blocks = [b for b in (row_num, column_num, abs_num, a1) if b is not None]
    shape = torch.broadcast_shapes(*(b.num.shape for b in blocks))
    row, row_err = _numbers(row_num, 1.0)
    col, col_err = _numbers(column_num, 1.0)
    kind, kind_err = _numbers(abs_num, 1.0)
    style, style_err = _numbers(a1, 1.0)
    sheet = None
    if sheet_text is not None:  # a blank sheet argument is empty text: "!C1", as Excel
        sheet = cell_values(sheet_text).reshape(-1)[0]
        sheet = "" if sheet is None else sheet
    arrays = np.broadcast_arrays(np.trunc(row), np.trunc(col), np.trunc(kind), style,
                                 row_err, col_err, kind_err, style_err)  # fmt: skip
    out = np.empty(shape[1:], dtype=object)
    for index in np.ndindex(*shape[1:]):
        r, c, k, s, *errs = (a[(0, *index)] for a in arrays)
        code = next((int(e) for e in errs if e), 0)
        if not code and not (1 <= r <= MAX_ROW and 1 <= c <= MAX_COL and 1 <= k <= 4):
            code = int(ErrorCode.VALUE)
        if code:
            out[index] = ExcelError(ErrorCode(code))
            continue
        r, c, k = int(r), int(c), int(k)
        if s:
            text = (("$" if k in (1, 3) else "") + get_column_letter(c)
                    + ("$" if k in (1, 2) else "") + str(r))  # fmt: skip
        else:
            text = (f"R{r}" if k in (1, 2) else f"R[{r}]") + (f"C{c}" if k in (1, 3) else f"C[{c}]")
        if sheet is not None and not isinstance(sheet, ExcelError):  # "" gives "!C1" as Excel
            text = f"{quote_sheet(str(sheet)) if str(sheet) else ''}!{text}"
        out[index] = text
    return block_from_values(out)
