"""patch_workbook: values and names land where asked, and nothing else in the file changes."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table
from PIL import Image as PILImage

from xl_lesson3.errors import UnknownReferenceError, WorkbookIOError
from xl_lesson3.formula.values import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.xlsx_patch import patch_workbook, write_atomically

SHEET1 = "xl/worksheets/sheet1.xml"


def cell(text: str) -> CellAddress:
    return CellAddress.parse(text)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {info.filename: package.read(info) for info in package.infolist()}


def rich_workbook(path: Path) -> Path:
    """Two sheets with formulas, an array formula, a chart, an image, a comment and a table."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in range(1, 6):
        ws.cell(row, 1, row)
        ws.cell(row, 2, f"=A{row}*2")
    ws["D1"] = ArrayFormula("D1:E2", "=MMULT(A1:B2,A1:B2)")
    ws["G3"] = "note"
    ws["G3"].comment = Comment("a comment", "tester")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=5))
    ws.add_chart(chart, "J2")
    picture = io.BytesIO()
    PILImage.new("RGB", (4, 4), (200, 30, 30)).save(picture, format="PNG")
    ws.add_image(Image(picture), "J20")
    other = wb.create_sheet("Other")
    other.append(["name", "x"])
    other.append(["a", 1])
    other.append(["b", 2])
    other.add_table(Table(displayName="things", ref="A1:B3"))
    wb.save(path)
    return path


def without_cells(xml: str, coords: list[str]) -> str:
    """The XML with the named <c> elements cut out (a deliberately simple, separate matcher)."""
    for coord in coords:
        xml = re.sub(rf'<c r="{coord}"[^>]*?(?:/>|>.*?</c>)', f"@{coord}@", xml, flags=re.DOTALL)
    return xml


def test_untouched_parts_are_copied_byte_for_byte(tmp_path):
    src = rich_workbook(tmp_path / "src.xlsx")
    dst = patch_workbook(src, tmp_path / "dst.xlsx", values={cell("Sheet1!B1"): 2.0})
    before, after = parts(src), parts(dst)
    assert list(before) == list(after)  # same entries, same order
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {SHEET1}
    assert any("chart" in name for name in after)
    assert any(name.startswith("xl/media/") for name in after)
    assert any("comments" in name for name in after)
    assert any(name.startswith("xl/tables/") for name in after)
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst) as b:
        assert [i.compress_type for i in a.infolist()] == [i.compress_type for i in b.infolist()]


def test_changed_sheet_keeps_every_byte_outside_the_changed_cells(tmp_path):
    src = rich_workbook(tmp_path / "src.xlsx")
    values = {cell("Sheet1!B2"): 4, cell("Sheet1!A3"): 30, cell("Sheet1!E2"): 7.5}
    dst = patch_workbook(src, tmp_path / "dst.xlsx", values=values)
    old = parts(src)[SHEET1].decode()
    new = parts(dst)[SHEET1].decode()
    # E2 (inside the array formula's range) did not exist: it is new, everything else patched
    assert 'r="E2"' not in old and 'r="E2"' in new
    assert without_cells(old, ["B2", "A3"]) == without_cells(new, ["B2", "A3", "E2"]).replace(
        "@E2@", ""
    )


def test_values_and_formulas_read_back(tmp_path):
    src = rich_workbook(tmp_path / "src.xlsx")
    values = {
        cell("Sheet1!B1"): 2,  # formula cell: cached value only
        cell("Sheet1!B2"): "two",
        cell("Sheet1!D1"): 1.25,  # array formula anchor
        cell("Sheet1!E2"): 9,  # inside the array range, no <c> yet
        cell("Sheet1!A1"): 11,  # constant
        cell("Sheet1!C4"): True,  # new cell in an existing row
        cell("Sheet1!Z9"): "new row",  # new row at the end
        cell("Other!B3"): -0.5,
    }
    dst = patch_workbook(src, tmp_path / "dst.xlsx", values=values)
    data = openpyxl.load_workbook(dst, data_only=True)
    for address, value in values.items():
        assert data[address.sheet][address.coordinate].value == value, address
    formulas = openpyxl.load_workbook(dst)
    ws = formulas["Sheet1"]
    assert ws["B1"].value == "=A1*2"
    assert ws["B2"].value == "=A2*2"
    assert ws["D1"].value.text == "=MMULT(A1:B2,A1:B2)"
    assert ws["D1"].value.ref == "D1:E2"
    assert formulas["Other"].tables["things"].ref == "A1:B3"


def _rows_and_cells_in_order(xml: str) -> bool:
    rows = [int(r) for r in re.findall(r'<row r="(\d+)"', xml)]
    if rows != sorted(rows) or len(set(rows)) != len(rows):
        return False
    for row_xml in re.findall(r"<row\b.*?</row>", xml, flags=re.DOTALL):
        cols = [
            openpyxl.utils.column_index_from_string(c)
            for c in re.findall(r'<c r="([A-Z]+)', row_xml)
        ]
        if cols != sorted(cols):
            return False
    return True


def test_missing_rows_and_cells_are_created_in_order(make_workbook, tmp_path):
    src = make_workbook({"S!B2": 1, "S!D2": 2, "S!B5": 3})
    values = {cell(f"S!{c}"): i for i, c in enumerate(["A2", "C2", "E2", "A1", "C3", "A7", "B4"])}
    dst = patch_workbook(src, tmp_path / "dst.xlsx", values=values)
    xml = parts(dst)[SHEET1].decode()
    assert _rows_and_cells_in_order(xml)
    ws = openpyxl.load_workbook(dst)["S"]
    for address, value in values.items():
        assert ws[address.coordinate].value == value
    assert (ws["B2"].value, ws["D2"].value, ws["B5"].value) == (1, 2, 3)


@pytest.mark.parametrize(
    ("value", "read_back"),
    [
        (3, 3),
        (-1.5e-300, -1.5e-300),
        (0.1 + 0.2, 0.1 + 0.2),
        (True, True),
        (False, False),
        ("text", "text"),
        ("  padded  ", "  padded  "),
        ('a<b & c>"d"', 'a<b & c>"d"'),
        ("tab\there", "tab\there"),
        (np.float64(2.5), 2.5),
        (np.int64(7), 7),
        (np.bool_(True), True),
        (ExcelError(ErrorCode.DIV0), "#DIV/0!"),
        (float("nan"), "#NUM!"),
        (float("inf"), "#NUM!"),
    ],
    ids=lambda v: repr(v)[:20],
)
@pytest.mark.parametrize("target", ["A1", "B1"], ids=["constant", "formula"])
def test_value_types(make_workbook, tmp_path, value, read_back, target):
    src = make_workbook({"S!A1": 1, "S!B1": "=A1+1"})
    dst = patch_workbook(src, tmp_path / "dst.xlsx", values={cell(f"S!{target}"): value})
    got = openpyxl.load_workbook(dst, data_only=True)["S"][target].value
    assert got == read_back
    assert type(got) is type(read_back)
    if target == "B1":
        assert openpyxl.load_workbook(dst)["S"]["B1"].value == "=A1+1"


def test_none_clears_a_constant_and_a_cached_value(make_workbook, tmp_path):
    src = make_workbook({"S!A1": 1, "S!B1": "=A1+1"})
    once = patch_workbook(src, tmp_path / "once.xlsx", values={cell("S!B1"): 2})
    dst = patch_workbook(
        once, tmp_path / "dst.xlsx", values={cell("S!A1"): None, cell("S!B1"): None}
    )
    assert openpyxl.load_workbook(dst, data_only=True)["S"]["B1"].value is None
    ws = openpyxl.load_workbook(dst)["S"]
    assert ws["A1"].value is None
    assert ws["B1"].value == "=A1+1"


# A hand-written package: a namespace prefix, rows and cells without r=, shared formulas,
# a shared-string cell and a style attribute, as other producers write them.
_HANDMADE_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<x:sheetData>"
    '<x:row r="1" spans="1:3"><x:c r="A1"><x:v>1</x:v></x:c>'
    '<x:c r="B1" s="0"><x:f t="shared" ref="B1:B3" si="0">A1*2</x:f><x:v>2</x:v></x:c>'
    '<x:c r="C1" t="s"><x:v>0</x:v></x:c></x:row>\n'
    '<x:row><x:c><x:v>2</x:v></x:c><x:c><x:f t="shared" si="0"/><x:v>4</x:v></x:c></x:row>\n'
    '<x:row r="3"><x:c r="A3"><x:v>3</x:v></x:c><x:c r="B3"><x:f t="shared" si="0"/>'
    "<x:v>6</x:v></x:c></x:row>"
    "</x:sheetData></x:worksheet>"
)
_HANDMADE_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<x:sheets><x:sheet name="My Sheet" sheetId="1" r:id="rId1"/></x:sheets>'
        '<x:calcPr calcId="191029"/></x:workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/sharedStrings.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        'uniqueCount="1"><si><t>shared</t></si></sst>'
    ),
    SHEET1: _HANDMADE_SHEET,
}


@pytest.fixture
def handmade(tmp_path) -> Path:
    path = tmp_path / "handmade.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in _HANDMADE_PARTS.items():
            package.writestr(name, text)
    return path


def test_prefixes_implicit_refs_and_shared_formulas(handmade, tmp_path):
    values = {
        cell("'My Sheet'!B2"): 40,  # shared-formula child in a row without r=
        cell("'My Sheet'!B1"): 20,  # shared-formula anchor
        cell("'My Sheet'!C1"): "inline now",  # was a shared string
        cell("'My Sheet'!D1"): 5,  # outside spans="1:3"
        cell("'My Sheet'!A2"): 2.5,
    }
    dst = patch_workbook(handmade, tmp_path / "dst.xlsx", values=values)
    old, new = _HANDMADE_SHEET, parts(dst)[SHEET1].decode()
    f_elements = r"<x:f\b[^>]*?(?:/>|>.*?</x:f>)"
    assert re.findall(f_elements, old) == re.findall(f_elements, new)
    assert 'spans="1:4"' in new
    data = openpyxl.load_workbook(dst, data_only=True)["My Sheet"]
    for address, value in values.items():
        assert data[address.coordinate].value == value
    assert data["B3"].value == 6
    formulas = openpyxl.load_workbook(dst)["My Sheet"]
    assert formulas["B1"].value == "=A1*2"
    assert formulas["B3"].value == "=A3*2"  # openpyxl translates the shared formula


def test_defined_names_added_replaced_removed(make_workbook, tmp_path):
    src = make_workbook({"A!A1": 1, "B!A1": 2})
    wb = openpyxl.load_workbook(src)
    wb.defined_names["keep"] = DefinedName("keep", attr_text="A!$A$1")
    wb.defined_names["drop"] = DefinedName("drop", attr_text="A!$A$1")
    wb["B"].defined_names["local"] = DefinedName("local", attr_text="B!$A$1", comment="c")
    wb.save(src)
    changes = {
        ("drop", None): None,
        ("LOCAL", "B"): "B!$A$1:$A$3",  # names compare case-insensitively
        ("solver_opt", "A"): "=A!$A$1",
        ("plain", None): "B!$A$1",
    }
    dst = patch_workbook(src, tmp_path / "dst.xlsx", defined_names=changes)
    out = openpyxl.load_workbook(dst)
    assert set(out.defined_names) == {"keep", "plain"}
    assert out.defined_names["plain"].hidden is None
    local = out["B"].defined_names["local"]
    assert (local.attr_text, local.comment) == ("B!$A$1:$A$3", "c")
    solver = out["A"].defined_names["solver_opt"]
    assert (solver.attr_text, solver.hidden) == ("A!$A$1", True)
    assert parts(src)[SHEET1] == parts(dst)[SHEET1]


def test_removing_every_name_removes_the_element(handmade, tmp_path):
    once = patch_workbook(handmade, tmp_path / "once.xlsx", defined_names={("x", "My Sheet"): "1"})
    assert b"definedNames" in parts(once)["xl/workbook.xml"]
    dst = patch_workbook(once, tmp_path / "dst.xlsx", defined_names={("x", "My Sheet"): None})
    assert parts(dst)["xl/workbook.xml"] == parts(handmade)["xl/workbook.xml"]


def test_names_on_a_workbook_without_calcpr(handmade, tmp_path):
    dst = patch_workbook(handmade, tmp_path / "dst.xlsx", defined_names={("n", None): "1"})
    xml = parts(dst)["xl/workbook.xml"].decode()
    assert xml.index("</x:sheets>") < xml.index("<x:definedNames>") < xml.index("<x:calcPr")
    assert openpyxl.load_workbook(dst).defined_names["n"].attr_text == "1"


def test_full_calc_on_load(handmade, tmp_path):
    dst = patch_workbook(handmade, tmp_path / "dst.xlsx", full_calc_on_load=True)
    assert (
        '<x:calcPr calcId="191029" fullCalcOnLoad="1"/>' in parts(dst)["xl/workbook.xml"].decode()
    )


def test_destination_may_be_the_source(make_workbook):
    src = make_workbook({"S!A1": 1, "S!B1": "=A1*2"})
    patch_workbook(src, src, values={cell("S!B1"): 2})
    assert openpyxl.load_workbook(src, data_only=True)["S"]["B1"].value == 2


def _leftovers(folder: Path, expected: set[str]) -> set[str]:
    return {p.name for p in folder.iterdir()} - expected


def test_failure_leaves_destination_untouched_and_no_temp_file(make_workbook, tmp_path):
    src = make_workbook({"S!A1": 1}, name="src.xlsx")
    dst = tmp_path / "dst.xlsx"
    dst.write_bytes(b"previous content")
    with pytest.raises(WorkbookIOError, match=r"S!A1: cannot store a object"):
        patch_workbook(src, dst, values={cell("S!A1"): object()})
    with pytest.raises(UnknownReferenceError, match="Nope"):
        patch_workbook(src, dst, values={cell("Nope!A1"): 1})
    with pytest.raises(UnknownReferenceError, match="Nope"):
        patch_workbook(src, dst, defined_names={("x", "Nope"): "S!$A$1"})
    assert dst.read_bytes() == b"previous content"
    assert _leftovers(tmp_path, {"src.xlsx", "dst.xlsx"}) == set()


def test_error_while_writing_removes_the_temporary_file(tmp_path):
    dst = tmp_path / "dst.xlsx"
    dst.write_bytes(b"previous content")

    def half_then_fail(out):
        out.write(b"PK half a zip")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomically(dst, half_then_fail)
    assert dst.read_bytes() == b"previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["dst.xlsx"]


@pytest.mark.parametrize("where", ["missing folder", "a folder", "under a file"])
def test_unwritable_destination(make_workbook, tmp_path, where):
    src = make_workbook({"S!A1": 1}, name="src.xlsx")
    (tmp_path / "folder.xlsx").mkdir()
    (tmp_path / "file").write_text("x")
    dst = {
        "missing folder": tmp_path / "missing" / "out.xlsx",
        "a folder": tmp_path / "folder.xlsx",
        "under a file": tmp_path / "file" / "out.xlsx",
    }[where]
    with pytest.raises(WorkbookIOError, match=re.escape(str(dst))):
        patch_workbook(src, dst, values={cell("S!A1"): 2})
    assert _leftovers(tmp_path, {"src.xlsx", "folder.xlsx", "file"}) == set()


def test_source_that_is_not_a_workbook(tmp_path):
    src = tmp_path / "fake.xlsx"
    src.write_text("not a zip")
    with pytest.raises(WorkbookIOError, match="not an .xlsx workbook"):
        patch_workbook(src, tmp_path / "dst.xlsx")
    with pytest.raises(WorkbookIOError, match="cannot read"):
        patch_workbook(tmp_path / "absent.xlsx", tmp_path / "dst.xlsx")
    assert not (tmp_path / "dst.xlsx").exists()
