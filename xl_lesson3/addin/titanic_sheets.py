"""The lesson's Titanic sheets as writes into an open workbook (the *Build Titanic sheets* button).

The Titanic builder (`xl_lesson3.titanic.builder`) writes a whole .xlsx. To add the same sheets to
a workbook open in Excel, we build that file in a temporary folder, read it back with the engine's
loader and turn it into the writes Excel needs, in the order it needs them: constants first, then
the Excel tables (structured references need them), then the formulas, then the defined names
(the sheets' Solver models). The MMULT array formula is written to its top-left cell alone and
spills, as a dynamic-array formula does in current Excel; the cells it fills are left empty.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import Table, WorkbookModel

Block = tuple[RangeAddress, list[list[object]]]


@dataclass(frozen=True)
class SheetContents:
    """Per sheet: constant blocks, tables, formula blocks; and the defined names to add."""

    sheet_names: tuple[str, ...]
    values: dict[str, list[Block]]
    tables: dict[str, list[Table]]
    formulas: dict[str, list[Block]]
    names: tuple[tuple[str | None, str, str], ...]  # (scope sheet or None, name, text)


def titanic_sheet_contents(seed: int | None = None) -> SheetContents:
    """Build the Titanic workbook (shipped CSV, `seed`) and describe its sheets as writes."""
    from xl_lesson3.titanic import DEFAULT_SEED
    from xl_lesson3.titanic.builder import build_titanic_workbook
    from xl_lesson3.workbook.load import load_workbook

    with tempfile.TemporaryDirectory(prefix="xl-lesson3-addin-") as tmp:
        path = Path(tmp) / "titanic.xlsx"
        build_titanic_workbook(path, seed=DEFAULT_SEED if seed is None else seed)
        model = load_workbook(path)
    return sheet_contents(model)


def sheet_contents(model: WorkbookModel) -> SheetContents:
    """Describe every sheet of `model` as constant blocks, tables, formula column runs and names."""
    values, tables, formulas = {}, {}, {}
    for sheet in model.sheet_names:
        used = model.used_range(sheet)
        rows = [[None] * used.shape[1] for _ in range(used.shape[0])]
        formula_cells = []
        for address, cell in model.cells.items():
            if address.sheet != sheet:
                continue
            if cell.formula is not None:
                formula_cells.append((address, cell.formula))
            elif model.array_formula_covering(address) is None:  # spill area stays empty
                rows[address.row - 1][address.col - 1] = cell.value
        values[sheet] = [(used, rows)]
        tables[sheet] = [t for t in model.tables.values() if t.sheet == sheet]
        formulas[sheet] = _column_runs(formula_cells)
    names = tuple((n.scope, n.name, n.text) for n in model.defined_names)
    return SheetContents(tuple(model.sheet_names), values, tables, formulas, names)


def _column_runs(cells: list[tuple[CellAddress, str]]) -> list[Block]:
    """Group formula cells into vertical runs of consecutive rows, one write per run."""
    runs: list[Block] = []
    start = None
    texts: list[list[object]] = []
    for address, text in sorted(cells, key=lambda item: (item[0].col, item[0].row)):
        if start is not None and address.col == start.col and address.row == start.row + len(texts):
            texts.append([text])
            continue
        if start is not None:
            runs.append((_run_range(start, len(texts)), texts))
        start, texts = address, [[text]]
    if start is not None:
        runs.append((_run_range(start, len(texts)), texts))
    return runs


def _run_range(start: CellAddress, n_rows: int) -> RangeAddress:
    return RangeAddress(start.sheet, start.row, start.col, start.row + n_rows - 1, start.col)
