"""The write-back check: its bulk path accepts what the patcher wrote and refuses what differs,
as the element reader does."""

from __future__ import annotations

import zipfile

import pytest

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook import xlsx_verify
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.xlsx_patch import patch_workbook, plan_patch
from xl_lesson3.workbook.xlsx_verify_fast import verify_sheet_bulk

CELLS = {
    "S!A1": 1.5,
    "S!A2": "text",
    "S!A3": True,
    "S!B1": "=A1*2",
    "S!B2": '=A2&"!"',
    "S!B3": "=NOT(A3)",
}
NEW = {  # constants and formula results of every type the write-back stores
    "S!A1": 2.25,
    "S!A2": "a & <b> \u00e9",
    "S!B1": 4.5,
    "S!B2": "a & <b> \u00e9!",
    "S!B3": False,
    "S!C5": 7.0,  # a new cell in a new row
}


def _written(make_workbook, tmp_path):
    src = make_workbook(CELLS)
    values = {CellAddress.parse(k): v for k, v in NEW.items()}
    dst = patch_workbook(src, tmp_path / "out.xlsx", values=values)
    ((part, (_, updates)),) = plan_patch(src, values).sheets.items()
    return dst, part, updates


def test_bulk_path_reads_back_what_was_written(make_workbook, tmp_path):
    dst, part, updates = _written(make_workbook, tmp_path)
    with zipfile.ZipFile(dst) as package:
        verify_sheet_bulk(package, part, "S", updates)  # canonical: no NotCanonical, no error
    assert len(updates) == len(NEW)


@pytest.mark.parametrize(
    ("cell", "wrong"), [("S!A1", 2.5), ("S!A2", "text"), ("S!B3", True)], ids=["num", "str", "bool"]
)
def test_a_wrong_value_is_found_on_the_fast_path(make_workbook, tmp_path, cell, wrong):
    dst, part, updates = _written(make_workbook, tmp_path)
    address = CellAddress.parse(cell)
    updates = {**updates, (address.row, address.col): wrong}
    with zipfile.ZipFile(dst) as package:
        with pytest.raises(WorkbookIOError, match="check failed"):
            verify_sheet_bulk(package, part, "S", updates)
        with pytest.raises(WorkbookIOError, match="check failed"):
            xlsx_verify.verify_sheet(package, part, "S", updates)
