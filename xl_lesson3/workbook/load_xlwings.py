"""Fill the engine's `WorkbookModel` from a live xlwings `Book` (desktop Excel or xlwings Server).

The model needs each cell's value and, for formula cells, the formula text and, for array
formulas, the block they fill. Values always come from the book. Formulas come from one of two
places:

- a *formula payload*, one entry per sheet, which the add-in's ribbon script sends because
  xlwings Server's payload carries values only::

      {"sheet": "mmult", "cells": {"B2": "=AVERAGE(W6:W717)", "R6": "=MMULT(...)"},
       "spills": {"R6": "R6:S717"}}

  `cells` holds formula cells only (no constants, no formatting); `spills` maps each dynamic-array
  anchor to the range it spills into (Office.js ``getSpillingToRange``). The older grid form
  ``{"sheet", "address", "formulas": [[...]]}`` (``range.formulas`` of the used range) is read too;
- otherwise the book itself: ``Formula2`` (no ``@`` added by dynamic-array Excel) of each used
  range, ``HasArray``/``CurrentArray`` for legacy arrays and ``HasSpill``/``SpillingToRange``
  for spills; this works with desktop Excel (classic xlwings) and raises on xlwings Server.

Legacy (CSE) array formulas arrive as the same formula text in every cell of their block (that
is what ``range.formulas`` reports for them); a rectangle of two or more cells holding one
identical formula that refers to a range is rebuilt as one array formula over the rectangle.
Copying a formula down gives different texts (relative references move), and an identical
scalar formula such as ``=$B$1*2`` is left as separate cells, so ordinary sheets are unchanged.

Tables and defined names (the Solver model's hidden ``solver_*`` names included) come from the
book when the engine behind it reports them. This module never imports xlwings: it only calls
methods on the objects it is given, so the core package stays free of xlwings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xl_lesson3.errors import UnknownReferenceError, WorkbookIOError
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress, split_sheet
from xl_lesson3.workbook.model import ArrayFormula, Cell, DefinedName, Table, WorkbookModel

FormulaPayload = Sequence[Mapping[str, Any]]

_ERRORS = {code.text: code for code in ErrorCode if code is not ErrorCode.NONE}


@dataclass
class SheetFormulas:
    """One sheet's formula cells (address → text) and its array blocks (anchor → block)."""

    cells: dict[CellAddress, str] = field(default_factory=dict)
    arrays: dict[CellAddress, RangeAddress] = field(default_factory=dict)


def load_book(
    book: Any, formulas: FormulaPayload | None = None, *, sheets: Iterable[str] | None = None
) -> WorkbookModel:
    """A `WorkbookModel` of `book` (an ``xlwings.Book``), with formulas from `formulas` or the book.

    `sheets`: read only these sheets (all by default); names and tables are read for all.
    """
    wanted = None if sheets is None else set(sheets)
    sheet_names = tuple(sheet.name for sheet in book.sheets)
    by_sheet = parse_formula_payload(formulas) if formulas is not None else None
    cells: dict[CellAddress, Cell] = {}
    arrays: dict[CellAddress, ArrayFormula] = {}
    tables: list[Table] = []
    for sheet in book.sheets:
        if wanted is not None and sheet.name not in wanted:
            continue
        used = sheet.used_range
        values = _rows(used.options(ndim=2, err_to_str=True).value)
        origin = CellAddress(sheet.name, used.row, used.column)
        if by_sheet is not None:
            sheet_formulas = by_sheet.get(sheet.name, SheetFormulas())
        else:
            sheet_formulas = _read_formulas(used, origin)
        _add_cells(cells, arrays, origin, values, sheet_formulas)
        tables.extend(_tables(sheet))
    return WorkbookModel(
        sheet_names=sheet_names,
        cells=cells,
        tables={table.name: table for table in tables},
        defined_names=tuple(_names(book)),
        array_formulas=arrays,
    )


def parse_formula_payload(formulas: FormulaPayload) -> dict[str, SheetFormulas]:
    """Check the ribbon's formula payload and read it; ``{sheet: SheetFormulas}``."""
    if not isinstance(formulas, (list, tuple)):
        raise WorkbookIOError("formula payload: expected a list of {sheet, cells, spills}")
    by_sheet: dict[str, SheetFormulas] = {}
    for entry in formulas:
        if not isinstance(entry, Mapping) or "sheet" not in entry:
            raise WorkbookIOError("formula payload: each entry needs a sheet")
        sheet = str(entry["sheet"])
        found = by_sheet.setdefault(sheet, SheetFormulas())
        if "cells" in entry:
            _read_cells_entry(sheet, entry, found)
        elif "address" in entry and "formulas" in entry:
            _, ref = split_sheet(str(entry["address"]))
            top_left = _parse_range(ref, sheet).top_left
            found.cells.update(_grid_formulas(top_left, _rows(entry["formulas"])))
        else:
            raise WorkbookIOError(
                f"{sheet}: formula payload entry needs cells (or a formulas grid)"
            )
    for sheet, found in by_sheet.items():
        found.arrays.update(legacy_arrays(found.cells, exclude=found.arrays))
    return by_sheet


def _read_cells_entry(sheet: str, entry: Mapping[str, Any], found: SheetFormulas) -> None:
    cells, spills = entry.get("cells") or {}, entry.get("spills") or {}
    if not isinstance(cells, Mapping) or not isinstance(spills, Mapping):
        raise WorkbookIOError(f"{sheet}: formula payload: cells and spills map addresses")
    for address, text in cells.items():
        if isinstance(text, str) and text.startswith("=") and len(text) > 1:
            found.cells[_parse_range(address, sheet).top_left] = text
    for anchor, ref in spills.items():
        anchor_cell = _parse_range(anchor, sheet).top_left
        block = _parse_range(split_sheet(str(ref))[1], sheet)
        if block.top_left != anchor_cell:
            raise WorkbookIOError(f"{sheet}!{anchor}: spill range {ref} does not start there")
        if anchor_cell not in found.cells:
            raise WorkbookIOError(f"{sheet}!{anchor}: a spill range but no formula there")
        if not block.is_cell:
            found.arrays[anchor_cell] = block


def _parse_range(text: Any, sheet: str) -> RangeAddress:
    try:
        return RangeAddress.parse(str(text), default_sheet=sheet)
    except UnknownReferenceError as exc:
        raise WorkbookIOError(f"{sheet}: formula payload: bad address {text!r}") from exc


def _grid_formulas(top_left: CellAddress, rows: list[list[Any]]) -> dict[CellAddress, str]:
    found = {}
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            if isinstance(text, str) and text.startswith("=") and len(text) > 1:
                found[top_left.offset(r, c)] = text
    return found


def legacy_arrays(
    formulas: Mapping[CellAddress, str], exclude: Mapping[CellAddress, RangeAddress] | None = None
) -> dict[CellAddress, RangeAddress]:
    """Blocks of one identical range-referring formula: legacy (CSE) arrays, anchor → block.

    A block grows right from its top-left cell while the text repeats, then down while whole
    rows repeat. Cells already inside an `exclude` block (spills) are left alone.
    """
    covered = {cell for block in (exclude or {}).values() for cell in block.cells()}
    found: dict[CellAddress, RangeAddress] = {}
    for address in sorted(formulas, key=lambda a: (a.sheet, a.row, a.col)):
        text = formulas[address]
        if address in covered or ":" not in text:
            continue
        width = 1
        while formulas.get(address.offset(0, width)) == text:
            width += 1
        height = 1
        while all(formulas.get(address.offset(height, c)) == text for c in range(width)):
            height += 1
        if width * height < 2:
            continue
        block = RangeAddress(
            address.sheet,
            address.row,
            address.col,
            address.row + height - 1,
            address.col + width - 1,
        )
        found[address] = block
        covered.update(block.cells())
    return found


def _read_formulas(used: Any, origin: CellAddress) -> SheetFormulas:
    """Formulas of a desktop Excel used range: Formula2, legacy arrays and spills."""
    try:
        grid = used.formula2 if hasattr(used, "formula2") else used.formula
    except NotImplementedError as exc:  # xlwings Server: formulas are not in its payload
        raise WorkbookIOError(
            f"{origin.sheet}: this Excel connection does not send formulas; run the command "
            "from the Lesson 3 ribbon, which sends them"
        ) from exc
    found = SheetFormulas(cells=_grid_formulas(origin, _rows(grid)))
    found.arrays.update(_desktop_spills(used, origin, found.cells))
    for anchor in legacy_arrays(found.cells, exclude=found.arrays):
        api = used.sheet.range(anchor.coordinate).api
        if getattr(api, "HasArray", False):  # Excel's own answer: a CSE array, and its block
            found.arrays[anchor] = _parse_range(api.CurrentArray.Address, origin.sheet)
    return found


def _desktop_spills(used: Any, origin: CellAddress, cells: Mapping[CellAddress, str]):
    """Spill blocks of desktop Excel (``Range.HasSpill``), probed on one-off formulas only.

    A formula repeated down a column never spills (each copy would collide with the next), so
    only formulas whose text occurs once on the sheet are asked, which keeps the number of
    calls into Excel small.
    """
    counts: dict[str, int] = {}
    for text in cells.values():
        counts[text] = counts.get(text, 0) + 1
    spills = {}
    for address, text in cells.items():
        if counts[text] != 1:
            continue
        api = used.sheet.range(address.coordinate).api
        if not getattr(api, "HasSpill", False):
            continue
        block = _parse_range(api.SpillingToRange.Address, origin.sheet)
        if block.top_left == address and not block.is_cell:
            spills[address] = block
    return spills


def _rows(value: Any) -> list[list[Any]]:
    if value is None:
        return [[None]]
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)]
    return [list(row) for row in value]


def _add_cells(cells, arrays, origin: CellAddress, values, sheet_formulas: SheetFormulas) -> None:
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            value = _value(value)
            if value is not None:
                address = origin.offset(r, c)
                cells[address] = Cell(address, value, None)
    blocks = sheet_formulas.arrays
    inside = {cell for block in blocks.values() for cell in block.cells() if cell not in blocks}
    for address, text in sheet_formulas.cells.items():
        if address in inside:  # a CSE block's other cells: values only, as in a saved file
            continue
        old = cells.get(address)
        cells[address] = Cell(address, old.value if old else None, text)
    for anchor, block in blocks.items():
        arrays[anchor] = ArrayFormula(block, sheet_formulas.cells[anchor])


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
