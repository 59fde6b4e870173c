"""GROUPBY: rows grouped by one or more fields, each value column aggregated per group.

``GROUPBY(row_fields, values, function, [field_headers], [total_depth=1], [sort_order],
[filter_array], [field_relationship=0])``. The rules shared with PIVOTBY (headers, totals,
sorting, filtering, calling the function) are in `grouping`. A field_relationship of 1 lays
the groups out as a flat table (no subtotals) instead of a hierarchy.
"""

from __future__ import annotations

from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.lookup.grouping import (
    Aggregator,
    Axis,
    GroupError,
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


@register("GROUPBY", min_args=3, max_args=8, category=CATEGORY, differentiable=False,
          takes_functions=True, array_result=True)  # fmt: skip
@group_errors_as_results
def groupby(
    row_fields: Block,
    values: Block,
    function: object,
    field_headers: Block | None = None,
    total_depth: Block | None = None,
    sort_order: Block | None = None,
    filter_array: Block | None = None,
    field_relationship: Block | None = None,
) -> Block:
    """GROUPBY(row_fields, values, function, ...): one row per group, with totals."""
    fields, data = values_of(row_fields), values_of(values)
    if fields.shape[0] != data.shape[0]:
        raise GroupError(ErrorCode.VALUE)
    n_fields, n_values = fields.shape[1], data.shape[1]
    (fields, data), (field_names, value_names), shown, headers = split_headers(
        field_headers, [fields, data], ["Row Field", "Value"]
    )
    depth = scalar(total_depth, 1, lambda d: True)
    sort = sort_keys(sort_order, n_fields, n_values)
    keep = kept_rows(filter_array, len(data), headers)
    table = scalar(field_relationship, 0, lambda r: r in (0, 1)) == 1
    if not len(keep):
        raise GroupError(ErrorCode.VALUE)  # Excel's #CALC!: nothing to group
    aggregate = Aggregator(function, data)
    everything = [int(r) for r in keep]
    axis = Axis([tuple(row) for row in fields], n_fields, depth, sort,
                lambda rows, j: aggregate(rows, j, everything), table)  # fmt: skip
    cells = [[label(v) for v in field_names + value_names]] if shown else []
    for line in axis.lines(everything):
        row = [label(v) for v in line.labels]
        row += [aggregate(line.rows, j, everything) for j in range(n_values)]
        cells.append(row)
    return result_block(cells)
