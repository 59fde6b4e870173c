"""The reader against openpyxl's own reading of real Excel-saved workbooks (../shared/conformance).

Every cell openpyxl sees must be in our model with the same formula text (shared formulas
expanded) or the same value, and with `cached_values` the same saved results. Where the two
readers differ by design, the comparison says so: dates are serial numbers here (openpyxl's
datetimes are converted back, except Excel's fictitious 1900-02-29 and the days before it, which
openpyxl shifts), array members belong to their array (openpyxl shows them as ``=`` formulas or
plain values), and OOXML's ``_xHHHH_`` escapes are decoded (openpyxl leaves them).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.formula import ArrayFormula as XlArrayFormula
from openpyxl.worksheet.formula import DataTableFormula

from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.workbook import xlsx_sheet
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.xlsx_package import unescape_xstring

CONFORMANCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance"
BOOKS = sorted(CONFORMANCE.glob("*/*.xlsx")) if CONFORMANCE.is_dir() else []
pytestmark = pytest.mark.skipif(not BOOKS, reason="../shared/conformance is absent")


def _plain(value):
    """openpyxl's value as ours: dates as serials, OOXML escapes decoded, errors as text."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return float(to_excel(value))
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400.0
    return value


def _same(ours, theirs, was_date: bool) -> bool:
    if isinstance(ours, ExcelError):
        ours = str(ours)
    if isinstance(ours, str) and isinstance(theirs, str):
        # openpyxl turns "_x005F_x0001_" into "_x0001_" and leaves "_x0001_" as is, so either
        # may stand for our (Excel's) text
        return ours in (theirs, unescape_xstring(theirs))
    numbers = (int, float)
    if isinstance(ours, numbers) and isinstance(theirs, numbers):
        if isinstance(ours, bool) or isinstance(theirs, bool):
            return ours is theirs
        if was_date and theirs < 61:  # openpyxl shifts days before 1900-03-01 by one
            return math.isclose(ours, theirs, abs_tol=1.0 + 1e-9)
        return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-12)
    return ours == theirs


def _differences(path: Path, cached: bool) -> list[str]:
    model = load_workbook(path, cached_values=cached)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
        book = openpyxl.load_workbook(path, data_only=cached, read_only=True)
    found = []
    seen = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for xl_cell in row:
                if xl_cell.value is None:
                    continue
                address = CellAddress(ws.title, xl_cell.row, xl_cell.column)
                seen.add(address)
                problem = _compare(model, address, xl_cell, cached)
                if problem:
                    found.append(f"{address}: {problem}")
    if not cached:
        extra = [a for a in model.cells if a not in seen]
        found += [f"{a}: not in openpyxl's reading" for a in extra]
    return found


def _compare(model, address: CellAddress, xl_cell, cached: bool) -> str | None:
    value = xl_cell.value
    ours = model.cell(address)
    array = model.array_formula_covering(address)
    if array is not None and array.ref.top_left != address:  # a member of an array
        if cached and not _same(model.cached_value(address), _plain(value), xl_cell.is_date):
            return f"array member saved {value!r}, ours {model.cached_value(address)!r}"
        return None if cached or value in ("=", None) or xl_cell.data_type != "f" else "member"
    if isinstance(value, XlArrayFormula):
        text = value.text if value.text.startswith("=") else "=" + value.text
        if array is None or (array.text, array.ref.coordinate) != (text, value.ref):
            return f"array {text} over {value.ref}, ours {array}"
        return None
    if isinstance(value, DataTableFormula):
        return None if array is not None and array.text.startswith("=TABLE(") else "data table"
    if ours is None:
        return f"missing (openpyxl: {value!r})"
    if not cached and xl_cell.data_type == "f":
        return None if ours.formula == value else f"formula {value!r}, ours {ours.formula!r}"
    if not _same(ours.value, _plain(value), xl_cell.is_date):
        return f"value {value!r}, ours {ours.value!r}"
    return None


@pytest.mark.parametrize("cached", [False, True], ids=["formulas", "cached"])
@pytest.mark.parametrize("path", BOOKS, ids=[p.stem for p in BOOKS])
def test_reader_agrees_with_openpyxl(path, cached):
    assert _differences(path, cached) == []


def test_fast_and_element_readers_agree(monkeypatch):
    """The bulk fast paths and the element-by-element fallback read the same columns."""
    path = CONFORMANCE / "formulas" / "test__test_files__test.xlsx"
    fast = load_workbook(path, cached_values=True)

    def element_only(*args):
        raise xlsx_sheet.NotCanonical

    monkeypatch.setattr(xlsx_sheet, "read_sheet_columnar", element_only)
    monkeypatch.setattr(xlsx_sheet, "read_sheet_fast", element_only)
    slow = load_workbook(path, cached_values=True)
    assert len(fast.cells) == len(slow.cells) > 20_000
    for store in ("formulas", "values"):
        a, b = getattr(fast.cells, store), getattr(slow.cells, store)
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].rows == b[key].rows, key
            assert a[key].formulas == b[key].formulas, key
            assert [str(v) for v in a[key].values] == [str(v) for v in b[key].values], key
    assert fast.array_formulas == slow.array_formulas
    assert fast.array_cached_values.keys() == slow.array_cached_values.keys()
