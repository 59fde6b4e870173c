"""A read-only snapshot of a workbook: cells, Excel tables, defined names and array formulas.

The formula engine reads only this model, never openpyxl or xlwings objects, so a workbook loaded
from a file (`xl_lesson3.workbook.load`) and one read live from Excel fill the same structure.
Values are plain Python: float/int/str/bool/None, or `ExcelError` for an error value. A formula
cell keeps its formula text (starting with ``=``) and, in ``value``, whatever cached result the
source had (the engine never reads it).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from xl_lesson3.errors import UnknownReferenceError
from xl_lesson3.formula.scalars import ExcelError  # noqa: F401  (cell values may be errors)
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.columns import Cell, CellStore, ColumnCells

ARRAY_INDEX_CELLS = 1_000_000  # array blocks up to this many cells in all are indexed by cell


@dataclass(frozen=True)
class Table:
    """An Excel table (ListObject): name, full range (headers and totals included), columns."""

    name: str
    ref: RangeAddress
    columns: tuple[str, ...]
    header_row_count: int = 1
    totals_row_count: int = 0

    @property
    def sheet(self) -> str:
        return self.ref.sheet

    @property
    def first_data_row(self) -> int:
        return self.ref.min_row + self.header_row_count

    @property
    def last_data_row(self) -> int:
        return self.ref.max_row - self.totals_row_count

    def column_index(self, name: str) -> int | None:
        """The sheet column of table column `name` (case-insensitive, as Excel matches), or None.

        Headers are kept as stored; a header's stray spaces do not stop a match (``Age `` is
        found as ``[Age]``).
        """
        wanted = name.strip().lower()
        for offset, column in enumerate(self.columns):
            if column.strip().lower() == wanted:
                return self.ref.min_col + offset
        return None


@dataclass(frozen=True)
class DefinedName:
    """A defined name; `text` is what it refers to, without the leading ``=``.

    ``scope`` is the sheet name for a sheet-scoped name, None for a workbook-scoped one. The text
    may be a range (``Sheet1!$A$1:$B$3``), a constant (``0.5``) or a formula.
    """

    name: str
    text: str
    scope: str | None = None
    hidden: bool = False


@dataclass(frozen=True)
class ArrayFormula:
    """A legacy (CSE) or spilled array formula: one formula filling the block `ref`.

    ``dynamic`` marks a dynamic-array (spilled) formula: Excel 365 stores it like a CSE array
    whose cell carries dynamic-array metadata (``cm=``); its block is the last spill's size.
    """

    ref: RangeAddress
    text: str
    dynamic: bool = False


@dataclass(frozen=True)
class CalcSettings:
    """The workbook's calculation settings (``<calcPr>``) that change results.

    ``iterate``: circular references are iterated (File > Options > Formulas > Enable iterative
    calculation), at most ``iterate_count`` times or until no value moves by more than
    ``iterate_delta``. Defaults are Excel's.
    """

    iterate: bool = False
    iterate_count: int = 100
    iterate_delta: float = 0.001


@dataclass(frozen=True)
class WorkbookModel:
    """A frozen snapshot of a workbook, the only thing the formula engine reads."""

    sheet_names: tuple[str, ...]
    cells: Mapping[CellAddress, Cell]
    tables: Mapping[str, Table] = field(default_factory=dict)
    defined_names: tuple[DefinedName, ...] = ()
    array_formulas: Mapping[CellAddress, ArrayFormula] = field(default_factory=dict)
    source_path: Path | None = None
    date1904: bool = False  # serial 0 is 1904-01-01 (old Mac workbooks), not 1899-12-31
    calc: CalcSettings = CalcSettings()
    # CHAR/CODE's code page: "mac_roman" when Excel for Mac saved the file (docProps/app.xml)
    character_set: str = "cp1252"
    # Excel's saved values of array formulas' member cells (anchors keep theirs in Cell.value);
    # only filled by `load_workbook(..., cached_values=True)`.
    array_cached_values: Mapping[CellAddress, Any] = field(default_factory=dict)
    # Read with `load_workbook(..., sheets=...)`: the file has sheets this model does not hold
    # (a write-back that recalculates every dependent reads the whole file again).
    partial: bool = False
    # Sheet → where its cells' bytes lie in the file read (`sheet_layout.SheetLayout`); only
    # from `load_workbook(..., layout=True)`, for a write-back that splices (`xlsx_splice`).
    layouts: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.cells, CellStore):
            object.__setattr__(self, "cells", CellStore.from_cells(self.cells))
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        object.__setattr__(self, "array_formulas", MappingProxyType(dict(self.array_formulas)))
        object.__setattr__(self, "_index", _Index(self))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_cells(
        cls,
        cells: Mapping[str | CellAddress, Any],
        *,
        sheet_names: Iterable[str] = (),
        tables: Iterable[Table] = (),
        defined_names: Iterable[DefinedName] = (),
        array_formulas: Iterable[ArrayFormula] = (),
        source_path: Path | None = None,
    ) -> WorkbookModel:
        """Build a model from ``{"Sheet1!A1": 2, "Sheet1!B1": "=A1*3"}``-style plain data.

        A string starting with ``=`` is a formula; anything else is a value. Sheets are ordered as
        in `sheet_names`, then in first-seen order. Array formulas put their text on the top-left
        cell too.
        """
        names = list(dict.fromkeys(sheet_names))
        built: dict[CellAddress, Cell] = {}
        for key, value in cells.items():
            address = key if isinstance(key, CellAddress) else CellAddress.parse(key)
            if address.sheet not in names:
                names.append(address.sheet)
            if isinstance(value, str) and value.startswith("=") and len(value) > 1:
                built[address] = Cell(address, None, value)
            elif value is not None:
                built[address] = Cell(address, value, None)
        arrays = {}
        for array in array_formulas:
            arrays[array.ref.top_left] = array
            built[array.ref.top_left] = Cell(array.ref.top_left, None, array.text)
        table_map = {t.name: t for t in tables}
        for table in table_map.values():
            if table.sheet not in names:
                names.append(table.sheet)
        return cls(tuple(names), built, table_map, tuple(defined_names), arrays, source_path)

    # -- queries ------------------------------------------------------------------------------
    def cell(self, address: CellAddress) -> Cell | None:
        return self.cells.get(address)

    def cached_value(self, address: CellAddress) -> Any:
        """Excel's saved value of a formula cell or array member (load with cached_values)."""
        found = self.cells.get(address)
        if found is not None:
            return found.value
        return self.array_cached_values.get(address)

    def used_range(self, sheet: str) -> RangeAddress:
        """A1 to the last used row and column of `sheet` (whole-row/column refs clip to it)."""
        return self._index.used_range(sheet)

    def formula_cells_in(self, rng: RangeAddress) -> list[CellAddress]:
        """Formula cells (array formulas' top-left included) inside `rng`, column by column."""
        return self._index.formula_cells_in(rng)

    def array_formula_covering(self, cell: CellAddress) -> ArrayFormula | None:
        """The array formula whose block contains `cell`, if any."""
        return self._index.array_covering(cell)

    def table(self, name: str) -> Table:
        """The table called `name` (case-insensitive), or an UnknownReferenceError."""
        table = self._index.tables_lower.get(name.lower())
        if table is None:
            raise UnknownReferenceError(f"unknown table {name!r}")
        return table

    def table_at(self, cell: CellAddress) -> Table | None:
        """The table whose range contains `cell` (for ``[@Col]`` without a table name)."""
        for table in self.tables.values():
            if table.ref.contains(cell):
                return table
        return None

    def defined_name(self, name: str, sheet: str | None) -> DefinedName | None:
        """Resolve `name` as seen from `sheet`: a sheet-scoped name wins over a workbook one."""
        by_key = self._index.names
        lowered = name.lower()
        if sheet is not None and (sheet, lowered) in by_key:
            return by_key[(sheet, lowered)]
        return by_key.get((None, lowered))

    def row_context(self, cell: CellAddress) -> tuple:
        """What structured references see of a cell's position: its table, and which tables'
        data rows include its row (``[#This Row]`` works only there)."""
        row, col, sheet = cell.row, cell.col, cell.sheet
        inside = None
        data_rows = []
        for name, t_sheet, top, bottom, left, right, first, last in self._index.table_spans:
            if (
                inside is None
                and t_sheet == sheet
                and top <= row <= bottom
                and left <= col <= right
            ):
                inside = name
            if first <= row <= last:
                data_rows.append(name)
        return inside, tuple(data_rows)

    @property
    def formula_cell_set(self) -> frozenset[CellAddress]:
        """Every cell holding a formula (array formulas: their top-left cell)."""
        return self._index.formula_set()

    def formula_column(self, sheet: str, col: int) -> ColumnCells | None:
        """The formula cells of one sheet column (array formulas: their top-left), by row."""
        return self._index.formulas.get((sheet, col))

    def formula_columns(self, sheet: str) -> list[int]:
        """The sheet's columns that hold formulas, ascending."""
        return self._index.formula_cols.get(sheet, [])

    def value_columns(self) -> Mapping[tuple[str, int], ColumnCells]:
        """(sheet, col) → that column's cells holding a value and no formula, by row."""
        return self._index.values

    def sheet_exists(self, sheet: str) -> bool:
        return sheet in self._index.sheets

    @property
    def memo(self) -> dict[str, Any]:
        """What other layers derive from this model and keep with it (the model never changes):
        the evaluator's grids of constant cells, built once for compiling and write-back."""
        return self._index.memo


class _Index:
    """Lookup structures built once per model: its cells by column, sheet bounds, tables."""

    def __init__(self, model: WorkbookModel) -> None:
        self.sheets = set(model.sheet_names)
        self.memo: dict[str, Any] = {}
        store: CellStore = model.cells  # type: ignore[assignment]  # __post_init__ made it
        self.formulas, self.values = store.formulas, store.values
        self.bounds: dict[str, tuple[int, int]] = {}
        for (sheet, col), column in (*self.formulas.items(), *self.values.items()):
            rows, cols = self.bounds.get(sheet, (1, 1))
            self.bounds[sheet] = (max(rows, column.rows[-1]), max(cols, col))
        for table in model.tables.values():
            rows, cols = self.bounds.get(table.sheet, (1, 1))
            self.bounds[table.sheet] = (max(rows, table.ref.max_row), max(cols, table.ref.max_col))
        self.table_spans = [
            (
                t.name,
                t.sheet,
                t.ref.min_row,
                t.ref.max_row,
                t.ref.min_col,
                t.ref.max_col,
                t.first_data_row,
                t.last_data_row,
            )
            for t in model.tables.values()
        ]
        self.formula_cols: dict[str, list[int]] = {}
        for sheet, col in sorted(self.formulas):
            self.formula_cols.setdefault(sheet, []).append(col)
        self.arrays = list(model.array_formulas.values())
        self._by_cell: dict | bool | None = None
        self.tables_lower = {name.lower(): table for name, table in model.tables.items()}
        self.names = {(n.scope, n.name.lower()): n for n in model.defined_names}
        self._formula_set: frozenset[CellAddress] | None = None

    def formula_set(self) -> frozenset[CellAddress]:
        if self._formula_set is None:
            self._formula_set = frozenset(
                CellAddress(sheet, row, col)
                for (sheet, col), column in self.formulas.items()
                for row in column.rows
            )
        return self._formula_set

    def used_range(self, sheet: str) -> RangeAddress:
        rows, cols = self.bounds.get(sheet, (1, 1))
        return RangeAddress(sheet, 1, 1, rows, cols)

    def formula_cells_in(self, rng: RangeAddress) -> list[CellAddress]:
        found = []
        cols = self.formula_cols.get(rng.sheet, [])
        lo = bisect.bisect_left(cols, rng.min_col)
        hi = bisect.bisect_right(cols, rng.max_col)
        for col in cols[lo:hi]:
            column = self.formulas[(rng.sheet, col)]
            first, last = column.span(rng.min_row, rng.max_row)
            found.extend(CellAddress(rng.sheet, row, col) for row in column.rows[first:last])
        return found

    def array_covering(self, cell: CellAddress) -> ArrayFormula | None:
        by_cell = self._array_cells()
        if by_cell is not None:
            return by_cell.get((cell.sheet, cell.row, cell.col))
        for array in self.arrays:
            if array.ref.contains(cell):
                return array
        return None

    def _array_cells(self) -> dict[tuple[str, int, int], ArrayFormula] | None:
        """(sheet, row, col) → the array formula covering it, built on first use; None when the
        blocks are too big to list cell by cell (then a scan over the arrays answers)."""
        if self._by_cell is None:
            area = sum(a.ref.shape[0] * a.ref.shape[1] for a in self.arrays)
            if area > ARRAY_INDEX_CELLS:
                self._by_cell = False
            else:
                self._by_cell = {
                    (a.ref.sheet, row, col): a
                    for a in self.arrays
                    for row in range(a.ref.min_row, a.ref.max_row + 1)
                    for col in range(a.ref.min_col, a.ref.max_col + 1)
                }
        return self._by_cell or None
