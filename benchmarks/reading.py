"""Reading a workbook: our streaming .xlsx reader against openpyxl, side by side.

Users wait on reading before anything is computed: the 100k-row nnet sheet took 53 s to load
through openpyxl. This benchmark reads the same files with our reader (`load_workbook`) and with
bare openpyxl (`read_only=True`, every cell's value touched, no model built: a floor for any
openpyxl-based loader), best of a few runs each. The big file is the nnet sheet of the Titanic
workbook scaled to N passengers (`write_nnet_xlsx`): 22 columns per row, formulas as the builder
writes them, the sheet's Excel table and its structured references.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import BenchConfig, best_of
from benchmarks.report import Section, Table, fmt_seconds
from benchmarks.workbooks import replicated_nnet_model, titanic_path


def write_nnet_xlsx(n_rows: int, path: Path) -> Path:
    """Write the nnet sheet with `n_rows` passengers as a real .xlsx (openpyxl, write-only)."""
    import openpyxl
    from openpyxl.worksheet.table import Table as XlTable
    from openpyxl.worksheet.table import TableColumn

    model, _, _ = replicated_nnet_model(n_rows)
    sheet = model.sheet_names[0]
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    used = model.used_range(sheet)
    columns = {col: model.formula_column(sheet, col) for col in model.formula_columns(sheet)}
    grid: dict[int, dict[int, object]] = {}
    for (_, col), column in model.value_columns().items():
        for row, cell in zip(column.rows, column.cells, strict=True):
            grid.setdefault(row, {})[col] = cell.value
    for col, column in columns.items():
        for row, cell in zip(column.rows, column.cells, strict=True):
            grid.setdefault(row, {})[col] = cell.formula
    for row in range(1, used.max_row + 1):
        found = grid.get(row, {})
        ws.append([found.get(col) for col in range(1, used.max_col + 1)])
    for table in model.tables.values():
        xl_table = XlTable(displayName=table.name, ref=table.ref.coordinate)
        xl_table.tableColumns = [  # write-only mode: the columns must be given
            TableColumn(id=i, name=name) for i, name in enumerate(table.columns, start=1)
        ]
        ws.add_table(xl_table)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
