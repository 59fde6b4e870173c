"""LAMBDA and the functions that take functions: MAP, REDUCE, SCAN, BYROW, BYCOL, MAKEARRAY.

Excel files these under Logical. Each takes a function value (a ``LAMBDA(...)`` or an
eta-reduced built-in such as ``_xleta.SUM``; see `function_values`) and calls it once per cell,
row or column in a Python loop, one call per element for the whole run of formula cells at once
(each block keeps its ``(batch, run)`` dims). They are evaluation-only: registered
``differentiable=False``, and the compiler refuses them where the changing cells flow in.

Excel's rules followed here: a function argument that is not a function, or one that takes
another number of parameters, gives ``#VALUE!``; a function whose result for one element is an
array (or a function) gives ``#CALC!``, which this engine shows as ``#VALUE!`` as it does for
Excel's other ``#CALC!`` cases.

The LAMBDA syntax itself (LAMBDA, calling it, its parameters, ``_xleta.``, ISOMITTED) is lowered
by the engine (`compile.lambdas`); it is registered here so the planner and the list of
supported functions know it.
"""

from __future__ import annotations

import numpy as np
import torch

from xl_lesson3.formula.functions.core.cellwise import as_number, block_from_cells, cell_values
from xl_lesson3.formula.functions.core.function_values import (
    FunctionValue,
    accepts,
    is_function_value,
)
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, text_array
from xl_lesson3.formula.parse.ast import APPLY, ETA, NAMED_LAMBDA, PARAM
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError, Kind

CATEGORY = "Logical"
MAX_CELLS = 1_048_576  # MAKEARRAY: no more rows than a sheet has


def _engine_only(*_args):
    """Syntax the engine lowers itself (`compile.lambdas`); never called as a function."""
    raise TypeError("LAMBDA syntax is lowered by compile.lambdas, not called")


# LAMBDA(parameter1, ..., calculation): Excel allows 253 parameters and the calculation.
register("LAMBDA", min_args=1, max_args=254, category=CATEGORY, differentiable=False)(_engine_only)
register("ISOMITTED", min_args=1, max_args=1, category=CATEGORY, differentiable=False)(_engine_only)
for _name in (APPLY, PARAM, ETA, NAMED_LAMBDA):
    register(_name, min_args=0, max_args=None, category=CATEGORY, differentiable=False)(
        _engine_only
    )


def _functions(name: str, **kwargs):
    return register(
        name,
        category=CATEGORY,
        differentiable=False,
        array_result=True,
        takes_functions=True,
        **kwargs,
    )


# -- blocks cut into cells, rows and columns, and put back together ------------------------------


def _full(block: Block) -> Block:
    """`block` with err/kind expanded to the shape of its numbers (so they can be sliced)."""
    shape = block.num.shape
    for t in (block.err, block.kind):
        if t is not None:
            shape = torch.broadcast_shapes(shape, t.shape)

    def grow(t):
        return None if t is None else t.expand(shape)

    return block.with_(num=block.num.expand(shape), err=grow(block.err), kind=grow(block.kind))


def _part(block: Block, rows: slice, cols: slice) -> Block:
    """The sub-rectangle ``[rows, cols]`` of a `_full` block (still a reference if it was)."""

    def cut(t):
        return None if t is None else t[..., rows, cols]

    text = None if block.text is None else text_array(block)[:, rows, cols]
    return block.with_(num=cut(block.num), err=cut(block.err), kind=cut(block.kind), text=text)


def _cell(block: Block, i: int, j: int) -> Block:
    return _part(block, slice(i, i + 1), slice(j, j + 1))


def _value_error() -> Block:
    return Block.error(ErrorCode.VALUE)


def _one_value(result) -> Block:
    """An element's result: one value, or #CALC! (shown as #VALUE!) for an array or function."""
    if is_function_value(result) or result.shape != (1, 1):
        return _value_error()
    return result


def _stack(grid: list[list[Block]]) -> Block:
    """Blocks laid out as rows of cells into one block; each cell is (b, n, 1, 1)-broadcastable."""
    cells = [cell for row in grid for cell in row]
    lead = torch.broadcast_shapes(*(c.num.shape[:2] for c in cells), *_extra_leads(cells))
    n_rows, n_cols = len(grid), len(grid[0])

    def joined(get, dtype) -> torch.Tensor | None:
        if all(get(c) is None for c in cells):
            return None
        like = cells[0].num
        rows = []
        for row in grid:
            parts = [
                torch.zeros((*lead, 1, 1), dtype=dtype, device=like.device)
                if get(c) is None
                else get(c).to(dtype).expand(*lead, 1, 1)
                for c in row
            ]
            rows.append(torch.cat(parts, dim=-1))
        return torch.cat(rows, dim=-2)

    dtype = cells[0].num.dtype
    num = joined(lambda c: c.num, dtype)
    text = None
    if any(c.text is not None for c in cells):
        text = np.empty((lead[1], n_rows, n_cols), dtype=object)
        for i, row in enumerate(grid):
            for j, c in enumerate(row):
                text[:, i, j] = np.broadcast_to(text_array(c), (lead[1], 1, 1))[:, 0, 0]
    return Block(
        num,
        err=joined(lambda c: c.err, torch.int8),
        kind=joined(lambda c: c.kind, torch.int8),
        text=text,
    )


def _extra_leads(cells: list[Block]) -> list[tuple[int, ...]]:
    return [t.shape[:2] for c in cells for t in (c.err, c.kind) if t is not None]


# -- the functions --------------------------------------------------------------------------------


def _by_line(array, function, axis: int) -> Block:
    """The function of each row (axis 0) or column (axis 1) of `array`, laid along that axis."""
    if is_function_value(array) or not _takes(function, 1):
        return _value_error()
    array = _full(array)
    whole = slice(None)
    results = []
    for i in range(array.shape[axis]):
        line = slice(i, i + 1)
        part = _part(array, line, whole) if axis == 0 else _part(array, whole, line)
        results.append(_one_value(function(part)))
    return _stack([[result] for result in results] if axis == 0 else [results])


@_functions("BYROW", min_args=2, max_args=2)
def byrow(array, function) -> Block:
    """BYROW(array, lambda): the function of each row, as a column."""
    return _by_line(array, function, axis=0)


@_functions("BYCOL", min_args=2, max_args=2)
def bycol(array, function) -> Block:
    """BYCOL(array, lambda): the function of each column, as a row."""
    return _by_line(array, function, axis=1)


@_functions("MAP", min_args=2, max_args=254)
def map_(*args) -> Block:
    """MAP(array1, [array2, ...], lambda): the function of each cell (of cells side by side)."""
    *arrays, function = args
    if any(is_function_value(a) for a in arrays) or not _takes(function, len(arrays)):
        return _value_error()
    arrays = [_full(a) for a in align(*arrays)]
    rows = max(a.shape[0] for a in arrays)
    cols = max(a.shape[1] for a in arrays)

    def element(i: int, j: int) -> Block:
        cells = [_cell(a, i if a.shape[0] > 1 else 0, j if a.shape[1] > 1 else 0) for a in arrays]
        return _one_value(function(*cells))

    return _stack([[element(i, j) for j in range(cols)] for i in range(rows)])


@_functions("REDUCE", min_args=2, max_args=3)
def reduce_(*args) -> Block:
    """REDUCE([initial_value], array, lambda(accumulator, value)): the last accumulator."""
    initial, array, function = _scan_arguments(args)
    if initial is None:
        return _value_error()
    accumulator = initial
    array = _full(array)
    rows, cols = array.shape
    for i in range(rows):
        for j in range(cols):
            accumulator = function(accumulator, _cell(array, i, j))
            if is_function_value(accumulator):
                return _value_error()
    return accumulator


@_functions("SCAN", min_args=2, max_args=3)
def scan(*args) -> Block:
    """SCAN([initial_value], array, lambda(accumulator, value)): every accumulator, shaped as
    the array (row by row)."""
    initial, array, function = _scan_arguments(args)
    if initial is None:
        return _value_error()
    accumulator = initial
    array = _full(array)
    rows, cols = array.shape
    grid = []
    for i in range(rows):
        grid.append([])
        for j in range(cols):
            accumulator = _one_value(function(accumulator, _cell(array, i, j)))
            grid[-1].append(accumulator)
    return _stack(grid)


def _scan_arguments(args) -> tuple[Block | None, Block, FunctionValue]:
    """(initial, array, function) of REDUCE/SCAN; initial None when the arguments are wrong.

    An omitted initial value (``REDUCE(, A1:C2, ...)``, or two arguments) starts from a blank.
    """
    if len(args) == 2:
        args = (_blank(), *args)
    initial, array, function = args
    if is_function_value(initial) or is_function_value(array) or not _takes(function, 2):
        return None, array, function
    return initial, array, function


@_functions("MAKEARRAY", min_args=3, max_args=3)
def makearray(rows, cols, function) -> Block:
    """MAKEARRAY(rows, cols, lambda(row, col)): an array of the function of each position.

    Sizes must be whole numbers from 1 (Excel: 2.3 rows is #VALUE!). Arrays of sizes are lifted
    cell by cell, each cell showing the top-left value of its array, as Excel shows them.
    """
    if is_function_value(rows) or is_function_value(cols) or not _takes(function, 2):
        return _value_error()
    row_sizes = cell_values(rows, "MAKEARRAY's rows")
    col_sizes = cell_values(cols, "MAKEARRAY's cols")
    shape = np.broadcast_shapes(row_sizes.shape, col_sizes.shape)
    sizes = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        sizes[index] = _sizes(
            np.broadcast_to(row_sizes, shape)[index], np.broadcast_to(col_sizes, shape)[index]
        )
    if shape[1:] != (1, 1):
        return _lifted(sizes, function)
    distinct = {size for size in sizes.reshape(-1) if not isinstance(size, ExcelError)}
    if len(distinct) > 1 or len(distinct) == 1 and sizes.size > 1 and _has_error(sizes):
        return _lifted(sizes, function)  # sizes differ along the run: top-left values
    size = sizes.reshape(-1)[0]
    if isinstance(size, ExcelError):
        return Block.error(size.code)
    n_rows, n_cols = size
    return _stack(
        [
            [_one_value(function(Block.scalar(i + 1), Block.scalar(j + 1))) for j in range(n_cols)]
            for i in range(n_rows)
        ]
    )


def _sizes(rows, cols) -> tuple[int, int] | ExcelError:
    numbers = [as_number(rows), as_number(cols)]
    for number in numbers:
        if isinstance(number, ExcelError):
            return number
    n_rows, n_cols = numbers
    if n_rows != int(n_rows) or n_cols != int(n_cols) or n_rows < 1 or n_cols < 1:
        return ExcelError(ErrorCode.VALUE)
    if n_rows * n_cols > MAX_CELLS:
        return ExcelError(ErrorCode.VALUE)
    return int(n_rows), int(n_cols)


def _has_error(sizes: np.ndarray) -> bool:
    return any(isinstance(size, ExcelError) for size in sizes.reshape(-1))


def _lifted(sizes: np.ndarray, function: FunctionValue) -> Block:
    """Each size pair's array shown by its top-left value, the function of (1, 1)."""
    top_left = cell_values(_one_value(function(Block.scalar(1), Block.scalar(1))))
    out = np.empty(sizes.shape, dtype=object)
    top = np.broadcast_to(top_left, (sizes.shape[0], 1, 1))
    for index in np.ndindex(sizes.shape):
        size = sizes[index]
        out[index] = size if isinstance(size, ExcelError) else top[index[0], 0, 0]
    return block_from_cells(out, torch.zeros((), dtype=torch.float64))


def _takes(function, n_args: int) -> bool:
    return is_function_value(function) and accepts(function, n_args)


def _blank() -> Block:
    num = torch.zeros((1, 1, 1, 1), dtype=torch.float64)
    return Block(num, kind=torch.full((1, 1, 1, 1), int(Kind.BLANK), dtype=torch.int8))
