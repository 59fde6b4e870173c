"""The bulk write-back path: byte for byte what `SheetPatcher` writes on canonical sheets, the
general path for anything else, and a bulk read-back that refuses a wrong file."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.formula.values import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.xlsx_bulk_patch import patch_sheet_bulk
from xl_lesson3.workbook.xlsx_bulk_values import number_texts
from xl_lesson3.workbook.xlsx_canonical import RowIndex
from xl_lesson3.workbook.xlsx_cells import number_text, patch_sheet_stream
from xl_lesson3.workbook.xlsx_fastscan import NotCanonical
from xl_lesson3.workbook.xlsx_patch import patch_workbook, plan_patch
from xl_lesson3.workbook.xlsx_verify import verify_sheet
from xl_lesson3.workbook.xlsx_verify_fast import verify_sheet_bulk

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
HEAD += '<dimension ref="A1:K40"/><sheetData>'
TAIL = '</sheetData><pageMargins left="0.7" right="0.7"/></worksheet>'

# Cell shapes Excel and openpyxl write (REF stands for the cell's reference).
SHAPES = [
    '<c r="REF"><v>1.5</v></c>',
    '<c r="REF" t="n"><v>2</v></c>',
    '<c r="REF" s="3"><v>7</v></c>',
    '<c r="REF"><f>A1*2</f><v>2</v></c>',  # formula with a cached value
    '<c r="REF"><f>A1*2</f></c>',  # formula without one
    '<c r="REF"><f>A1*2</f><v/></c>',
    '<c r="REF"><f>A1*2</f><v /></c>',
    '<c r="REF" s="1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>',  # text result
    '<c r="REF" t="b"><f>A1&gt;0</f><v>1</v></c>',
    '<c r="REF" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
    '<c r="REF" t="b"><v>0</v></c>',
    '<c r="REF" t="e"><v>#N/A</v></c>',
    '<c r="REF" t="inlineStr"><is><t>x &amp; y</t></is></c>',
    '<c r="REF" t="inlineStr"><is><t xml:space="preserve"> pad </t></is></c>',
    '<c r="REF" t="s"><v>0</v></c>',
    '<c r="REF" s="2"/>',  # self-closing
    '<c r="REF"/>',
    '<c r="REF"><f t="shared" si="SI"/><v>4</v></c>',  # shared formula child
    '<c r="REF" s="1"><f t="shared" ref="REF:REF" si="SI">B1+1</f><v>3</v></c>',
]
# Shapes the bulk path sends to SheetPatcher row by row (still byte-identical).
ODD_SHAPES = [
    '<c r="REF"><v>1</v><extLst><ext uri="u"/></extLst></c>',
    "<c><v>5</v></c>",  # no reference
    '<c r="$REF"><v>5</v></c>',
]
VALUES = [
    0.1 + 0.2,
    -1.5e-300,
    1e16,
    123456789.0,
    -0.0,
    7,
    np.float64(2.5),
    True,
    False,
    "text",
    "  padded  ",
    'a<b & c>"d"',
    "",
    None,
    ExcelError(ErrorCode.DIV0),
    float("nan"),
    float("inf"),
]


def random_sheet(rng: random.Random, odd: bool) -> tuple[str, dict[tuple[int, int], object]]:
    """A canonical sheet of random rows and cells, and random targets (existing and new)."""
    rows, updates = [], {}
    shared = 0
    for row in sorted(rng.sample(range(1, 40), rng.randint(0, 25))):
        cols = sorted(rng.sample(range(1, 12), rng.randint(0, 8)))
        cells = []
        for col in cols:
            ref = f"{openpyxl.utils.get_column_letter(col)}{row}"
            shapes = SHAPES + (ODD_SHAPES if odd and rng.random() < 0.3 else [])
            shape = rng.choice(shapes)
            if shape.startswith("<c><v>") and (not cells or rng.random() < 0.5):
                shape = SHAPES[0]  # an implicit reference only right after an explicit one
            shared += 1
            cells.append(shape.replace("REF", ref).replace("SI", str(shared)))
            if rng.random() < 0.6:
                updates[(row, col)] = rng.choice(VALUES)
        attrs = rng.choice(["", f' spans="{cols[0]}:{cols[-1]}"' if cols else "", ' ht="20"'])
        if not cells and rng.random() < 0.5:
            rows.append(f'<row r="{row}"{attrs}/>')
        else:
            rows.append(f'<row r="{row}"{attrs}>{"".join(cells)}</row>')
        if rng.random() < 0.3:
            updates[(row, rng.randint(1, 12))] = rng.choice(VALUES)  # maybe a cell to insert
    for _ in range(rng.randint(0, 4)):  # maybe rows to insert, between and after
        updates[(rng.randint(1, 45), rng.randint(1, 12))] = rng.choice(VALUES)
    return HEAD + "".join(rows) + TAIL, updates


def general(xml: bytes, updates: dict, chunk: int = 1 << 20) -> bytes:
    out: list[bytes] = []
    chunks = [xml[i : i + chunk] for i in range(0, len(xml), chunk)]
    patch_sheet_stream(chunks, updates, "s", out.append)
    return b"".join(out)


def bulk(xml: bytes, updates: dict, chunk: int = 1 << 20) -> bytes:
    out: list[bytes] = []
    chunks = [xml[i : i + chunk] for i in range(0, len(xml), chunk)]
    patch_sheet_bulk(chunks, updates, "s", out.append)
    return b"".join(out)


@pytest.mark.parametrize("odd", [False, True], ids=["canonical-cells", "with-odd-cells"])
@pytest.mark.parametrize("seed", range(60))
def test_bulk_writes_what_sheetpatcher_writes(seed, odd):
    rng = random.Random(seed)
    xml, updates = random_sheet(rng, odd)
    data = xml.encode()
    chunk = rng.choice([7, 100, 1000, 1 << 20])  # pieces cut anywhere
    assert bulk(data, updates, chunk) == general(data, updates)


def test_every_shape_and_value_type():
    """Each shape × each value, one cell per row: the table the random test samples."""
    rows, updates = [], {}
    for i, shape in enumerate(SHAPES):
        for j, value in enumerate(VALUES):
            row = i * len(VALUES) + j + 1
            rows.append(f'<row r="{row}" spans="2:3">{shape.replace("REF", f"B{row}")}</row>')
            rows[-1] = rows[-1].replace("SI", str(row))
            updates[(row, 2)] = value
            if j % 3 == 0:
                updates[(row, 4)] = value  # a cell to insert after it
    data = (HEAD + "".join(rows) + TAIL).encode()
    assert bulk(data, updates) == general(data, updates)


def test_array_formula_members_take_text_results():
    xml = (
        f'{HEAD}<row r="1"><c r="A1"><f t="array" ref="A1:B2">C1:D2</f><v>1</v></c>'
        '<c r="B1"><v>2</v></c></row><row r="2"><c r="A2"><v>3</v></c></row>'
        f'<row r="3"><c r="A3"><v>4</v></c></row>{TAIL}'
    )
    updates = {(1, 2): "in", (2, 1): "in too", (2, 2): "new in", (3, 1): "out"}
    out = bulk(xml.encode(), updates)
    assert out == general(xml.encode(), updates)
    assert out.count(b't="str"') == 3 and out.count(b't="inlineStr"') == 1


@pytest.mark.parametrize(
    "xml",
    [
        f'{HEAD}<!-- <row r="1"/> --><row r="1"><c r="A1"><v>1</v></c></row>{TAIL}',
        f'{HEAD}<row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[a]]></t></is></c></row>{TAIL}',
        f'{HEAD}<?pi x?><row r="1"><c r="A1"><v>1</v></c></row>{TAIL}',
        (
            f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v>'
            "</x:c></x:row></x:sheetData></x:worksheet>"
        ),
        (
            f'<worksheet xmlns="{MAIN}" xmlns:x="{MAIN}"><sheetData><x:row r="1"/></sheetData>'
            "</worksheet>"
        ),
        f'{HEAD}<row r="1" xmlns="urn:other"><c r="A1"><v>1</v></c></row>{TAIL}',
        f'{HEAD}<row><c r="A1"><v>1</v></c></row>{TAIL}',
        f'{HEAD}<row r="2"/><row r="1"/>{TAIL}',
        f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>',
        f'<worksheet xmlns="{MAIN}"><!-- <sheetData> --><sheetData></sheetData></worksheet>',
    ],
    ids=[
        "comment",
        "cdata",
        "processing-instruction",
        "prefix",
        "prefix-bound-to-main",
        "namespace-redeclared",
        "row-without-r",
        "rows-out-of-order",
        "empty-sheetdata",
        "sheetdata-in-comment",
    ],
)
def test_other_forms_go_the_general_way(xml, tmp_path):
    updates = {(1, 1): 42.0, (3, 2): "new"}
    with pytest.raises(NotCanonical):
        bulk(xml.encode(), updates)
    book = _book(tmp_path / "book.xlsx", xml)
    if 'xmlns="urn:other"' in xml:  # SheetPatcher adds a second row 1: the check refuses it
        with pytest.raises(WorkbookIOError, match="check failed"):
            patch_workbook(book, tmp_path / "out.xlsx", values=_addresses(updates))
        return
    out = patch_workbook(book, tmp_path / "out.xlsx", values=_addresses(updates))
    with zipfile.ZipFile(out) as package:
        assert package.read(SHEET) == general(xml.encode(), updates)


SHEET = "xl/worksheets/sheet1.xml"


def _book(path: Path, sheet_xml: str) -> Path:
    from tests.workbook.test_xlsx_patch import _HANDMADE_PARTS

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in {**_HANDMADE_PARTS, SHEET: sheet_xml}.items():
            package.writestr(name, text)
    return path


def _addresses(updates: dict) -> dict[CellAddress, object]:
    return {CellAddress("My Sheet", row, col): value for (row, col), value in updates.items()}


def test_number_texts_equal_number_text():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**63, 200_000, dtype=np.int64).view(np.float64)
    scaled = rng.choice([-1, 1], 200_000) * 10 ** rng.uniform(-8, 20, 200_000)
    edges = [1e-4, np.nextafter(1e-4, 0), np.nextafter(1e16, 0), 1e16, 2.0**53, 0.1, -0.0, 5e-324]
    numbers = np.concatenate([bits, scaled, np.round(scaled), edges])
    numbers = numbers[np.isfinite(numbers)]
    expected = [number_text(x).encode() for x in numbers.tolist()]
    assert number_texts(numbers) == expected


def _written_big(tmp_path: Path) -> tuple[Path, Path, dict]:
    """An openpyxl workbook of 300 rows of formulas and constants, patched with numbers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for row in range(1, 301):
        ws.append([row * 0.5, f"=A{row}*2", f"=B{row}+1", "label"])
    src = tmp_path / "src.xlsx"
    wb.save(src)
    rng = np.random.default_rng(1)
    values = {
        CellAddress("S", row, col): float(rng.normal() * 10.0 ** rng.integers(-6, 12))
        for row in range(1, 301)
        for col in (1, 2, 3)
        if rng.random() < 0.8
    }
    values[CellAddress("S", 5, 1)] = 2.5
    return src, patch_workbook(src, tmp_path / "out.xlsx", values=values), values


def test_written_values_read_back_by_openpyxl(tmp_path):
    _, out, values = _written_big(tmp_path)
    data = openpyxl.load_workbook(out, data_only=True)["S"]
    formulas = openpyxl.load_workbook(out)["S"]
    for address, value in values.items():
        assert data[address.coordinate].value == pytest.approx(value, rel=1e-15, abs=0)
    assert formulas["B7"].value == "=A7*2" and formulas["D9"].value == "label"


def _sheet_and_updates(src: Path, values: dict) -> tuple[str, dict]:
    ((part, (_, updates)),) = plan_patch(src, values).sheets.items()
    return part, updates


def _corrupted(out: Path, tmp_path: Path, old: bytes, new: bytes) -> zipfile.ZipFile:
    with zipfile.ZipFile(out) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    assert parts[SHEET].count(old) >= 1
    parts[SHEET] = parts[SHEET].replace(old, new, 1)
    path = tmp_path / "corrupt.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return zipfile.ZipFile(path)


def test_bulk_read_back_refuses_one_wrong_byte(tmp_path):
    src, out, values = _written_big(tmp_path)
    part, updates = _sheet_and_updates(src, values)
    with zipfile.ZipFile(out) as package:
        verify_sheet_bulk(package, part, "S", updates)  # the file as written passes, in bulk
        text = number_text(values[CellAddress("S", 150, 2)]).encode()
    digit = text[-1:]
    wrong = text[:-1] + (b"1" if digit != b"1" else b"2")
    with _corrupted(out, tmp_path, b"<v>" + text + b"</v>", b"<v>" + wrong + b"</v>") as package:
        with pytest.raises(WorkbookIOError, match=r"S!B150: write-back check failed"):
            verify_sheet_bulk(package, part, "S", updates)
        with pytest.raises(WorkbookIOError, match=r"S!B150: write-back check failed"):
            verify_sheet(package, part, "S", updates)


def test_bulk_read_back_refuses_damaged_xml_and_a_missing_cell(tmp_path):
    src, out, values = _written_big(tmp_path)
    part, updates = _sheet_and_updates(src, values)
    with (
        _corrupted(out, tmp_path, b"</row>", b"</rov>") as package,
        pytest.raises(WorkbookIOError, match="damaged XML"),
    ):
        verify_sheet_bulk(package, part, "S", updates)
    ref = next(f"B{a.row}" for a in values if a.col == 2).encode()
    with _corrupted(out, tmp_path, b'<c r="' + ref + b'"', b'<c r="Z' + ref[1:] + b'"') as package:
        with pytest.raises(NotCanonical):
            verify_sheet_bulk(package, part, "S", updates)  # the element reader decides:
        with pytest.raises(WorkbookIOError, match="the cell is missing"):
            verify_sheet(package, part, "S", updates)


@pytest.mark.parametrize(
    ("text", "same"),
    [(b"2.5", True), (b"2.50", True), (b"2.5000000000000004", False), (b" 2.5", False)],
    ids=["exact", "other-spelling", "next-double", "space"],
)
def test_numbers_are_compared_as_doubles(tmp_path, text, same):
    src, out, values = _written_big(tmp_path)
    part, updates = _sheet_and_updates(src, values)
    old = b'<c r="A5"><v>2.5</v>'
    with _corrupted(out, tmp_path, old, b'<c r="A5"><v>' + text + b"</v>") as package:
        if same:
            verify_sheet_bulk(package, part, "S", updates)
        else:
            with pytest.raises(WorkbookIOError, match="S!A5: write-back check failed"):
                verify_sheet_bulk(package, part, "S", updates)


@pytest.mark.parametrize("in_process", [True, False], ids=["expat-here", "expat-in-a-process"])
def test_damaged_xml_is_found_here_or_in_the_checker_process(tmp_path, monkeypatch, in_process):
    from xl_lesson3.workbook import xlsx_verify_fast

    if not in_process:
        monkeypatch.setattr(xlsx_verify_fast, "PROCESS_MIN_BYTES", 0)
        monkeypatch.setattr(xlsx_verify_fast, "core_free", lambda: True)
    src, out, values = _written_big(tmp_path)
    part, updates = _sheet_and_updates(src, values)
    with zipfile.ZipFile(out) as package:
        verify_sheet_bulk(package, part, "S", updates)
    with (
        _corrupted(out, tmp_path, b"<row ", b"<row <") as package,
        pytest.raises(WorkbookIOError, match=r"S \(written\): damaged XML"),
    ):
        verify_sheet_bulk(package, part, "S", updates)


def test_row_index_finds_each_row_and_refuses_other_forms():
    piece = b'x<row r="3"><c r="A3"/></row>ab<row r="5" ht="2"/><row r="12"/>'
    rows = RowIndex(piece, 2)
    assert rows.starts == [1, 31, 50, len(piece)]
    assert rows.digits == [b"3", b"5", b"12"]
    assert rows.numbers.tolist() == [3, 5, 12]
    bad = [
        b'<row r="1"/><rowx/>',  # a "<row" that is not a row start with r first
        b'<row r="1"/><row r="<row r="2"/>',  # a "<row" inside a number
        b'<row r=""/>',
        b'<row r="1a"/>',
        b'<row r="2"/><row r="1"/>',  # descending
        b'<row  r="1"/>',
        b'<row r="1',
    ]
    for piece in bad:
        with pytest.raises(NotCanonical):
            RowIndex(piece, 0)
    with pytest.raises(NotCanonical):
        RowIndex(b'<row r="2"/>', 2)  # not above the previous piece's last row


def test_bulk_read_back_names_the_first_wrong_cell_of_many_blocks(tmp_path):
    """Numbers are compared a whole piece at once; a wrong one is still found and named, the
    first in file order when two blocks far apart are wrong."""
    src, out, values = _written_big(tmp_path)
    part, updates = _sheet_and_updates(src, values)
    early = CellAddress("S", 40, 1) if CellAddress("S", 40, 1) in values else None
    late = CellAddress("S", 260, 3) if CellAddress("S", 260, 3) in values else None
    assert early is not None and late is not None  # in the seeded values
    with zipfile.ZipFile(out) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    for cell in (late, early):
        text = number_text(values[cell]).encode()
        assert parts[SHEET].count(b"<v>" + text + b"</v>") == 1
        wrong = b"7" + text  # another number (or none)
        parts[SHEET] = parts[SHEET].replace(b"<v>" + text + b"</v>", b"<v>" + wrong + b"</v>")
    path = tmp_path / "two-wrong.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    with (
        zipfile.ZipFile(path) as package,
        pytest.raises(WorkbookIOError, match=r"S!A40: write-back check failed"),
    ):
        verify_sheet_bulk(package, part, "S", updates)
