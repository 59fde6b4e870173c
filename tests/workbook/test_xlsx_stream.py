"""The streaming write-back: a real XML parser decides what is a cell, chunks never matter,
everything outside the changed cells keeps its bytes, and the result is read back."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.workbook.test_xlsx_patch import _HANDMADE_PARTS, SHEET1
from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.xlsx_cells import patch_sheet_stream, patch_sheet_xml
from xl_lesson3.workbook.xlsx_patch import patch_workbook
from xl_lesson3.workbook.xlsx_verify import verify_sheet

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# A row inside a comment and a CDATA section, a processing instruction, a ">" inside an
# attribute value, an empty row and a prefixed namespace: what regular expressions get wrong.
TRICKY = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<?producer x="1"?>\n'
    f'<x:worksheet xmlns:x="{MAIN}" xmlns:o="urn:other"><x:dimension ref="A1:B4"/>'
    '<x:sheetData><!-- <x:row r="2"><x:c r="B2"><x:v>1</x:v></x:c></x:row> -->'
    '<x:row r="1" spans="1:2"><x:c r="A1" s="3"><x:v>1</x:v></x:c>'
    '<x:c r="B1" o:tag="a&gt;b"><x:f>A1*2</x:f><x:v>2</x:v>'
    '<x:extLst><x:ext uri="u"/></x:extLst></x:c></x:row>'
    '<x:row r="2" spans="2:2"><x:c r="B2" o:note=\'x>y\'><x:v>5</x:v></x:c></x:row>'
    '<x:row r="4" spans="1:1"/></x:sheetData><o:other><![CDATA[<x:row r="2"/>]]></o:other>'
    "</x:worksheet>"
)
XXE_SHEET = (
    '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>'
)
UPDATES = {(1, 1): 7.5, (1, 2): 15, (2, 2): "a <&> b", (2, 1): True, (4, 2): 3, (6, 1): "z"}
EXPECTED = (
    TRICKY.replace('<x:c r="A1" s="3"><x:v>1</x:v></x:c>', '<x:c r="A1" s="3"><x:v>7.5</x:v></x:c>')
    .replace("<x:v>2</x:v>", "<x:v>15</x:v>")
    .replace(
        '<x:row r="2" spans="2:2"><x:c r="B2" o:note=\'x>y\'><x:v>5</x:v></x:c>',
        '<x:row r="2" spans="1:2"><x:c r="A2" t="b"><x:v>1</x:v></x:c>'
        '<x:c r="B2" o:note=\'x>y\' t="inlineStr"><x:is><x:t>a &lt;&amp;&gt; b</x:t></x:is></x:c>',
    )
    .replace(
        '<x:row r="4" spans="1:1"/>',
        '<x:row r="4" spans="1:2"><x:c r="B4"><x:v>3</x:v></x:c></x:row>'
        '<x:row r="6"><x:c r="A6" t="inlineStr"><x:is><x:t>z</x:t></x:is></x:c></x:row>',
    )
)


def test_only_real_cells_change_and_everything_else_is_kept():
    assert patch_sheet_xml(TRICKY, UPDATES, "s") == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096], ids=lambda n: f"chunks-of-{n}")
def test_chunk_boundaries_do_not_matter(size):
    data = TRICKY.encode()
    out: list[bytes] = []
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    patch_sheet_stream(chunks, UPDATES, "s", out.append)
    assert b"".join(out).decode() == EXPECTED


def test_output_is_written_as_it_streams():
    """Rows before the first changed row are passed on before the end of the part is read."""
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 2001))
    data = f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'.encode()
    written: list[int] = []
    out: list[bytes] = []

    def write(piece: bytes) -> None:
        written.append(fed[0])
        out.append(piece)

    fed = [0]
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]

    def counted():
        for chunk in chunks:
            fed[0] += len(chunk)
            yield chunk

    patch_sheet_stream(counted(), {(2000, 1): 0}, "s", write)
    assert written[0] < len(data) // 4  # the first output came after a quarter of the input
    assert b"".join(out) == data.replace(b"<v>2000</v>", b"<v>0</v>")


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (TRICKY[:-30], "damaged XML"),
        (f'<worksheet xmlns="{MAIN}"><sheetData></row></worksheet>', "damaged XML"),
        (f'<worksheet xmlns="{MAIN}"><cols/></worksheet>', "no <sheetData>"),
        (XXE_SHEET, "unsafe XML"),
        ("\ufeff<worksheet/>".encode("utf-16").decode("latin-1"), "UTF-16"),
    ],
    ids=["truncated", "mismatched-tag", "no-sheetdata", "xxe", "utf-16"],
)
def test_bad_sheet_xml_is_one_clear_error(xml, message):
    data = xml.encode("latin-1") if message == "UTF-16" else xml.encode()
    with pytest.raises(WorkbookIOError, match=message):
        patch_sheet_stream([data], {(1, 1): 1}, "s", lambda piece: None)


def _handmade(path: Path, sheet: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in {**_HANDMADE_PARTS, SHEET1: sheet}.items():
            package.writestr(name, text.encode("utf-16") if "UTF-16" in text[:60] else text)
    return path


def test_comment_row_workbook_reads_back_the_real_value(tmp_path):
    """The issue's case: a <row> inside a comment must not receive the value."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData>'
        '<!-- <x:row r="1"><x:c r="A1"><x:v>99</x:v></x:c></x:row> -->'
        '<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    book = _handmade(tmp_path / "c.xlsx", sheet)
    out = patch_workbook(book, tmp_path / "out.xlsx", values={CellAddress("My Sheet", 1, 1): 42})
    assert openpyxl.load_workbook(out)["My Sheet"]["A1"].value == 42
    with zipfile.ZipFile(out) as package:
        assert b"<x:v>99</x:v>" in package.read(SHEET1)  # the comment is kept as it was


def test_utf16_sheet_is_refused_before_writing(tmp_path):
    sheet = '<?xml version="1.0" encoding="UTF-16"?>' + _HANDMADE_PARTS[SHEET1].split("?>", 1)[1]
    book = _handmade(tmp_path / "u.xlsx", sheet)
    with pytest.raises(WorkbookIOError, match="My Sheet: the worksheet part is stored as UTF-16"):
        patch_workbook(book, tmp_path / "out.xlsx", values={CellAddress("My Sheet", 1, 1): 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.xlsx"]


def _zip_with_sheet(xml: str) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(SHEET1, xml)
    return zipfile.ZipFile(buffer)


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({(1, 1): 2}, r"wrote '1' \(t=None\), expected '2'"),
        ({(1, 1): "1"}, "expected '1' \\(t=inlineStr\\)"),
        ({(9, 9): 5}, "the cell is missing"),
    ],
    ids=["other-number", "number-not-text", "missing-cell"],
)
def test_read_back_check_catches_a_wrong_file(updates, message):
    package = _zip_with_sheet(
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    )
    with pytest.raises(WorkbookIOError, match=message):
        verify_sheet(package, SHEET1, "s", updates)


def test_read_back_check_catches_a_duplicated_cell():
    package = _zip_with_sheet(
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c>'
        '<c r="A1"><v>1</v></c></row></sheetData></worksheet>'
    )
    with pytest.raises(WorkbookIOError, match="write-back check failed"):
        verify_sheet(package, SHEET1, "s", {(1, 1): 1})


WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<x:workbook xmlns:x="{MAIN}"><x:sheets><x:sheet name="S" sheetId="1"/></x:sheets>'
    '<!-- <x:definedNames><x:definedName name="old">S!$A$1</x:definedName></x:definedNames> -->'
    '<x:definedNames><x:definedName name="keep" comment="a>b">S!$B$1</x:definedName>'
    '<x:definedName name="old" localSheetId="0">S!$A$1</x:definedName></x:definedNames>'
    '<x:calcPr calcId="1" fullCalcOnLoad="0"/></x:workbook>'
)


def test_defined_names_and_calc_pr_are_found_by_the_parser():
    from xl_lesson3.workbook.xlsx_names import patch_defined_names, set_full_calc_on_load

    changed = patch_defined_names(
        WORKBOOK, {("old", "S"): "S!$C$3", ("solver_opt", "S"): "=S!$D$4"}, ["S"]
    )
    assert changed == WORKBOOK.replace(
        '<x:definedName name="old" localSheetId="0">S!$A$1</x:definedName>',
        '<x:definedName name="old" localSheetId="0">S!$C$3</x:definedName>'
        '<x:definedName name="solver_opt" localSheetId="0" hidden="1">S!$D$4</x:definedName>',
    )
    assert set_full_calc_on_load(changed) == changed.replace(
        '<x:calcPr calcId="1" fullCalcOnLoad="0"/>', '<x:calcPr calcId="1" fullCalcOnLoad="1"/>'
    )
