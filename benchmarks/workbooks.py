"""The workbooks the benchmarks run on: the lesson's Titanic workbook, and its nnet sheet scaled up.

`titanic_path` is the committed `workbooks/titanic.xlsx` (built into the cache by the Titanic
builder when missing). `replicated_nnet_model` lays out the nnet sheet with any number of
passenger rows, using the builder's own layout (`xl_lesson3.titanic.layout`: same columns, same
formulas, same Excel table and structured references), straight into an in-memory
`WorkbookModel`: writing and re-reading a million-row .xlsx with openpyxl would take longer than
the benchmark itself and measure openpyxl, not the engine.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from benchmarks.common import CACHE_DIR, BenchConfig
from xl_lesson3.workbook.address import CellAddress, RangeAddress

REPO = Path(__file__).resolve().parent.parent
COMMITTED_TITANIC = REPO / "workbooks" / "titanic.xlsx"


TINY_PASSENGERS = 60  # raw CSV rows of the smoke test's Titanic workbook (about 50 after cleaning)


def titanic_path(config: BenchConfig | None = None) -> Path:
    """workbooks/titanic.xlsx (built into the benchmark cache when missing); for the smoke test
    (`config.tiny`) the same workbook built by the Titanic builder from the first 60 passengers."""
    tiny = bool(config and config.tiny)
    if COMMITTED_TITANIC.exists() and not tiny:
        return COMMITTED_TITANIC
    from xl_lesson3.titanic.builder import build_titanic_workbook
    from xl_lesson3.titanic.data import shipped_csv

    cache = config.cache_dir if config else CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / ("titanic-tiny.xlsx" if tiny else "titanic.xlsx")
    if not out.exists():
        csv = None
        if tiny:
            csv = cache / "titanic-tiny.csv"
            lines = shipped_csv().read_text(encoding="utf-8").splitlines(keepends=True)
            csv.write_text("".join(lines[: TINY_PASSENGERS + 1]), encoding="utf-8")
        build_titanic_workbook(out, csv=csv)
    return out


def solver_models(workbook) -> dict:
    """sheet → SolverModel for every sheet that carries one (`workbook`: a path or a model)."""
    from xl_lesson3.solver.excel_model import read_solver_model, sheet_solver_names
    from xl_lesson3.workbook.load import load_workbook

    model = load_workbook(workbook) if isinstance(workbook, (str, Path)) else workbook
    return {
        sheet: read_solver_model(model, sheet)
        for sheet in model.sheet_names
        if sheet_solver_names(model, sheet).get("solver_opt")
    }


def replicated_nnet_model(n_rows: int, seed: int | None = None):
    """The nnet sheet with `n_rows` passengers (Kaggle's 712 cleaned rows repeated in order).

    Returns (model, objective cell, parameter range). Every row holds the builder's cells: the 8
    raw values, the 7 derived columns (structured references to the sheet's table, including
    `MAX(nnet_data[Age])` over the whole column), Ones, and the 6 model columns; B2 averages the
    Loss column.
    """
    from xl_lesson3.titanic import DEFAULT_SEED
    from xl_lesson3.titanic.data import clean, read_raw
    from xl_lesson3.titanic.layout import (
        DERIVED_FORMULAS,
        FIRST_DATA_ROW,
        HEADER_ROW,
        NNET,
        RAW_COLUMNS,
        TABLE_COLUMNS,
    )
    from xl_lesson3.titanic.models import Parameters
    from xl_lesson3.workbook.model import Cell, Table, WorkbookModel

    sheet = NNET.name
    passengers = clean(read_raw())
    take = np.arange(n_rows) % len(passengers)
    raw = [[_plain(v) for v in passengers[name].to_numpy()[take].tolist()] for name in RAW_COLUMNS]
    derived = [f.format(t=NNET.table) for f in DERIVED_FORMULAS.values()]
    headers = (*TABLE_COLUMNS, *(c.header for c in NNET.model_columns))

    cells: dict[CellAddress, Cell] = {}

    def put(row: int, col: int, value=None, formula: str | None = None) -> None:
        address = CellAddress(sheet, row, col)
        cells[address] = Cell(address, value, formula)

    put(NNET.loss_cell.row, NNET.loss_cell.col, formula=NNET.loss_formula(n_rows))
    params = Parameters.from_seed(DEFAULT_SEED if seed is None else seed).nnet  # (2, 10)
    block = NNET.params
    for i in range(block.shape[0]):
        for j in range(block.shape[1]):
            put(block.min_row + i, block.min_col + j, float(params[i, j]))
    for j, header in enumerate(headers, start=1):
        put(HEADER_ROW, j, header)
    n_raw, ones_col = len(RAW_COLUMNS), len(TABLE_COLUMNS)
    for i in range(n_rows):
        row = FIRST_DATA_ROW + i
        for j in range(n_raw):
            put(row, j + 1, raw[j][i])
        for j, formula in enumerate(derived, start=n_raw + 1):
            put(row, j, formula=formula)
        put(row, ones_col, 1)
        for j, column in enumerate(NNET.model_columns, start=NNET.first_model_col):
            put(row, j, formula=column.formula(row))
    last_col = NNET.first_model_col + len(NNET.model_columns) - 1
    table = Table(
        NNET.table,
        RangeAddress(sheet, HEADER_ROW, 1, NNET.last_row(n_rows), last_col),
        tuple(headers),
    )
    model = WorkbookModel((sheet,), cells, {table.name: table})
    return model, NNET.loss_cell, block


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def write_nnet_xlsx(path: Path, n_rows: int, seed: int | None = None) -> Path:
    """The nnet sheet of `replicated_nnet_model` written as a real .xlsx at `path` (openpyxl's
    streaming writer): the same cells, the Excel table its structured references read, and the
    workbook's values as Excel would not have cached them (formulas only). Objective nnet!B2,
    changing cells nnet!G2:P3."""
    from openpyxl import Workbook
    from openpyxl.worksheet.table import Table as XlTable
    from openpyxl.worksheet.table import TableColumn

    model, _, _ = replicated_nnet_model(n_rows, seed)
    (sheet,) = model.sheet_names
    by_row: dict[int, dict[int, object]] = {}
    for address, cell in model.cells.items():
        by_row.setdefault(address.row, {})[address.col] = cell.formula or cell.value
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    table = next(iter(model.tables.values()))
    width = table.ref.max_col
    for row in range(1, max(by_row) + 1):
        cells = by_row.get(row, {})
        ws.append([cells.get(col) for col in range(1, width + 1)] if cells else [])
    xl_table = XlTable(displayName=table.name, ref=table.ref.coordinate)
    # The streaming writer cannot read the header cells back: name the columns here.
    xl_table.tableColumns = [
        TableColumn(id=i, name=name) for i, name in enumerate(table.columns, start=1)
    ]
    with warnings.catch_warnings():  # "you must add table columns manually": done above
        warnings.simplefilter("ignore", UserWarning)
        ws.add_table(xl_table)
    book.save(path)
    return path
