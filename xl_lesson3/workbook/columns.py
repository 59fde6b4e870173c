"""Column storage for the workbook model: a sheet column's rows, values and formulas as lists.

A 100k-row sheet holds 2.2 million cells. Building a `Cell` and a `CellAddress` for each (and a
dict entry keyed by the address) cost more than reading the file, so the model keeps its cells
the way the engine reads them, column by column: one sorted list of rows, one of values and, for
formula columns, one of formula texts. `Cell` objects are made only when someone asks for one
(`CellStore` is a read-only mapping built on the columns; `ColumnCells.cells` a lazy sequence).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from xl_lesson3.workbook.address import CellAddress

ColumnKey = tuple[str, int]  # (sheet, column)


@dataclass(frozen=True, slots=True)  # slots: a million-row sheet can still ask for millions
class Cell:
    """One non-empty cell: its value, and its formula text (``=...``) when it has one."""

    address: CellAddress
    value: Any = None
    formula: str | None = None


class ColumnCells:
    """Some cells of one sheet column, sorted by row: `rows[i]` is the row of the i-th cell.

    `values[i]` is its value (a formula cell's cached result, or None), `formulas[i]` its formula
    text; `formulas` is None for a column of plain values. The engine reads a workbook column by
    column (a copied formula runs down a column), so this is the model's storage, not a view.
    """

    __slots__ = ("_cells", "col", "formulas", "rows", "sheet", "values")

    def __init__(
        self,
        sheet: str,
        col: int,
        rows: list[int],
        values: list[Any],
        formulas: list[str] | None = None,
    ) -> None:
        self.sheet, self.col = sheet, col
        self.rows, self.values, self.formulas = rows, values, formulas
        self._cells: _CellSequence | None = None

    @property
    def cells(self) -> Sequence[Cell]:
        """The cells as `Cell` objects, made on access (index or iterate; not stored)."""
        if self._cells is None:
            self._cells = _CellSequence(self)
        return self._cells

    def cell_at(self, index: int) -> Cell:
        """The `index`-th cell of the column as a `Cell`."""
        formula = None if self.formulas is None else self.formulas[index]
        return Cell(
            CellAddress(self.sheet, self.rows[index], self.col), self.values[index], formula
        )

    def index_of(self, row: int) -> int:
        """The position of `row` in the column, or -1 when the column has no cell there."""
        i = bisect.bisect_left(self.rows, row)
        return i if i < len(self.rows) and self.rows[i] == row else -1

    def span(self, first: int, last: int) -> tuple[int, int]:
        """The index range [lo, hi) of the cells whose rows lie in first..last."""
        return bisect.bisect_left(self.rows, first), bisect.bisect_right(self.rows, last)

    def __len__(self) -> int:
        return len(self.rows)


class _CellSequence(Sequence[Cell]):
    """`ColumnCells.cells`: each `Cell` built when indexed."""

    __slots__ = ("_column",)

    def __init__(self, column: ColumnCells) -> None:
        self._column = column

    def __len__(self) -> int:
        return len(self._column.rows)

    @overload
    def __getitem__(self, index: int) -> Cell: ...
    @overload
    def __getitem__(self, index: slice) -> list[Cell]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._column.cell_at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._column.cell_at(index)

    def __iter__(self) -> Iterator[Cell]:
        column = self._column
        sheet, col = column.sheet, column.col
        formulas = column.formulas or [None] * len(column.rows)
        for row, value, formula in zip(column.rows, column.values, formulas, strict=True):
            yield Cell(CellAddress(sheet, row, col), value, formula)


class CellStore(Mapping[CellAddress, Cell]):
    """The model's cells: a read-only mapping address → `Cell` over formula and value columns.

    `formulas` and `values` map (sheet, col) to that column's formula cells and plain-value cells.
    Lookups cost a bisection; iteration makes the `Cell` objects one at a time.
    """

    __slots__ = ("_len", "formulas", "values")

    def __init__(
        self, formulas: dict[ColumnKey, ColumnCells], values: dict[ColumnKey, ColumnCells]
    ) -> None:
        self.formulas = {key: column for key, column in formulas.items() if column.rows}
        self.values = {key: column for key, column in values.items() if column.rows}
        self._len = sum(map(len, self.formulas.values())) + sum(map(len, self.values.values()))

    @classmethod
    def from_cells(cls, cells: Mapping[CellAddress, Cell]) -> CellStore:
        """Group plain `Cell`s into columns (one pass; a sort only for out-of-order rows)."""
        groups: dict[tuple[str, int, bool], tuple[list[int], list[Cell]]] = {}
        for address, cell in cells.items():
            key = (address.sheet, address.col, cell.formula is None)
            found = groups.get(key)
            if found is None:
                groups[key] = ([address.row], [cell])
            else:
                found[0].append(address.row)
                found[1].append(cell)
        formulas, values = {}, {}
        for (sheet, col, is_value), (rows, column) in groups.items():
            ordered = sorted(rows)  # linear when already in order, the usual case
            if ordered != rows:
                column = [column[i] for i in sorted(range(len(rows)), key=rows.__getitem__)]
            texts = None if is_value else [cell.formula for cell in column]
            store = ColumnCells(sheet, col, ordered, [cell.value for cell in column], texts)
            (values if is_value else formulas)[(sheet, col)] = store
        return cls(formulas, values)

    def __getitem__(self, address: CellAddress) -> Cell:
        key = (address.sheet, address.col)
        for columns in (self.formulas, self.values):
            column = columns.get(key)
            if column is not None:
                i = column.index_of(address.row)
                if i >= 0:
                    return column.cell_at(i)
        raise KeyError(address)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, CellAddress):
            return False
        try:
            self[address]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[CellAddress]:
        for columns in (self.formulas, self.values):
            for (sheet, col), column in columns.items():
                for row in column.rows:
                    yield CellAddress(sheet, row, col)

    def __len__(self) -> int:
        return self._len

    def items(self):  # type: ignore[override]  # a generator: no lookup per cell
        """(address, cell) pairs, column by column."""
        return ((cell.address, cell) for cell in self._cells())

    def values_view(self) -> Iterator[Cell]:
        """Every cell, column by column."""
        return self._cells()

    def _cells(self) -> Iterator[Cell]:
        for columns in (self.formulas, self.values):
            for column in columns.values():
                yield from column.cells
