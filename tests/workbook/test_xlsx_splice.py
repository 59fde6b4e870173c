"""The spliced write-back (`sheet_layout`, `xlsx_splice`, `xlsx_verify_splice`).

Where the reader noted each cell's bytes, a write-back of numbers splices them in. The bytes
must be exactly those `SheetPatcher` (the general path) writes, on random sheets of every cell
shape Excel and openpyxl write, cut into chunks anywhere; the layout must point at each cell's
own bytes in real files (the lesson's workbook, Excel-saved conformance workbooks); a part that
changed since the read, a cell to create or a value that is not a number must take the bulk
path; and the read-back of a spliced part must refuse a wrong file.
"""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from openpyxl.utils.cell import get_column_letter

from tests.workbook.test_xlsx_bulk import SHEET, _book, general, random_sheet
from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.sheet_layout import SheetLayout
from xl_lesson3.workbook.xlsx_bulk_values import Targets
from xl_lesson3.workbook.xlsx_patch import patch_workbook, plan_patch
from xl_lesson3.workbook.xlsx_splice import splice_plan, splice_sheet
from xl_lesson3.workbook.xlsx_verify import verify_sheet
from xl_lesson3.workbook.xlsx_verify_splice import verify_spliced

ROOT = Path(__file__).resolve().parents[2]
TITANIC = ROOT / "workbooks" / "titanic.xlsx"
CONFORMANCE = ROOT / ".." / "shared" / "conformance"
BOOKS = sorted(CONFORMANCE.glob("*/*.xlsx")) if CONFORMANCE.is_dir() else []
NUMBERS = [0.1 + 0.2, -1.5e-300, 1e16, 123456789.0, -0.0, 7, np.float64(2.5), 1e-5, 3.0]


def _readable(xml: str) -> str:
    """`random_sheet`'s XML with each shared-formula child made a master of its own (a child
    alone names no master: the reader refuses it; the patchers do not read formulas)."""
    return re.sub(
        r'<c r="([A-Z]+[0-9]+)"><f t="shared" si="([0-9]+)"/>',
        r'<c r="\1"><f t="shared" ref="\1:\1" si="\2">B1+1</f>',
        xml,
    )


def _layout_of(path: Path, sheet: str) -> SheetLayout | None:
    return load_workbook(path, layout=True).layouts.get(sheet)


def _spliced(data: bytes, layout: SheetLayout, info: zipfile.ZipInfo, updates, chunk: int):
    plan = splice_plan(layout, info.CRC, info.file_size, info.compress_size, Targets(updates))
    assert plan is not None
    out: list[bytes] = []
    splice_sheet([data[i : i + chunk] for i in range(0, len(data), chunk)], plan, out.append)
    return b"".join(out)


def _random_book(rng: random.Random, path: Path) -> tuple[Path, SheetLayout]:
    """A random sheet with cells that the columnar reader reads (most do; `rng` draws again
    for one it leaves to the other readers, or an empty one)."""
    for _ in range(20):
        book = _book(path, _readable(random_sheet(rng, odd=False)[0]))
        layout = _layout_of(book, "My Sheet")
        if layout is not None and len(layout):
            return book, layout
    raise AssertionError("twenty random sheets in a row without a layout")


@pytest.mark.parametrize("seed", range(40))
def test_splicing_writes_what_sheetpatcher_writes(seed, tmp_path):
    rng = random.Random(seed)
    book, layout = _random_book(rng, tmp_path / "book.xlsx")
    cells = list(zip(layout.rows.tolist(), layout.cols.tolist(), strict=True))
    chosen = rng.sample(cells, rng.randint(1, len(cells)))
    updates = {cell: rng.choice(NUMBERS) for cell in chosen}
    with zipfile.ZipFile(book) as package:
        info, data = package.getinfo(SHEET), package.read(SHEET)
    chunk = rng.choice([7, 100, 1000, 1 << 20])  # pieces cut anywhere
    assert _spliced(data, layout, info, updates, chunk) == general(data, updates)


def test_most_random_sheets_have_a_layout(tmp_path):
    """The random test above must exercise the splice, not skip: the reader reads them."""
    found = 0
    for seed in range(40):
        xml = _readable(random_sheet(random.Random(seed), odd=False)[0])
        found += _layout_of(_book(tmp_path / f"b{seed}.xlsx", xml), "My Sheet") is not None
    assert found >= 30


def _check_layout(path: Path) -> int:
    """Every cell of every layout of `path` is where the layout says: its reference (its own
    row and column), its start tag's end, its formula element and its end. Returns the cells."""
    model = load_workbook(path, layout=True)
    checked = 0
    with zipfile.ZipFile(path) as package:
        for sheet, layout in model.layouts.items():
            data = package.read(layout.part)
            index = np.arange(len(layout))
            body_at = layout.body_at(index).tolist()
            rows, cols = layout.rows.tolist(), layout.cols.tolist()
            for i, tail in enumerate(layout.tail_at.tolist()):
                ref = f'<c r="{get_column_letter(cols[i])}{rows[i]}"'.encode()
                assert data[tail - len(ref) : tail] == ref, (sheet, i)
                body, f_len = body_at[i], int(layout.f_len[i])
                end = body + f_len + int(layout.v_len[i])
                assert data[body - 1 : body] == b">", (sheet, i)
                if layout.empty[i]:
                    assert data[body - 2 : body] == b"/>" and end == body
                else:
                    assert data[end - 4 : end] == b"</c>", (sheet, i)
                if f_len:
                    assert data[body : body + 2] == b"<f" and data[body + f_len - 1] == ord(">")
            checked += len(layout)
    return checked


def test_layout_points_at_each_cell_of_the_lesson_workbook():
    assert _check_layout(TITANIC) > 10_000


@pytest.mark.skipif(not BOOKS, reason="../shared/conformance is absent")
@pytest.mark.parametrize("book", BOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_layout_points_at_each_cell_of_excel_saved_workbooks(book):
    _check_layout(book)


def _titanic_values(model, rng: np.random.Generator) -> dict[CellAddress, float]:
    """New numbers for the nnet sheet's parameters and for many of its formula cells."""
    values = {}
    for (sheet, col), column in model.cells.formulas.items():
        if sheet == "nnet":
            for row in column.rows:
                if rng.random() < 0.5:
                    values[CellAddress(sheet, row, col)] = float(rng.normal())
    for row in (2, 3):
        for col in range(7, 17):
            values[CellAddress("nnet", row, col)] = float(rng.normal())
    return values


def test_a_spliced_write_back_equals_the_bulk_one_and_reads_back(tmp_path):
    model = load_workbook(TITANIC, layout=True)
    values = _titanic_values(model, np.random.default_rng(5))
    spliced = patch_workbook(TITANIC, tmp_path / "s.xlsx", values=values, layouts=model.layouts)
    bulk = patch_workbook(TITANIC, tmp_path / "b.xlsx", values=values)
    with zipfile.ZipFile(spliced) as a, zipfile.ZipFile(bulk) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    back = load_workbook(spliced, cached_values=True)
    for cell, value in values.items():
        assert back.cached_value(cell) == value


def _plan_for(tmp_path: Path):
    model = load_workbook(TITANIC, layout=True)
    values = _titanic_values(model, np.random.default_rng(6))
    plan = plan_patch(TITANIC, values)
    ((part, (_, updates)),) = ((p, s) for p, s in plan.sheets.items() if s[0] == "nnet")
    return model, values, part, updates


def test_splicing_refuses_a_changed_part_a_cell_to_create_and_other_values(tmp_path):
    model, _, part, updates = _plan_for(tmp_path)
    layout = model.layouts["nnet"]
    with zipfile.ZipFile(TITANIC) as package:
        info = package.getinfo(part)
    identity = (info.CRC, info.file_size, info.compress_size)
    assert splice_plan(layout, *identity, Targets(updates)) is not None
    assert splice_plan(layout, info.CRC ^ 1, *identity[1:], Targets(updates)) is None
    assert splice_plan(layout, *identity, Targets({**updates, (5000, 3): 1.0})) is None
    for other in ("text", True, None, float("nan")):
        first = next(iter(updates))
        assert splice_plan(layout, *identity, Targets({**updates, first: other})) is None


def test_a_book_changed_since_it_was_read_is_patched_the_bulk_way(tmp_path):
    model = load_workbook(TITANIC, layout=True)
    values = _titanic_values(model, np.random.default_rng(7))
    book = tmp_path / "book.xlsx"
    book.write_bytes(TITANIC.read_bytes())
    patch_workbook(TITANIC, book, values={CellAddress("nnet", 2, 7): 0.25})  # edited since
    out = patch_workbook(book, tmp_path / "out.xlsx", values=values, layouts=model.layouts)
    back = load_workbook(out, cached_values=True)
    assert all(back.cached_value(cell) == value for cell, value in values.items())
    assert back.cached_value(CellAddress("nnet", 2, 7)) == values[CellAddress("nnet", 2, 7)]
    expected = patch_workbook(book, tmp_path / "bulk.xlsx", values=values)
    part = model.layouts["nnet"].part
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(expected) as b:
        assert a.read(part) == b.read(part)


def _written(tmp_path: Path):
    model, values, part, updates = _plan_for(tmp_path)
    out = patch_workbook(TITANIC, tmp_path / "out.xlsx", values=values, layouts=model.layouts)
    with zipfile.ZipFile(TITANIC) as package:
        info = package.getinfo(part)
    targets = Targets(updates)
    plan = splice_plan(model.layouts["nnet"], info.CRC, info.file_size, info.compress_size, targets)
    return out, part, updates, targets, plan, values


def test_the_spliced_read_back_passes_the_file_written_and_refuses_a_wrong_one(tmp_path):
    out, part, updates, targets, plan, values = _written(tmp_path)
    with zipfile.ZipFile(out) as package:
        assert verify_spliced(package, part, "nnet", plan, targets)
        text = package.read(part)
    cell = next(c for c in values if c.row > 300 and c.col > 17)  # a formula cell far down
    ref = f'<c r="{get_column_letter(cell.col)}{cell.row}"'.encode()
    start = text.index(ref)
    v_at = text.index(b"<v>", start) + 3
    digit = text[v_at + 3 : v_at + 4]
    wrong = text[: v_at + 3] + (b"1" if digit != b"1" else b"2") + text[v_at + 4 :]
    with _corrupted_part(out, tmp_path, part, wrong) as package:
        assert not verify_spliced(package, part, "nnet", plan, targets)
        where = f"nnet!{get_column_letter(cell.col)}{cell.row}"
        with pytest.raises(WorkbookIOError, match=f"{where}: write-back check failed"):
            verify_sheet(package, part, "nnet", updates, targets, spliced=plan)
    shifted = text.replace(ref, ref[:-1] + b' "', 1)  # one byte more: every later cell moves
    with _corrupted_part(out, tmp_path, part, shifted) as package:
        assert not verify_spliced(package, part, "nnet", plan, targets)


def test_the_spliced_read_back_refuses_damaged_xml(tmp_path):
    out, part, _, targets, plan, _ = _written(tmp_path)
    with zipfile.ZipFile(out) as package:
        text = package.read(part)
    damaged = text.replace(b"</row>", b"</rov>", 1)  # same length: only expat sees it
    with (
        _corrupted_part(out, tmp_path, part, damaged) as package,
        pytest.raises(WorkbookIOError, match="damaged XML"),
    ):
        verify_spliced(package, part, "nnet", plan, targets)


def _corrupted_part(out: Path, tmp_path: Path, part: str, data: bytes) -> zipfile.ZipFile:
    with zipfile.ZipFile(out) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    parts[part] = data
    path = tmp_path / "corrupt.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in parts.items():
            package.writestr(name, content)
    return zipfile.ZipFile(path)
