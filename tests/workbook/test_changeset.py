"""`ChangeSet` grouped per sheet for the patcher: the same mapping as a dict of every cell,
and the same sorted targets, whether it arrives as arrays or as a dict."""

from __future__ import annotations

import numpy as np

from xl_lesson3.formula.values import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.changeset import ChangeSet, SheetUpdates, cells_by_sheet
from xl_lesson3.workbook.xlsx_bulk_values import Targets


def _changes() -> tuple[ChangeSet, dict[CellAddress, object]]:
    changes = ChangeSet()
    changes.add("S", np.array([5, 3, 9]), np.array([2, 2, 2]), [0.5, "text", None])
    changes.add("T", np.array([1]), np.array([1]), [ExcelError(ErrorCode.NA)])
    changes.add("S", np.array([3, 1]), np.array([1, 4]), [True, 7.25])  # a second block of S
    changes.add_cells({CellAddress("S", 2, 2): -1.0})
    plain = {address: value for address, value in changes.items()}
    return changes, plain


def test_cells_by_sheet_holds_every_cell_of_its_sheet():
    changes, plain = _changes()
    grouped = cells_by_sheet(changes)
    assert set(grouped) == {"S", "T"}
    assert all(isinstance(updates, SheetUpdates) for updates in grouped.values())
    for sheet, updates in grouped.items():
        expected = {(a.row, a.col): v for a, v in plain.items() if a.sheet == sheet}
        assert dict(updates) == expected
        assert len(updates) == len(expected)
        assert (3, 1) in updates if sheet == "S" else (1, 1) in updates
        assert (8, 8) not in updates
    assert cells_by_sheet(plain) == {
        sheet: dict(updates) for sheet, updates in cells_by_sheet(changes).items()
    }


def test_targets_from_arrays_and_from_a_dict_agree():
    changes, _ = _changes()
    updates = cells_by_sheet(changes)["S"]
    from_arrays, from_dict = Targets(updates), Targets(dict(updates))
    assert from_arrays.rows.tolist() == from_dict.rows.tolist() == [1, 2, 3, 3, 5, 9]
    assert from_arrays.cols.tolist() == from_dict.cols.tolist() == [4, 2, 1, 2, 2, 2]
    np.testing.assert_array_equal(from_arrays.numbers, from_dict.numbers)
    assert [from_arrays.value(i) for i in range(6)] == [from_dict.value(i) for i in range(6)]
    assert [from_arrays.value(i) for i in range(6)] == [7.25, -1.0, True, "text", 0.5, None]
