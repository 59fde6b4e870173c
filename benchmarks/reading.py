"""Reading a workbook: our streaming .xlsx reader against openpyxl, side by side.

Users wait on reading before anything is computed: the 100k-row nnet sheet took 53 s to load
through openpyxl. This benchmark reads the same files with our reader (`load_workbook`) and with
bare openpyxl (`read_only=True`, every cell's value touched, no model built: a floor for any
openpyxl-based loader), best of a few runs each. The big file is the nnet sheet of the Titanic
workbook scaled to N passengers (`write_nnet_xlsx`): 22 columns per row, formulas as the builder
writes them, the sheet's Excel table and its structured references.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import BenchConfig, best_of
from benchmarks.report import Section, Table, fmt_seconds
from benchmarks.workbooks import replicated_nnet_model, titanic_path
from xl_lesson3.workbook.load import load_workbook


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


def run(config: BenchConfig) -> Section:
    """Ours vs openpyxl read_only on the Titanic workbook and the scaled nnet sheet."""
    n_rows = 200 if config.tiny else (10_000 if config.quick else 100_000)
    repeats = 1 if config.tiny else 3
    section = Section("reading", "Reading a workbook: our streaming reader vs openpyxl")
    big = config.cache_dir / f"nnet-{n_rows}.xlsx"
    if not big.exists():
        write_nnet_xlsx(n_rows, big)
    rows, runs = [], []
    for label, path in (("workbooks/titanic.xlsx", titanic_path(config)), (big.name, big)):
        ours = best_of(lambda path=path: load_workbook(path), repeats)
        model = load_workbook(path)
        counted: list[int] = []
        theirs = best_of(
            lambda path=path, counted=counted: counted.append(_openpyxl_read_only(path)),
            1 if n_rows > 10_000 else 2,
        )
        cells = len(model.cells)
        runs.append(
            {
                "file": label,
                "cells": cells,
                "openpyxl_cells": counted[0],
                "array_members": sum(
                    a.ref.shape[0] * a.ref.shape[1] - 1 for a in model.array_formulas.values()
                ),
                "ours_s": ours,
                "openpyxl_read_only_s": theirs,
            }
        )
        rows.append([label, cells, fmt_seconds(ours), fmt_seconds(theirs), f"{theirs / ours:.1f}×"])
    section.tables.append(
        Table(
            f"Time to read every cell (ours: best of {repeats}, the whole `WorkbookModel`; "
            "openpyxl: `read_only=True`, each cell's value touched, no model built):",
            ["file", "cells", "ours", "openpyxl read_only", "openpyxl / ours"],
            rows,
        )
    )
    biggest = runs[-1]
    section.headlines.append(
        f"{n_rows:,}-row nnet .xlsx ({biggest['cells']:,} cells) read in "
        f"{fmt_seconds(biggest['ours_s'])}; openpyxl read_only takes "
        f"{fmt_seconds(biggest['openpyxl_read_only_s'])}"
    )
    section.notes.append(
        "Our reader streams only the parts the engine needs (cells, names, tables); a worksheet "
        "is checked by expat, then its cells are matched in bulk and converted with numpy "
        "(`xl_lesson3/workbook/xlsx_fastscan.py`), with an element-by-element fallback."
    )
    section.data["runs"] = runs
    return section


def _openpyxl_read_only(path: Path) -> int:
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    count = 0
    for ws in book.worksheets:
        for row in ws.iter_rows(values_only=True):
            count += sum(value is not None for value in row)
    book.close()
    return count
