"""Fill the engine's `WorkbookModel` from a live xlwings `Book` (desktop Excel or xlwings Server).

The model needs each cell's value and, for formula cells, the formula text. Values always come
from the book. Formulas come from one of two places:

- a *formula payload*: ``[{"sheet": "nnet", "address": "A1:V717", "formulas": [[...], ...]}]``,
  one entry per sheet's used range, each cell holding its formula text (``"=B6*2"``) or its
  constant, exactly what Office.js' ``range.formulas`` returns. The add-in's ribbon script sends
  this, because xlwings Server's payload carries values only;
- otherwise the book itself, ``range.formula`` of each used range, which works with desktop
  Excel (classic xlwings) and raises on xlwings Server.

Tables and defined names (the Solver model's hidden ``solver_*`` names included) come from the
book when the engine behind it reports them. This module never imports xlwings: it only calls
methods on the objects it is given, so the core package stays free of xlwings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress, split_sheet
from xl_lesson3.workbook.model import Cell, DefinedName, Table, WorkbookModel

FormulaPayload = Sequence[Mapping[str, Any]]

_ERRORS = {code.text: code for code in ErrorCode if code is not ErrorCode.NONE}


def load_book(
    book: Any, formulas: FormulaPayload | None = None, *, sheets: Iterable[str] | None = None
) -> WorkbookModel:
    """A `WorkbookModel` of `book` (an ``xlwings.Book``), with formulas from `formulas` or the book.

    `sheets`: read only these sheets (all by default); names and tables are read for all.
    """
    wanted = None if sheets is None else set(sheets)
    sheet_names = tuple(sheet.name for sheet in book.sheets)
    by_sheet = _formulas_by_sheet(formulas) if formulas is not None else None
    cells: dict[CellAddress, Cell] = {}
    tables: list[Table] = []
    for sheet in book.sheets:
        if wanted is not None and sheet.name not in wanted:
            continue
        used = sheet.used_range
        values = _rows(used.options(ndim=2, err_to_str=True).value)
        origin = CellAddress(sheet.name, used.row, used.column)
        if by_sheet is not None:
            sheet_formulas = by_sheet.get(sheet.name, [])
        else:
            sheet_formulas = [(origin, _read_formulas(used, sheet.name))]
        _add_cells(cells, origin, values, sheet_formulas)
        tables.extend(_tables(sheet))
    return WorkbookModel(
        sheet_names=sheet_names,
        cells=cells,
        tables={table.name: table for table in tables},
        defined_names=tuple(_names(book)),
    )


def parse_formula_payload(formulas: FormulaPayload) -> dict[str, list]:
    """Check the ribbon's formula payload; ``{sheet: [(top-left CellAddress, rows)]}``."""
    return _formulas_by_sheet(formulas)


def _formulas_by_sheet(formulas: FormulaPayload) -> dict[str, list]:
    by_sheet: dict[str, list] = {}
    if not isinstance(formulas, (list, tuple)):
        raise WorkbookIOError("formula payload: expected a list of {sheet, address, formulas}")
    for entry in formulas:
        try:
            sheet, address, rows = entry["sheet"], entry["address"], entry["formulas"]
        except (KeyError, TypeError) as exc:
            raise WorkbookIOError(
                "formula payload: each entry needs sheet, address and formulas"
            ) from exc
        _, ref = split_sheet(str(address))
        top_left = RangeAddress.parse(ref, default_sheet=str(sheet)).top_left
        by_sheet.setdefault(str(sheet), []).append((top_left, _rows(rows)))
    return by_sheet


def _read_formulas(used: Any, sheet: str) -> list[list[Any]]:
    try:
        return _rows(used.formula)
    except NotImplementedError as exc:  # xlwings Server: formulas are not in its payload
        raise WorkbookIOError(
            f"{sheet}: this Excel connection does not send formulas; run the command from the "
            "Lesson 3 ribbon, which sends them"
        ) from exc


def _rows(value: Any) -> list[list[Any]]:
    if value is None:
        return [[None]]
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)]
    return [list(row) for row in value]


def _add_cells(cells, origin: CellAddress, values, sheet_formulas) -> None:
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            value = _value(value)
            if value is not None:
                address = origin.offset(r, c)
                cells[address] = Cell(address, value, None)
    for top_left, rows in sheet_formulas:
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                if isinstance(text, str) and text.startswith("=") and len(text) > 1:
                    address = top_left.offset(r, c)
                    old = cells.get(address)
                    cells[address] = Cell(address, old.value if old else None, text)


def _value(value: Any) -> Any:
    """A cell value as the model holds it: errors as `ExcelError`, dates as serial numbers."""
    if isinstance(value, str):
        if value in _ERRORS:
            return ExcelError(_ERRORS[value])
        return value if value != "" else None
    if isinstance(value, dt.datetime):
        return (value - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    if isinstance(value, dt.date):
        return float((value - dt.date(1899, 12, 30)).days)
    return value


def _tables(sheet: Any) -> list[Table]:
    found = []
    for table in sheet.tables:
        rng = table.range
        ref = RangeAddress(
            sheet.name,
            rng.row,
            rng.column,
            rng.row + rng.shape[0] - 1,
            rng.column + rng.shape[1] - 1,
        )
        header = table.header_row_range
        columns = tuple(str(v) for v in _rows(header.value)[0]) if header is not None else ()
        found.append(
            Table(
                name=table.name,
                ref=ref,
                columns=columns,
                header_row_count=1 if header is not None else 0,
                totals_row_count=1 if table.show_totals else 0,
            )
        )
    return found


def _names(book: Any) -> list[DefinedName]:
    found = []
    for name in book.names:
        refers_to = name.refers_to
        if not refers_to:
            continue
        scope, bare = split_sheet(name.name)
        found.append(
            DefinedName(name=bare, text=refers_to.removeprefix("="), scope=scope, hidden=False)
        )
    return found
