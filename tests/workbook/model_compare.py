"""Two `WorkbookModel`s compared field by field, values by type and value (NaN equals NaN).

Used by the wire-format tests and, in a fresh interpreter, by the load-aside tests.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from xl_lesson3.workbook.model import WorkbookModel


def same_value(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def model_differences(a: WorkbookModel, b: WorkbookModel) -> list[str]:
    """What differs between `a` and `b` (empty when they hold the same workbook)."""
    found = []
    for field in dataclasses.fields(WorkbookModel):
        if field.name in ("cells", "array_cached_values", "layouts"):
            continue
        mine, theirs = getattr(a, field.name), getattr(b, field.name)
        if field.name in ("tables", "array_formulas"):
            mine, theirs = dict(mine), dict(theirs)
        if mine != theirs:
            found.append(f"{field.name}: {mine!r} != {theirs!r}")
    cached_a, cached_b = dict(a.array_cached_values), dict(b.array_cached_values)
    if cached_a.keys() != cached_b.keys() or not all(
        same_value(v, cached_b[k]) for k, v in cached_a.items()
    ):
        found.append("array_cached_values differ")
    if a.layouts.keys() != b.layouts.keys():
        found.append(f"layouts: {sorted(a.layouts)} != {sorted(b.layouts)}")
    for name, layout in a.layouts.items():
        other = b.layouts[name]
        same = all(
            np.array_equal(getattr(layout, k), getattr(other, k)) for k in layout.ARRAYS
        ) and (layout.part, layout.crc, layout.attr_texts) == (
            other.part,
            other.crc,
            other.attr_texts,
        )
        if not same:
            found.append(f"layout of {name} differs")
    for kind in ("formulas", "values"):
        mine, theirs = getattr(a.cells, kind), getattr(b.cells, kind)
        if mine.keys() != theirs.keys():
            found.append(f"{kind} columns: {sorted(mine)} != {sorted(theirs)}")
            continue
        for key, column in mine.items():
            other = theirs[key]
            if (column.sheet, column.col, column.rows) != (other.sheet, other.col, other.rows):
                found.append(f"{kind} {key}: rows differ")
            if column.formulas != other.formulas:
                found.append(f"{kind} {key}: formula texts differ")
            if len(column.values) != len(other.values) or not all(
                map(same_value, column.values, other.values)
            ):
                found.append(f"{kind} {key}: values differ")
    return found
