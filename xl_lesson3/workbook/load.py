"""Load an .xlsx/.xlsm file into a `WorkbookModel` through openpyxl.

openpyxl already expands shared formulas into each cell and gives legacy (CSE) and spilled
dynamic-array formulas as `ArrayFormula` objects with their block, which is what the engine
needs. Dates become Excel serial numbers, as Excel's arithmetic sees them.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.formula import ArrayFormula as OpenpyxlArrayFormula
from openpyxl.worksheet.formula import DataTableFormula

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.formula.scalars import ExcelError, is_error_text
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import ArrayFormula, Cell, DefinedName, Table, WorkbookModel


def load_workbook(path: str | Path, *, cached_values: bool = False) -> WorkbookModel:
    """Read `path` into a model; `cached_values` also reads formula cells' last saved results.

    The engine never needs cached values (it recalculates); they cost a second pass over the file.
    """
    path = Path(path)
    try:
        book = openpyxl.load_workbook(path, data_only=False, keep_links=False)
        cached = openpyxl.load_workbook(path, data_only=True) if cached_values else None
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise WorkbookIOError(f"{path}: cannot read workbook ({exc})") from exc
    cells: dict[CellAddress, Cell] = {}
    tables: dict[str, Table] = {}
    arrays: dict[CellAddress, ArrayFormula] = {}
    for ws in book.worksheets:
        cached_ws = cached[ws.title] if cached is not None else None
        for row in ws.iter_rows():
            for xl_cell in row:
                if xl_cell.value is None:
                    continue
                address = CellAddress(ws.title, xl_cell.row, xl_cell.column)
                cell = _read_cell(address, xl_cell.value, xl_cell.data_type, arrays, path)
                if cached_ws is not None and cell.formula is not None:
                    cached_cell = cached_ws[address.coordinate]
                    cached_value = _convert_value(cached_cell.value, cached_cell.data_type)
                    cell = Cell(address, cached_value, cell.formula)
                cells[address] = cell
        for table in ws.tables.values():
            tables[table.displayName or table.name] = _read_table(ws.title, table)
    names = list(_read_defined_names(book))
    calc = book.calculation
    return WorkbookModel(
        tuple(book.sheetnames),
        cells,
        tables,
        tuple(names),
        arrays,
        source_path=path,
        iterate=bool(calc is not None and calc.iterate),
        iterate_count=int(getattr(calc, "iterateCount", None) or 100),
        iterate_delta=float(getattr(calc, "iterateDelta", None) or 0.001),
    )


def _read_cell(
    address: CellAddress,
    raw: Any,
    data_type: str,
    arrays: dict[CellAddress, ArrayFormula],
    path: Path,
) -> Cell:
    if isinstance(raw, OpenpyxlArrayFormula):
        text = raw.text if raw.text.startswith("=") else "=" + raw.text
        ref = RangeAddress.parse(raw.ref or address.coordinate, address.sheet)
        arrays[address] = ArrayFormula(ref, text)
        return Cell(address, None, text)
    if isinstance(raw, DataTableFormula):
        raise WorkbookIOError(f"{path}: {address}: what-if data tables are not supported")
    if data_type == "f" and isinstance(raw, str):
        return Cell(address, None, raw)
    return Cell(address, _convert_value(raw, data_type), None)


def _convert_value(raw: Any, data_type: str) -> Any:
    """openpyxl's value → the model's plain value (errors as ExcelError, dates as serials)."""
    if raw is None:
        return None
    if data_type == "e" and isinstance(raw, str) and is_error_text(raw):
        return ExcelError.from_text(raw)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (dt.datetime, dt.date, dt.time)):
        return float(to_excel(raw))
    if isinstance(raw, dt.timedelta):
        return raw.total_seconds() / 86400.0
    if isinstance(raw, (int, float, str)):
        return raw
    return str(raw)


def _read_table(sheet: str, table: Any) -> Table:
    columns = tuple(str(column.name) for column in table.tableColumns)
    header_rows = 1 if table.headerRowCount is None else int(table.headerRowCount)
    totals_rows = int(table.totalsRowCount or 0)
    return Table(
        name=table.displayName or table.name,
        ref=RangeAddress.parse(table.ref, sheet),
        columns=columns,
        header_row_count=header_rows,
        totals_row_count=totals_rows,
    )


def _read_defined_names(book: Any):
    """Workbook-scoped names, then each sheet's own (openpyxl ≥ 3.1 keeps them per sheet)."""
    for name, defined in book.defined_names.items():
        if defined.attr_text is None:
            continue
        scope = None
        if defined.localSheetId is not None:
            scope = book.sheetnames[int(defined.localSheetId)]
        yield DefinedName(name, _strip_equals(defined.attr_text), scope, bool(defined.hidden))
    for ws in book.worksheets:
        for name, defined in ws.defined_names.items():
            if defined.attr_text is None:
                continue
            yield DefinedName(
                name, _strip_equals(defined.attr_text), ws.title, bool(defined.hidden)
            )


def _strip_equals(text: str) -> str:
    return text.removeprefix("=")
