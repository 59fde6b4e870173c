"""What GROUPBY and PIVOTBY share: reading their arguments, grouping rows, ordering the groups
with their totals, and aggregating each group with the function passed as a value.

Both work on the data as Python values (`matching.cell_values`): the groups, their order and
their labels are decided by the data itself, and the function (a `FunctionValue`: ``SUM``,
``PERCENTOF``, a LAMBDA) is called once per group with that group's values as a one-column
block read as a reference (so SUM skips text, as in a range). Results carry no gradient.

Excel's rules, as Microsoft documents them and its saved values show them (formulas'
test.xlsx, LOOKUP rows 25-43 and 93-111, EXTRA rows 95-104):
- field_headers: 0 none, 1 present but not shown, 2 none but generated, 3 present and shown;
  omitted, the data has headers (not shown) when the first value is text and the second a number;
- total_depth: 0 none, 1 a grand total, n also subtotals down to level n-1; negative at the top;
  more levels than fields is #VALUE!; "Grand Total" names the total when subtotals exist;
- sort_order: 1-based indices over the fields then the value columns, negative descending, one
  or an array of them; a field's index orders that level of the hierarchy (the others stay
  ascending), a value's index orders the innermost level by the group's aggregate;
- filter_array: its first column, TRUE/non-zero keeps a row; an error in it is the result;
- a function taking two arguments (PERCENTOF) gets the group's values and those it is relative
  to (all of them for GROUPBY; PIVOTBY's relative_to chooses);
- a combination with no rows shows empty text, as Excel stores it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from xl_lesson3.formula.functions.core.function_values import FunctionValue
from xl_lesson3.formula.functions.lookup.dynamic_arrays import _batch0
from xl_lesson3.formula.functions.lookup.matching import block_from_values, cell_values, order_key
from xl_lesson3.formula.functions.lookup.shaping_core import is_omitted
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError

EMPTY = ""  # what an empty label or an empty combination holds (Excel stores empty text)


class GroupError(Exception):
    """A GROUPBY/PIVOTBY argument Excel rejects: the whole result is this error value."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.text)
        self.code = code


def values_of(block: Block) -> np.ndarray:
    """A data argument's cells (R, C): the same for every cell of a run and every restart."""
    return _batch0(block, "GROUPBY's and PIVOTBY's data")


def scalar(block: Block | None, default: int | None, allowed: Callable[[int], bool]) -> int | None:
    """An integer option (field_headers, total_depth...): truncated; an error is the result;
    outside `allowed` or not a number is #VALUE!."""
    if is_omitted(block):
        return default
    value = values_of(block).reshape(-1)[0]
    if isinstance(value, ExcelError):
        raise GroupError(value.code)
    if isinstance(value, str) or value is None:
        raise GroupError(ErrorCode.VALUE)
    number = int(np.trunc(float(value)))
    if not allowed(number):
        raise GroupError(ErrorCode.VALUE)
    return number


def has_headers(values: np.ndarray, mode: int | None) -> tuple[bool, bool]:
    """(the data's first row is headers, the headers are shown) for a field_headers mode."""
    if mode is None:  # automatic: text above a number
        first, second = values[0, 0], values[1, 0] if len(values) > 1 else None
        auto = isinstance(first, str) and isinstance(second, float)
        return auto, False
    return mode in (1, 3), mode == 3


def label(value: object) -> object:
    """A group's label as shown: a blank field value shows as empty text."""
    return EMPTY if value is None else value


def generated(prefix: str, count: int) -> list[str]:
    """Field names for field_headers 2 ("no headers, but generate them")."""
    return [f"{prefix} {i + 1}" for i in range(count)]


def split_headers(
    field_headers: Block | None, tables: list[np.ndarray], prefixes: list[str]
) -> tuple[list[np.ndarray], list[list], bool, bool]:
    """The data arguments (the values last) read by field_headers: the tables without their
    header row, each table's field names (generated from `prefixes` for mode 2), whether the
    names are shown, and whether the data had a header row."""
    mode = scalar(field_headers, None, lambda m: m in (0, 1, 2, 3))
    headers, shown = has_headers(tables[-1], mode)
    names = [list(table[0]) if headers else [] for table in tables]
    if mode == 2:
        names = [generated(prefix, t.shape[1]) for prefix, t in zip(prefixes, tables, strict=True)]
        shown = True
    if headers:
        tables = [table[1:] for table in tables]
    return tables, names, shown, headers


def sort_keys(block: Block | None, n_fields: int, n_values: int) -> list[int]:
    """The sort indices (1-based, signed); empty for the default ascending order."""
    if is_omitted(block):
        return []
    values = values_of(block)
    if values.shape[0] > 1 and values.shape[1] > 1:
        raise GroupError(ErrorCode.VALUE)
    keys = []
    for value in values.reshape(-1):
        if isinstance(value, ExcelError):
            raise GroupError(value.code)
        if isinstance(value, str) or value is None:
            raise GroupError(ErrorCode.VALUE)
        key = int(np.trunc(float(value)))
        if key == 0 or abs(key) > n_fields + n_values:
            raise GroupError(ErrorCode.VALUE)
        keys.append(key)
    return keys


def kept_rows(block: Block | None, n_rows: int, skip_header: bool) -> np.ndarray:
    """The data rows (0-based, after any header row) the filter keeps."""
    if is_omitted(block):
        return np.arange(n_rows)
    flags = values_of(block)[:, 0]
    if len(flags) != n_rows + skip_header:
        raise GroupError(ErrorCode.VALUE)
    flags = flags[1:] if skip_header else flags
    keep = []
    for i, flag in enumerate(flags):
        if isinstance(flag, ExcelError):
            raise GroupError(flag.code)
        if isinstance(flag, str):
            raise GroupError(ErrorCode.VALUE)
        if flag:
            keep.append(i)
    return np.array(keep, dtype=np.int64)


@dataclass
class Line:
    """One output row (column) of groups: its labels per field, its data rows, and the rows of
    its parent group (what PERCENTOF's parent totals divide by)."""

    labels: tuple
    rows: np.ndarray
    parent_rows: np.ndarray
    level: int  # fields it is grouped by: the number of fields for a leaf, 0 for the total


@dataclass
class _Node:
    label: object
    rows: list[int]
    children: list[_Node] = field(default_factory=list)


def _grow(keys: list[tuple], rows: list[int], level: int, depth: int) -> list[_Node]:
    groups: dict[object, _Node] = {}
    for row in rows:
        value = keys[row][level]
        norm = order_key(value)
        if norm not in groups:
            groups[norm] = _Node(value, [])
        groups[norm].rows.append(row)
    nodes = list(groups.values())
    if level + 1 < depth:
        for node in nodes:
            node.children = _grow(keys, node.rows, level + 1, depth)
    return nodes


class Axis:
    """The lines along one axis (GROUPBY's rows; PIVOTBY's rows or columns).

    ``keys``: each data row's field values; ``rank(rows, j)``: the aggregate of value column
    j over those rows, for sorting by value.
    """

    def __init__(self, keys: list[tuple], n_fields: int, depth: int, sort: list[int],
                 rank: Callable[[list[int], int], object], table: bool = False) -> None:  # fmt: skip
        if abs(depth) > n_fields or (table and abs(depth) > 1):
            raise GroupError(ErrorCode.VALUE)
        self.keys, self.n_fields, self.depth = keys, n_fields, depth
        self.sort, self.rank, self.table = sort, rank, table

    def lines(self, rows: list[int]) -> list[Line]:
        everything = np.array(rows, dtype=np.int64)
        out: list[Line] = []
        if self.table:
            for leaf in self._ordered_leaves(rows):
                out.append(Line(self.keys[leaf[0]], np.array(leaf), everything, self.n_fields))
        else:
            self._emit(_grow(self.keys, rows, 0, self.n_fields), 1, everything, (), out)
        if self.depth:
            name = "Grand Total" if abs(self.depth) > 1 and self.n_fields > 1 else "Total"
            total = Line((name,) + (EMPTY,) * (self.n_fields - 1), everything, everything, 0)
            out = [total, *out] if self.depth < 0 else [*out, total]
        return out

    def _emit(self, nodes, level: int, parent: np.ndarray, prefix: tuple, out: list) -> None:
        for node in self._ordered(nodes, level):
            labels = (*prefix, node.label)
            rows = np.array(node.rows, dtype=np.int64)
            if level == self.n_fields:
                out.append(Line(labels, rows, parent, level))
                continue
            sub = Line(labels + (EMPTY,) * (self.n_fields - level), rows, parent, level)
            shown = level < abs(self.depth)
            if shown and self.depth < 0:
                out.append(sub)
            self._emit(node.children, level + 1, rows, labels, out)
            if shown and self.depth > 0:
                out.append(sub)

    def _compare_by(self, key: int, a: _Node, b: _Node, level: int) -> int:
        index, direction = abs(key), (1 if key > 0 else -1)
        if index <= self.n_fields:
            if index != level:
                return 0
            ka, kb = order_key(a.label), order_key(b.label)
        else:
            if level != self.n_fields:
                return 0
            ka = order_key(self.rank(a.rows, index - self.n_fields - 1))
            kb = order_key(self.rank(b.rows, index - self.n_fields - 1))
        return 0 if ka == kb else (direction if ka > kb else -direction)

    def _ordered(self, nodes: list[_Node], level: int) -> list[_Node]:
        def compare(a: _Node, b: _Node) -> int:
            for key in self.sort:
                found = self._compare_by(key, a, b, level)
                if found:
                    return found
            ka, kb = order_key(a.label), order_key(b.label)
            return (ka > kb) - (ka < kb)

        return sorted(nodes, key=functools.cmp_to_key(compare))

    def _ordered_leaves(self, rows: list[int]) -> list[list[int]]:
        """Table layout (GROUPBY's field_relationship 1): the distinct tuples, sorted flat."""
        groups: dict[tuple, list[int]] = {}
        for row in rows:
            groups.setdefault(tuple(order_key(v) for v in self.keys[row]), []).append(row)
        leaves = list(groups.values())

        def compare(a: list[int], b: list[int]) -> int:
            for key in self.sort:
                index, direction = abs(key), (1 if key > 0 else -1)
                if index <= self.n_fields:
                    ka, kb = (
                        order_key(self.keys[a[0]][index - 1]),
                        order_key(self.keys[b[0]][index - 1]),
                    )
                else:
                    ka = order_key(self.rank(a, index - self.n_fields - 1))
                    kb = order_key(self.rank(b, index - self.n_fields - 1))
                if ka != kb:
                    return direction if ka > kb else -direction
            ka = [order_key(v) for v in self.keys[a[0]]]
            kb = [order_key(v) for v in self.keys[b[0]]]
            return (ka > kb) - (ka < kb)

        return sorted(leaves, key=functools.cmp_to_key(compare))


class Aggregator:
    """The function passed to GROUPBY/PIVOTBY, applied to value column j over some rows."""

    def __init__(self, function: object, values: np.ndarray) -> None:
        if isinstance(function, Block):  # a value where a function belongs: its error, or #VALUE!
            first = values_of(function).reshape(-1)[0]
            raise GroupError(first.code if isinstance(first, ExcelError) else ErrorCode.VALUE)
        if not isinstance(function, FunctionValue):
            raise GroupError(ErrorCode.VALUE)
        self.function, self.values = function, values
        # One argument (SUM, AVERAGE, a one-parameter LAMBDA) or exactly two (PERCENTOF, a
        # two-parameter LAMBDA); Excel shows #VALUE! for any other (IF: EXTRA!H100).
        self.n_args = 1 if function.min_args <= 1 else 2
        self.fits = function.min_args <= 1 or function.max_args == 2
        self._cache: dict[tuple, object] = {}

    def _column(self, rows, j: int) -> Block:
        cells = self.values[np.asarray(rows, dtype=np.int64), j].reshape(-1, 1)
        return block_from_values(cells).with_(from_reference=True)

    def __call__(self, rows, j: int, relative=None) -> object:
        """The aggregate, or empty text for no rows; `relative`: rows a second argument sees."""
        rows = tuple(int(r) for r in rows)
        if not rows:
            return EMPTY
        key = (rows, j, None if relative is None else tuple(int(r) for r in relative))
        if key not in self._cache:
            self._cache[key] = self._compute(rows, j, relative)
        return self._cache[key]

    def _compute(self, rows, j: int, relative) -> object:
        if not self.fits:
            return ExcelError(ErrorCode.VALUE)
        args = [self._column(rows, j)]
        if self.n_args == 2:
            args.append(self._column(relative if relative is not None else rows, j))
        result = cell_values(self.function(*args))
        if result.shape[-2:] != (1, 1):  # Excel's #CALC!: the function must give one value
            return ExcelError(ErrorCode.VALUE)
        value = result.reshape(-1)[0]
        return 0.0 if value is None else value


def result_block(cells: list[list[object]]) -> Block:
    """The output grid as a block."""
    grid = np.empty((len(cells), len(cells[0])), dtype=object)
    for i, row in enumerate(cells):
        for j, value in enumerate(row):
            grid[i, j] = value
    return block_from_values(grid)


def error_result(code: ErrorCode) -> Block:
    return Block.error(code)


def group_errors_as_results(impl: Callable[..., Block]) -> Callable[..., Block]:
    """Decorator: a `GroupError` raised while reading the arguments is the whole result."""

    @functools.wraps(impl)
    def wrapper(*args: object, **kwargs: object) -> Block:
        try:
            return impl(*args, **kwargs)
        except GroupError as exc:
            return error_result(exc.code)

    return wrapper
