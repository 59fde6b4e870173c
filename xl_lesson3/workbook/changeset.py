"""A mapping of cell → new value held as column blocks, for writing back hundreds of thousands.

The write-back hands the patcher every cell whose value a solution changes: on a 100k-row
sheet that is 600k cells. Building a `CellAddress` and a dict entry for each costs about a
second in Python, so `ChangeSet` keeps what the recalculation produced, blocks of (sheet, rows,
columns, values), and makes address objects only when a caller iterates or looks one up. It is
a `Mapping[CellAddress, object]` like the dict it replaces; `blocks()` gives the columnar form
to a consumer that can use it, and `cells_by_sheet` the patcher's {(row, col): value} per sheet
(`SheetUpdates`: arrays again, a dict only when something looks a cell up).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from itertools import repeat
from typing import Any

import numpy as np

from xl_lesson3.workbook.address import CellAddress

Block = tuple[str, np.ndarray, np.ndarray, list[Any]]  # sheet, rows (n,), cols (n,), n values


class ChangeSet(Mapping[CellAddress, Any]):
    """Cells and their new values (float, bool, str, None or `ExcelError`), in blocks.

    A cell appears in one block only (the recalculation never writes a cell twice); blocks
    keep the order they were added in, and iteration follows it.
    """

    def __init__(self) -> None:
        self._blocks: list[Block] = []
        self._count = 0
        self._lookup: dict[tuple[str, int, int], Any] | None = None

    def add(self, sheet: str, rows: np.ndarray, cols: np.ndarray, values: list[Any]) -> None:
        """Add the cells (`sheet`, rows[i], cols[i]) with values[i]; none may be present yet."""
        if len(values) == 0:
            return
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if not len(rows) == len(cols) == len(values):
            raise ValueError(f"{sheet}: {len(rows)} rows, {len(cols)} cols, {len(values)} values")
        self._blocks.append((sheet, rows, cols, list(values)))
        self._count += len(values)
        self._lookup = None

    def add_cells(self, cells: Mapping[CellAddress, Any]) -> None:
        """Add cells given one by one (the changing cells)."""
        by_sheet: dict[str, list[tuple[int, int, Any]]] = {}
        for address, value in cells.items():
            by_sheet.setdefault(address.sheet, []).append((address.row, address.col, value))
        for sheet, found in by_sheet.items():
            rows, cols, values = zip(*found, strict=True)
            self.add(sheet, np.array(rows), np.array(cols), list(values))

    def blocks(self) -> Iterator[Block]:
        """The cells as (sheet, rows, cols, values) blocks: no address objects made."""
        return iter(self._blocks)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[CellAddress]:
        for sheet, rows, cols, _ in self._blocks:
            yield from map(CellAddress, repeat(sheet), rows.tolist(), cols.tolist())

    def __getitem__(self, address: CellAddress) -> Any:
        if not isinstance(address, CellAddress):
            raise KeyError(address)
        return self._table()[(address.sheet, address.row, address.col)]

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, CellAddress):
            return False
        return (address.sheet, address.row, address.col) in self._table()

    def items(self) -> ItemsView[CellAddress, Any]:
        return _Items(self)

    def values(self) -> ValuesView[Any]:
        return _Values(self)

    def _table(self) -> dict[tuple[str, int, int], Any]:
        if self._lookup is None:
            self._lookup = {
                key: value
                for sheet, rows, cols, values in self._blocks
                for key, value in zip(
                    zip(repeat(sheet), rows.tolist(), cols.tolist()), values, strict=True
                )
            }
        return self._lookup

    def __repr__(self) -> str:
        return f"ChangeSet({self._count} cells in {len(self._blocks)} blocks)"


def cells_by_sheet(cells: Mapping[CellAddress, Any]) -> dict[str, Mapping[tuple[int, int], Any]]:
    """`cells` grouped by sheet as {(row, col): value}; a ChangeSet's as `SheetUpdates`, without
    a key object per cell."""
    if isinstance(cells, ChangeSet):
        grouped: dict[str, list[Block]] = {}
        for block in cells.blocks():
            grouped.setdefault(block[0], []).append(block)
        return {
            sheet: SheetUpdates(
                np.concatenate([rows for _, rows, _, _ in blocks]),
                np.concatenate([cols for _, _, cols, _ in blocks]),
                [value for _, _, _, values in blocks for value in values],
            )
            for sheet, blocks in grouped.items()
        }
    found: dict[str, dict[tuple[int, int], Any]] = {}
    for address, value in cells.items():
        found.setdefault(address.sheet, {})[(address.row, address.col)] = value
    return dict(found)


class SheetUpdates(Mapping[tuple[int, int], Any]):
    """One sheet's {(row, col): value} held as arrays: the bulk patcher sorts them as they are
    (`xlsx_bulk_values.Targets`); a dict is made only for a lookup (the general patcher's)."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, values: list[Any]) -> None:
        self.rows, self.cols, self.values_list = rows, cols, values
        self._lookup: dict[tuple[int, int], Any] | None = None

    def __len__(self) -> int:
        return len(self.values_list)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.rows.tolist(), self.cols.tolist(), strict=True)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        return self._table()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._table()

    def _table(self) -> dict[tuple[int, int], Any]:
        if self._lookup is None:
            self._lookup = dict(zip(self, self.values_list, strict=True))
        return self._lookup


class _Items(ItemsView):
    """(address, value) pairs straight from the blocks (the generic view looks up each key)."""

    _mapping: ChangeSet

    def __iter__(self) -> Iterator[tuple[CellAddress, Any]]:
        for sheet, rows, cols, values in self._mapping.blocks():
            addresses = map(CellAddress, repeat(sheet), rows.tolist(), cols.tolist())
            yield from zip(addresses, values, strict=True)


class _Values(ValuesView):
    _mapping: ChangeSet

    def __iter__(self) -> Iterator[Any]:
        for _, _, _, values in self._mapping.blocks():
            yield from values
