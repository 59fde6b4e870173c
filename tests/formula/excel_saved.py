"""Excel's saved values in the conformance workbooks (../shared/conformance), for tests that
check blocks of cells against them; each workbook is loaded once per test session."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from xl_lesson3.formula.evaluate.check import values_agree
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.workbook.address import RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import WorkbookModel

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
needs_conformance = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason="../shared/conformance is absent"
)


@functools.cache
def saved_model(name: str) -> WorkbookModel:
    """The workbook `name` (relative to the conformance folder), with Excel's saved values."""
    return load_workbook(CONFORMANCE / name, cached_values=True)


def disagreements(name: str, cells: str) -> list[str]:
    """The formula cells of block `cells` (``Sheet!A1:C3``) whose value differs from Excel's."""
    model = saved_model(name)
    (rows,) = evaluate_cells(model, [cells])
    flat = [value for row in rows for value in row] if isinstance(rows, list) else [rows]
    return [
        f"{cell}: ours {value!r} Excel {model.cached_value(cell)!r}"
        for cell, value in zip(RangeAddress.parse(cells).cells(), flat, strict=True)
        if model.cell(cell) is not None or model.array_formula_covering(cell) is not None
        if not values_agree(model.cached_value(cell), value)
    ]
