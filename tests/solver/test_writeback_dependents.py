"""Which cells the write-back writes: exactly the changing cells and the formulas they move.

The recalculation runs the workbook once and only the units that depend on the changing cells
again (`evaluate.changes`). These tests pin what that choice must get right: dependents on other
sheets, through INDIRECT/OFFSET, in array formulas; errors, text and booleans as values; cells
that do not depend on the changing cells keeping their bytes. Expected values come from
arithmetic done here, from openpyxl reading the written file, and from LibreOffice.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from tests import libreoffice
from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.solver.writeback import changed_cells
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.changeset import ChangeSet
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.xlsx_patch import patch_workbook

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
A1, A2 = CellAddress("P", 1, 1), CellAddress("P", 2, 1)
OLD = {A1: 1.0, A2: 2.0}
NEW = {A1: 3.0, A2: 3.0}
ROWS = 20

# Formula cells: dependents of P!A1/P!A2 and cells that do not depend on them.
FORMULAS = {
    "S!A1": "=P!A1*2",
    "S!A2": "=1/(P!A1-1)",  # #DIV/0! → 0.5
    "S!A3": "=1/(P!A2-3)",  # -1 → #DIV/0!
    "S!A4": "=IF(P!A1>0,1,0)",  # depends, but stays 1: not written
    "S!A5": "=P!A3/3",  # does not depend
    "S!A6": '=INDIRECT("P!"&P!A4)*10',  # reads P!A1 through INDIRECT
    "S!A7": "=SUM(OFFSET(P!A1,0,0,2,1))",  # reads P!A1:A2 through OFFSET
    "S!A8": "=SUM(OFFSET(P!A3,0,0,1,1))",  # an OFFSET that does not reach them
    "S!A9": '=IF(P!A1>2,"big","small")',  # text
    "S!A10": "=P!A2>2.5",  # boolean
    "S!A11": '=INDIRECT("P!A3")+0.1',  # INDIRECT that does not reach them
    "Q!A1": "=S!A1+1",  # another sheet, through a dependent
    "Q!A2": "=P!A3*0.14",  # another sheet, independent
}
ARRAYS = {"S!C1:C3": "=P!B1:B3*P!A1", "S!D1:D3": "=P!B1:B3*2"}  # dependent, independent


def _expected(a1: float, a2: float) -> dict[str, object]:
    """What each formula cell holds for P!A1 = a1, P!A2 = a2, worked out by hand."""
    div0 = "#DIV/0!"
    found = {
        "S!A1": a1 * 2,
        "S!A2": div0 if a1 == 1 else 1 / (a1 - 1),
        "S!A3": div0 if a2 == 3 else 1 / (a2 - 3),
        "S!A4": 1,
        "S!A5": 5 / 3,
        "S!A6": a1 * 10,
        "S!A7": a1 + a2,
        "S!A8": 5,
        "S!A9": "big" if a1 > 2 else "small",
        "S!A10": a2 > 2.5,
        "S!A11": 5.1,
        "Q!A1": a1 * 2 + 1,
        "Q!A2": 0.7,
        **{f"S!C{r}": r * a1 for r in (1, 2, 3)},
        **{f"S!D{r}": r * 2 for r in (1, 2, 3)},
        **{f"S!E{r}": r * a2 for r in range(1, ROWS + 1)},
        **{f"S!F{r}": r * 2 for r in range(1, ROWS + 1)},
    }
    return found


def build_book(path: Path) -> Path:
    """Sheets P (inputs: the changing cells P!A1:A2), S and Q (formulas), as openpyxl writes."""
    book = openpyxl.Workbook()
    p = book.active
    p.title = "P"
    p["A1"], p["A2"], p["A3"], p["A4"] = OLD[A1], OLD[A2], 5, "A1"
    for r in (1, 2, 3):
        p[f"B{r}"] = r
    s, q = book.create_sheet("S"), book.create_sheet("Q")
    for key, formula in FORMULAS.items():
        sheet, coord = key.split("!")
        book[sheet][coord] = formula
    for key, formula in ARRAYS.items():
        sheet, ref = key.split("!")
        book[sheet][ref.split(":")[0]] = ArrayFormula(ref, formula)
    for r in range(1, ROWS + 1):  # runs of copied formulas: one dependent, one not
        s[f"E{r}"] = "=ROW()*P!$A$2"
        s[f"F{r}"] = "=ROW()*2"
    assert q is book["Q"]
    book.save(path)
    return path


def _close(ours: object, expected: object) -> bool:
    if isinstance(expected, (bool, str)) or isinstance(ours, (bool, str)):
        return ours == expected
    return math.isclose(float(ours), float(expected), rel_tol=1e-12, abs_tol=1e-12)


def _as_cell_value(value: object) -> object:
    """Our value as openpyxl reads it back (errors are their text)."""
    return str(value) if isinstance(value, ExcelError) else value


def _write(src: Path, out: Path, values: dict[CellAddress, float]) -> tuple[ChangeSet, bool]:
    model = load_workbook(src)
    cells, complete = changed_cells(model, values, CellAddress("S", 1, 1))
    patch_workbook(src, out, values=cells, full_calc_on_load=not complete)
    return cells, complete


def _cell_xml(path: Path) -> dict[str, bytes]:
    """Every <c> element of every sheet, as bytes, keyed Sheet!A1."""
    book = openpyxl.load_workbook(path, read_only=True)
    found = {}
    with zipfile.ZipFile(path) as package:
        for i, name in enumerate(book.sheetnames, 1):
            root = ElementTree.fromstring(package.read(f"xl/worksheets/sheet{i}.xml"))
            for c in root.iter(f"{NS}c"):
                found[f"{name}!{c.get('r')}"] = ElementTree.tostring(c)
    return found


def _moved() -> set[str]:
    before, after = _expected(OLD[A1], OLD[A2]), _expected(NEW[A1], NEW[A2])
    return {key for key in after if not _close(after[key], before[key])}


def test_exactly_the_moved_cells_are_written_with_their_new_values(tmp_path):
    src = build_book(tmp_path / "book.xlsx")
    cells, complete = _write(src, tmp_path / "out.xlsx", NEW)
    assert complete
    written = {str(cell).replace("'", "") for cell in cells}
    assert written == _moved() | {"P!A1", "P!A2"}
    expected = _expected(NEW[A1], NEW[A2])
    cached = openpyxl.load_workbook(tmp_path / "out.xlsx", data_only=True)
    for key, value in expected.items():
        sheet, coord = key.split("!")
        if key in written:
            assert _close(cached[sheet][coord].value, value), key
            assert _close(_as_cell_value(cells[CellAddress.parse(key)]), value), key
    assert cached["P"]["A1"].value == NEW[A1] and cached["P"]["A2"].value == NEW[A2]
    assert cached["S"]["A3"].data_type == "e"  # an error cell, not the text "#DIV/0!"


def test_an_error_becomes_a_number_and_back(tmp_path):
    src = build_book(tmp_path / "book.xlsx")
    _write(src, tmp_path / "there.xlsx", NEW)
    back = {A1: OLD[A1], A2: OLD[A2]}
    cells, _ = _write(tmp_path / "there.xlsx", tmp_path / "back.xlsx", back)
    cached = openpyxl.load_workbook(tmp_path / "back.xlsx", data_only=True)["S"]
    assert cached["A2"].value == "#DIV/0!" and cached["A2"].data_type == "e"
    assert cached["A3"].value == pytest.approx(-1.0)
    assert cells[CellAddress("S", 2, 1)] == ExcelError.from_text("#DIV/0!")


def test_cells_that_do_not_depend_keep_their_bytes(tmp_path):
    src = build_book(tmp_path / "book.xlsx")
    cells, _ = _write(src, tmp_path / "out.xlsx", NEW)
    before, after = _cell_xml(src), _cell_xml(tmp_path / "out.xlsx")
    assert set(before) <= set(after)
    written = {str(cell).replace("'", "") for cell in cells}
    kept = [key for key in before if key not in written]
    assert "S!A4" in kept and "S!A8" in kept and "S!D1" in kept and "Q!A2" in kept
    for key in kept:
        assert after[key] == before[key], key


def test_a_cached_value_off_in_the_last_digit_is_kept_when_the_cell_does_not_depend(tmp_path):
    """5*0.14 is 0.7000000000000001 in IEEE arithmetic; a file saying 0.7 keeps saying it."""
    src = build_book(tmp_path / "book.xlsx")
    with_cache = tmp_path / "cached.xlsx"
    _rewrite_part(
        src,
        with_cache,
        "xl/worksheets/sheet3.xml",  # Q
        lambda xml: (
            xml.replace(b"<f>P!A3*0.14</f><v></v>", b"<f>P!A3*0.14</f><v>0.7</v>")
            .replace(b"<f>P!A3*0.14</f><v />", b"<f>P!A3*0.14</f><v>0.7</v>")
            .replace(b"<f>P!A3*0.14</f></c>", b"<f>P!A3*0.14</f><v>0.7</v></c>")
        ),
    )
    assert b"<v>0.7</v>" in zipfile.ZipFile(with_cache).read("xl/worksheets/sheet3.xml")
    assert 5 * 0.14 != 0.7  # the engine's value differs from the cached one
    _write(with_cache, tmp_path / "out.xlsx", NEW)
    assert b"<v>0.7</v>" in zipfile.ZipFile(tmp_path / "out.xlsx").read("xl/worksheets/sheet3.xml")


def _rewrite_part(src: Path, dst: Path, part: str, change) -> None:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            new.writestr(info, change(data) if info.filename == part else data)


def test_an_unsupported_function_in_a_dependent_asks_excel_to_recalculate(tmp_path):
    """INFO is not in the engine: the objective's precedents are written, the file asks Excel
    for a full recalculation on opening (openpyxl's own flag is removed from the input)."""
    book = openpyxl.Workbook()
    s = book.active
    s.title = "s"
    s["A1"], s["B1"], s["C1"] = 1.0, "=(A1-2)^2", '=B1&INFO("osversion")'
    s["D1"] = "=B1+1"
    book.save(tmp_path / "raw.xlsx")
    src = tmp_path / "book.xlsx"
    _rewrite_part(
        tmp_path / "raw.xlsx",
        src,
        "xl/workbook.xml",
        lambda xml: re.sub(rb' fullCalcOnLoad="1"', b"", xml),
    )
    model = load_workbook(src)
    cells, complete = changed_cells(model, {CellAddress("s", 1, 1): 2.5}, CellAddress("s", 1, 2))
    assert not complete
    assert dict(cells) == {CellAddress("s", 1, 1): 2.5, CellAddress("s", 1, 2): 0.25}
    patch_workbook(src, tmp_path / "out.xlsx", values=cells, full_calc_on_load=not complete)
    workbook_xml = zipfile.ZipFile(tmp_path / "out.xlsx").read("xl/workbook.xml")
    assert b'fullCalcOnLoad="1"' in workbook_xml
    assert b"fullCalcOnLoad" not in zipfile.ZipFile(src).read("xl/workbook.xml")


def test_only_the_dependents_drawing_random_numbers_are_written(make_workbook, tmp_path):
    """A dependent calling RAND is recalculated (a new draw, as Excel's recalculation makes);
    a RAND cell that does not depend on the changing cells is not."""
    src = make_workbook({"s!A1": 1.0, "s!B1": "=A1+RAND()", "s!C1": "=RAND()", "s!D1": "=A1*2"})
    model = load_workbook(src)
    cells, complete = changed_cells(model, {CellAddress("s", 1, 1): 4.0}, CellAddress("s", 1, 4))
    assert complete
    assert set(cells) == {CellAddress("s", 1, c) for c in (1, 2, 4)}  # not C1
    assert 4.0 <= cells[CellAddress("s", 1, 2)] < 5.0
    assert cells[CellAddress("s", 1, 4)] == 8.0


def test_a_change_set_is_a_mapping():
    changes = ChangeSet()
    changes.add_cells({CellAddress("a", 1, 1): 1.0})
    changes.add("b", [3, 4], [2, 2], ["x", None])
    plain = {
        CellAddress("a", 1, 1): 1.0,
        CellAddress("b", 3, 2): "x",
        CellAddress("b", 4, 2): None,
    }
    assert len(changes) == 3 and changes == plain and dict(changes.items()) == plain
    assert list(changes) == list(plain) and list(changes.values()) == list(plain.values())
    assert CellAddress("b", 4, 2) in changes and CellAddress("b", 5, 2) not in changes
    assert changes[CellAddress("b", 3, 2)] == "x"
    with pytest.raises(KeyError):
        changes[CellAddress("b", 5, 2)]


@pytest.mark.libreoffice
def test_libreoffice_agrees_on_which_cells_move_and_their_values(tmp_path):
    """The source saved by LibreOffice (real cached values); after the write-back, LibreOffice
    recalculates the written file: the cells whose value LibreOffice sees move are exactly the
    formula cells written, with LibreOffice's values."""
    src = libreoffice.recalculated_copy(build_book(tmp_path / "book.xlsx"), tmp_path / "lo")
    out = tmp_path / "out.xlsx"
    cells, complete = _write(src, out, NEW)
    assert complete
    before = openpyxl.load_workbook(src, data_only=True)
    after = libreoffice.recalculate(out)
    moved = set()
    for key in _expected(0, 0):
        sheet, coord = key.split("!")
        if not _close(after[sheet][coord].value, before[sheet][coord].value):
            moved.add(key)
    written = {str(cell).replace("'", "") for cell in cells} - {"P!A1", "P!A2"}
    assert written == moved
    ours = openpyxl.load_workbook(out, data_only=True)
    for key in written:
        sheet, coord = key.split("!")
        assert _close(ours[sheet][coord].value, after[sheet][coord].value), key


# C4 planned before B1, or after it (behind a chain E3 → E2 → E1): then B1's new reference
# reads a cell the plan computes later, and the write-back recalculates twice instead.
OFFSET_BOOKS = {
    "earlier": {"s!C4": "=A1*10"},
    "later": {"s!C4": "=A1*10+E1", "s!E1": "=E2", "s!E2": "=E3*2", "s!E3": "=0"},
}


@pytest.mark.parametrize("order", list(OFFSET_BOOKS))
def test_an_offset_moved_by_the_new_values_onto_another_dependent(make_workbook, order):
    """B1 reads C2 with the old A1, and C4 (a dependent itself) with the new one."""
    cells = {"s!A1": 1.0, "s!B1": "=OFFSET(C1,A1,0)", "s!C2": "=7", "s!D1": "=C2"}
    model = load_workbook(make_workbook({**cells, **OFFSET_BOOKS[order]}))
    found, complete = changed_cells(model, {CellAddress("s", 1, 1): 3.0}, CellAddress("s", 1, 2))
    assert complete
    assert dict(found) == {
        CellAddress("s", 1, 1): 3.0,
        CellAddress("s", 1, 2): 30.0,  # OFFSET(C1, 3, 0) is C4 = 3 * 10
        CellAddress("s", 4, 3): 30.0,
    }
