"""PIVOTBY: rows grouped by some fields, columns by others, each value aggregated per cell.

``PIVOTBY(row_fields, col_fields, values, function, [field_headers], [row_total_depth=1],
[row_sort_order], [col_total_depth=1], [col_sort_order], [filter_array], [relative_to=0])``.
Rows and columns are two `grouping.Axis`; each column group repeats once per value column.
The layout, as Excel's saved results show it: one header row per column field (labels repeated
across a group, "Total" on the first), preceded by the column fields' names joined with ", "
and followed by the row fields' and values' names when headers are shown.

``relative_to`` says what a two-argument function (PERCENTOF) divides by: 0 the column's total,
1 the row's total, 2 the grand total, 3 the parent column group's total (within the row),
4 the parent row group's total (within the column).
"""

from __future__ import annotations

import numpy as np

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.lookup.grouping import (
    EMPTY,
    Aggregator,
    Axis,
    GroupError,
    Line,
    group_errors_as_results,
    kept_rows,
    label,
    result_block,
    scalar,
    sort_keys,
    split_headers,
    values_of,
)
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Lookup & Reference"


def _relative(mode: int, row: Line, col: Line, everything: np.ndarray) -> np.ndarray:
    """The rows a two-argument function's second argument sees, by relative_to."""
    if mode == 0:
        return col.rows
    if mode == 1:
        return row.rows
    if mode == 2:
        return everything
    if mode == 3:
        return np.intersect1d(row.rows, col.parent_rows)
    return np.intersect1d(col.rows, row.parent_rows)


@register("PIVOTBY", min_args=4, max_args=11, category=CATEGORY, differentiable=False,
          takes_functions=True, array_result=True)  # fmt: skip
@group_errors_as_results
def pivotby(
    row_fields: Block,
    col_fields: Block,
    values: Block,
    function: object,
    field_headers: Block | None = None,
    row_total_depth: Block | None = None,
    row_sort_order: Block | None = None,
    col_total_depth: Block | None = None,
    col_sort_order: Block | None = None,
    filter_array: Block | None = None,
    relative_to: Block | None = None,
) -> Block:
    """PIVOTBY(row_fields, col_fields, values, function, ...): a cross-tabulation."""
    rows_in, cols_in, data = values_of(row_fields), values_of(col_fields), values_of(values)
    if not rows_in.shape[0] == cols_in.shape[0] == data.shape[0]:
        raise GroupError(ErrorCode.VALUE)
    n_rows, n_cols, n_values = rows_in.shape[1], cols_in.shape[1], data.shape[1]
    (rows_in, cols_in, data), names, shown, headers = split_headers(
        field_headers, [rows_in, cols_in, data], ["Row Field", "Column Field", "Value"]
    )
    row_depth = scalar(row_total_depth, 1, lambda d: True)
    row_sort = sort_keys(row_sort_order, n_rows, n_values)
    col_depth = scalar(col_total_depth, 1, lambda d: True)
    col_sort = sort_keys(col_sort_order, n_cols, n_values)
    keep = kept_rows(filter_array, len(data), headers)
    relative = scalar(relative_to, 0, lambda r: 0 <= r <= 4)
    if not len(keep):
        raise GroupError(ErrorCode.VALUE)  # Excel's #CALC!: nothing to pivot
    aggregate = Aggregator(function, data)
    everything = np.array(keep, dtype=np.int64)

    def rank(rows, j):
        return aggregate(rows, j, everything)

    row_axis = Axis([tuple(r) for r in rows_in], n_rows, row_depth, row_sort, rank)
    col_axis = Axis([tuple(c) for c in cols_in], n_cols, col_depth, col_sort, rank)
    row_lines = row_axis.lines([int(r) for r in keep])
    col_lines = col_axis.lines([int(r) for r in keep])
    width = len(col_lines) * n_values
    cells = []
    if shown:
        joined = ", ".join(str(label(name)) for name in names[1])
        cells.append([EMPTY] * n_rows + [joined] + [EMPTY] * (width - 1))
    for level in range(n_cols):
        heads = [label(col.labels[level]) for col in col_lines for _ in range(n_values)]
        cells.append([EMPTY] * n_rows + heads)
    if shown:
        cells.append([label(v) for v in names[0]] + [label(v) for v in names[2]] * len(col_lines))
    for row in row_lines:
        line = [label(v) for v in row.labels]
        for col in col_lines:
            both = np.intersect1d(row.rows, col.rows)
            over = _relative(relative, row, col, everything)
            line += [aggregate(both, j, over) for j in range(n_values)]
        cells.append(line)
    return result_block(cells)
