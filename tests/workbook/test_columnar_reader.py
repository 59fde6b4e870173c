"""The numpy worksheet reader (`xlsx_columnar` over `xlsx_tokens`) against openpyxl's reading of
the same real .xlsx, cell by cell; the forms it does not handle go to the other readers with the
same result, and XML that is not well-formed is refused as before."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from tests.workbook.packages import MAIN, REL, write_package
from tests.workbook.test_reader_conformance import BOOKS, CONFORMANCE, _differences
from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook import xlsx_columnar, xlsx_package, xlsx_sheet
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.xlsx_columnar import read_sheet_columnar
from xl_lesson3.workbook.xlsx_fastscan import NotCanonical
from xl_lesson3.workbook.xlsx_package import open_package
from xl_lesson3.workbook.xlsx_tokens import Chunk

ROWS = 60


def _columnar(path: Path, cached: bool = False):
    """Each sheet read by the numpy reader alone (NotCanonical propagates)."""
    package = open_package(path)
    with package.zip:
        book = package.workbook()
        strings = package.shared_strings(book.shared_strings)
        return {
            sheet.name: read_sheet_columnar(package, sheet.part, sheet.name, strings, cached)
            for sheet in book.sheets
        }


def _mixed_workbook(path: Path) -> Path:
    """What big sheets hold: numbers, texts, booleans, errors, dates, runs of copied formulas
    (one broken by a different formula), absolute/relative mixes, a column with gaps, an array
    formula, and texts that need escaping."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Data"
    ws["A1"], ws["B1"], ws["C1"] = "x", "a <b> & \"c\" 'd'", "über ✓"
    for r in range(2, ROWS + 2):
        ws.cell(r, 1, (r - 30) * 1.1e-3 if r % 7 else 10.0**r)  # negative, small, huge
        ws.cell(r, 2, f"name {r % 5}" if r % 4 else f" padded {r} ")
        ws.cell(r, 3, r % 3 == 0)
        ws.cell(r, 4, dt.datetime(2020, 1, 1) + dt.timedelta(days=r, hours=r % 24))
        ws.cell(r, 5, f"=A{r}*2" if r != 30 else f"=A{r}*3")  # a run broken by one formula
        ws.cell(r, 6, f"=$A$2+A{r}+B$1&C{r}")  # absolute, relative and mixed references
        if r % 3 == 0:
            ws.cell(r, 7, f'=IF(A{r}<0,"<&>",E{r})')  # a column with gaps, entities
        ws.cell(r, 8, "#N/A" if r % 11 == 0 else 0.1 * r)
    ws["J2"] = ArrayFormula("J2:J4", "=A2:A4*2")
    ws["K2"] = "007"  # a text that looks like a number
    ws["K3"] = 1e-300
    ws["K4"] = -0.0
    book.save(path)
    return path


@pytest.mark.parametrize("cached", [False, True], ids=["formulas", "cached"])
def test_openpyxl_workbook_reads_as_openpyxl_reads_it(tmp_path, cached):
    path = _mixed_workbook(tmp_path / "mixed.xlsx")
    _columnar(path, cached)  # the numpy reader takes it: no NotCanonical
    assert _differences(path, cached) == []


def test_copied_formulas_are_each_cells_own_text(tmp_path):
    model = load_workbook(_mixed_workbook(tmp_path / "mixed.xlsx"))
    assert model.cell(CellAddress("Data", 29, 5)).formula == "=A29*2"
    assert model.cell(CellAddress("Data", 30, 5)).formula == "=A30*3"
    assert model.cell(CellAddress("Data", 31, 5)).formula == "=A31*2"
    assert model.cell(CellAddress("Data", 9, 7)).formula == '=IF(A9<0,"<&>",E9)'
    assert model.cell(CellAddress("Data", 10, 7)) is None
    assert model.cell(CellAddress("Data", 2, 4)).value == pytest.approx(43833 + 2 / 24, abs=1e-9)
    assert model.cell(CellAddress("Data", 14, 1)).value == 1e14


# Excel's stored forms the numpy reader handles: shared formulas (master and members), shared
# strings, inline strings (xml:space), booleans, errors, a formula's text result, empty values.
EXCEL_STYLE = (
    '<row r="1" spans="1:4" x14ac:dyDescent="0.25"><c r="A1" s="0"><v>1.5</v></c>'
    '<c r="B1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t xml:space="preserve">'
    ' lead &amp; trail </t></is></c><c r="D1" t="b"><v>1</v></c></row>'
    '<row r="2"><c r="A2"><v>2</v></c><c r="B2"><f t="shared" ref="B2:B5" si="0">A2*$A$1+A1'
    '</f><v>4</v></c><c r="C2" t="e"><v>#DIV/0!</v></c><c r="D2" t="str"><f>"a"&amp;"b"</f>'
    '<v xml:space="preserve">ab</v></c></row>'
    '<row r="3"><c r="A3"><v>3</v></c><c r="B3"><f t="shared" si="0"/><v>7.5</v></c>'
    '<c r="C3" s="0"/><c r="D3"><v></v></c></row>'
    '<row r="4"><c r="A4"><v>4</v></c><c r="B4"><f t="shared" si="0"/><v>9</v></c>'
    '<c r="C4" t="inlineStr"><is><t>a_x0041_b</t></is></c></row>'
    '<row r="5"><c r="A5"><v>-5E-3</v></c><c r="B5"><f>SUM(A1:A4)</f><v>10.5</v></c>'
    '<c r="C5" t="s"><v>1</v></c></row>'
)


def _excel_style(path: Path, body: str = EXCEL_STYLE) -> Path:
    """An openpyxl-saved workbook (so openpyxl can read it back) whose sheet part is replaced by
    `body` in Excel's layout; its shared strings are "shared & text" and "second"."""
    book = openpyxl.Workbook()
    book.active.title = "S"
    book.save(path)
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<worksheet xmlns="{MAIN}" xmlns:x14ac="urn:x14ac">'
        f'<sheetData>{body}</sheetData><pageMargins left="0.7"/></worksheet>'
    )
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    parts["xl/sharedStrings.xml"] = (
        f'<sst xmlns="{MAIN}"><si><t>shared &amp; text</t></si><si><t>second</t></si></sst>'
    ).encode()
    strings = f'Type="{REL}/sharedStrings" Target="sharedStrings.xml" Id="rIdS"'
    rels = parts["xl/_rels/workbook.xml.rels"]
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        b"</Relationships>", f"<Relationship {strings}/></Relationships>".encode()
    )
    override = (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", override.encode()
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


@pytest.mark.parametrize("cached", [False, True], ids=["formulas", "cached"])
def test_excel_stored_forms_read_as_openpyxl_reads_them(tmp_path, cached):
    path = _excel_style(tmp_path / "excel.xlsx")
    _columnar(path, cached)
    assert _differences(path, cached) == []
    model = load_workbook(path)
    assert model.cell(CellAddress("S", 4, 2)).formula == "=A4*$A$1+A3"  # a shared member
    assert model.cell(CellAddress("S", 1, 3)).value == " lead & trail "
    assert model.cell(CellAddress("S", 4, 3)).value == "aAb"  # OOXML's _xHHHH_ escape


def _shared_groups(second_id: str) -> str:
    """Column B: a group of three rows, then a second group (id `second_id`: "0" redefines the
    first group's id, as Excel never does); C1:D3: a shared block two columns wide."""
    rows = []
    for r, text in enumerate(["A1*2", "", "", "A4+100", "", ""], 1):
        group = "0" if r <= 3 else second_id
        b = (
            f'<c r="B{r}"><f t="shared" ref="B{r}:B{r + 2}" si="{group}">{text}</f></c>'
            if text
            else f'<c r="B{r}"><f t="shared" si="{group}"/></c>'
        )
        c = ""
        if r == 1:
            c = '<c r="C1"><f t="shared" ref="C1:D3" si="1">A1+$A$1</f></c>'
            c += '<c r="D1"><f t="shared" si="1"/></c>'
        elif r <= 3:
            c = f'<c r="C{r}"><f t="shared" si="1"/></c><c r="D{r}"><f t="shared" si="1"/></c>'
        rows.append(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c>{b}{c}</row>')
    return "".join(rows)


def test_shared_groups_expand_as_openpyxl_expands_them(tmp_path):
    path = _excel_style(tmp_path / "shared.xlsx", _shared_groups("2"))
    _columnar(path)
    assert _differences(path, False) == []
    model = load_workbook(path)
    texts = [model.cell(CellAddress("S", r, 2)).formula for r in range(1, 7)]
    assert texts == ["=A1*2", "=A2*2", "=A3*2", "=A4+100", "=A5+100", "=A6+100"]
    assert model.cell(CellAddress("S", 3, 4)).formula == "=B3+$A$1"


def test_a_redefined_shared_id_reads_as_the_element_reader_reads_it(tmp_path, monkeypatch):
    """Members before a new master of their id keep the old master (file order), in bulk too."""
    path = _excel_style(tmp_path / "again.xlsx", _shared_groups("0"))
    ours = _columnar(path)["S"].formulas

    def refuse(*_args):
        raise NotCanonical

    monkeypatch.setattr(xlsx_sheet, "read_sheet_columnar", refuse)
    monkeypatch.setattr(xlsx_sheet, "read_sheet_fast", refuse)
    element = load_workbook(path).cells.formulas
    assert {col: c.formulas for col, c in ours.items()} == {
        col: c.formulas for (_, col), c in element.items()
    }
    assert ours[2].formulas == ["=A1*2", "=A2*2", "=A3*2", "=A4+100", "=A5+100", "=A6+100"]


def test_a_shared_member_without_master_is_refused(tmp_path):
    body = '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><f t="shared" si="5"/></c></row>'
    path = _excel_style(tmp_path / "orphan.xlsx", body)
    with pytest.raises(WorkbookIOError, match=r"S!B1: shared formula 5 has no master"):
        load_workbook(path)


@pytest.mark.parametrize("piece", [1, 7, 64, 1000])
def test_chunk_boundaries_do_not_matter(tmp_path, monkeypatch, piece):
    path = _mixed_workbook(tmp_path / "mixed.xlsx")
    whole = _columnar(path, True)["Data"]
    monkeypatch.setattr(xlsx_columnar, "CHUNK", piece)
    monkeypatch.setattr(xlsx_package, "RAW_CHUNK", piece)
    cut = _columnar(path, True)["Data"]
    for store in ("formulas", "values"):
        a, b = getattr(whole, store), getattr(cut, store)
        assert a.keys() == b.keys()
        for col in a:
            assert (a[col].rows, a[col].formulas) == (b[col].rows, b[col].formulas)
            assert [repr(v) for v in a[col].values] == [repr(v) for v in b[col].values]
    assert whole.arrays == cut.arrays


# Well-formed XML in forms the numpy reader leaves to the others (which read it the same way).
OTHER_FORMS = {
    "comment": '<row r="1"><!-- x --><c r="A1"><v>1</v></c></row>',
    "rich-inline-string": (
        '<row r="1"><c r="A1" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c></row>'
    ),
    "attribute-order": '<row r="1"><c t="s" r="A1"><v>0</v></c></row>',
    "cell-extension": '<row r="1"><c r="A1"><v>1</v><extLst><ext uri="u"/></extLst></c></row>',
    "gt-in-attribute": '<row r="1" x14ac:note="a>b"><c r="A1"><v>1</v></c></row>',
}


@pytest.mark.parametrize("body", OTHER_FORMS.values(), ids=OTHER_FORMS.keys())
def test_other_forms_fall_back_with_the_same_reading(tmp_path, body):
    path = _excel_style(tmp_path / "other.xlsx", body)
    with pytest.raises(NotCanonical):
        _columnar(path)
    assert _differences(path, False) == []


def test_rows_out_of_order_are_sorted_by_the_element_reader(tmp_path):
    body = '<row r="2"><c r="A2"><v>2</v></c></row><row r="1"><c r="A1"><v>1</v></c></row>'
    path = _excel_style(tmp_path / "order.xlsx", body)
    with pytest.raises(NotCanonical):
        _columnar(path)
    model = load_workbook(path)
    assert [model.cell(CellAddress("S", row, 1)).value for row in (1, 2)] == [1.0, 2.0]


# Not well-formed: refused with the part named, as expat refused it before.
MALFORMED = {
    "unknown-entity": '<row r="1"><c r="A1"><f>A2&amp;&bogus;</f></c></row>',
    "bare-ampersand": '<row r="1"><c r="A1" t="inlineStr"><is><t>a & b</t></is></c></row>',
    "control-character": '<row r="1"><c r="A1" t="inlineStr"><is><t>a\x01b</t></is></c></row>',
    "null-character-reference": '<row r="1"><c r="A1" t="inlineStr"><is><t>a&#0;</t></is></c></row>',
    "unclosed-cell": '<row r="1"><c r="A1"><v>1</v></row>',
    "duplicate-attribute": '<row r="1"><c r="A1" t="n" t="s"><v>1</v></c></row>',
    "unclosed-row": '<row r="1"><c r="A1"><v>1</v></c>',
    "stray-end-tag": '<row r="1"><c r="A1"><v>1</v></c></row></row>',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_sheet_data_is_refused(tmp_path, body):
    path = _excel_style(tmp_path / "bad.xlsx", body)
    with pytest.raises(WorkbookIOError, match=r"bad.xlsx: xl/worksheets/sheet1.xml: malformed"):
        load_workbook(path)


def test_malformed_xml_after_sheet_data_is_refused(tmp_path):
    sheet = f'<worksheet xmlns="{MAIN}"><sheetData></sheetData><cols></worksheet>'
    path = write_package(tmp_path / "bad.xlsx", {"S": sheet})
    with pytest.raises(WorkbookIOError, match="malformed"):
        load_workbook(path)


def test_sheet_data_inside_a_comment_is_not_the_element(tmp_path):
    sheet = (
        f'<worksheet xmlns="{MAIN}"><!-- <sheetData><row r="1"><c r="A1"><v>9</v></c></row>'
        '</sheetData> --><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'
        "</worksheet>"
    )
    path = write_package(tmp_path / "c.xlsx", {"S": sheet})
    with pytest.raises(NotCanonical):
        _columnar(path)
    assert load_workbook(path).cell(CellAddress("S", 1, 1)).value == 1.0


def test_a_sheet_in_another_encoding_is_left_to_expat(tmp_path):
    sheet = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is>'
        "<t>caf\xe9</t></is></c></row></sheetData></worksheet>"
    ).encode("latin-1")
    path = write_package(tmp_path / "latin.xlsx", {"S": "<!-- replaced -->"})
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = sheet
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    with pytest.raises(NotCanonical):
        _columnar(path)
    assert load_workbook(path).cell(CellAddress("S", 1, 1)).value == "café"


def test_numbers_convert_exactly_as_python_does(tmp_path):
    texts = ["0.1", "1e308", "-2.2250738585072014e-308", "123456789012345678", "5E-324", "7"]
    body = "".join(f'<row r="{i}"><c r="A{i}"><v>{t}</v></c></row>' for i, t in enumerate(texts, 1))
    path = _excel_style(tmp_path / "n.xlsx", body)
    values = _columnar(path)["S"].values[1].values
    assert [math.copysign(1, v) * abs(v) for v in values] == [float(t) for t in texts]
    assert all(type(v) is float for v in values)


def test_long_column_letters_and_rows(tmp_path):
    body = '<row r="1048576"><c r="XFD1048576"><v>1</v></c><c r="AA1048576"><v>2</v></c></row>'
    cells = _columnar(_excel_style(tmp_path / "r.xlsx", body))["S"].values
    assert {col: column.rows for col, column in cells.items()} == {16384: [1048576], 27: [1048576]}


@pytest.mark.skipif(not BOOKS, reason="../shared/conformance is absent")
def test_numpy_regex_and_element_readers_agree(monkeypatch):
    """The three readers give the same columns on an Excel-saved workbook of 20k+ cells."""
    path = CONFORMANCE / "formulas" / "test__test_files__test.xlsx"
    readers = {}

    def refuse(*_args):
        raise NotCanonical

    for name in ("numpy", "regex", "element"):
        readers[name] = load_workbook(path, cached_values=True)
        monkeypatch.setattr(
            xlsx_sheet, "read_sheet_columnar" if name == "numpy" else "read_sheet_fast", refuse
        )
    first = readers["numpy"]
    assert len(first.cells) > 20_000
    for other in (readers["regex"], readers["element"]):
        for store in ("formulas", "values"):
            a, b = getattr(first.cells, store), getattr(other.cells, store)
            assert a.keys() == b.keys()
            for key in a:
                assert (a[key].rows, a[key].formulas) == (b[key].rows, b[key].formulas), key
                assert [repr(v) for v in a[key].values] == [repr(v) for v in b[key].values], key
        assert first.array_formulas == other.array_formulas
        assert first.array_cached_values == other.array_cached_values


@pytest.mark.parametrize(
    "body",
    [
        '<row r="1"><c r="A1"><f>1+2</f><v>3</v></c><c r="B1"><f>A1&amp;"&lt;"</f></c></row>',
        (  # an empty text first
            '<row r="1"><c r="A1" t="inlineStr"><is><t></t></is></c>'
            '<c r="B1" t="inlineStr"><is><t xml:space="preserve"> a _x0041_ </t></is></c>'
            '<c r="C1" t="inlineStr"><is><t/></is></c><c r="D1"><f>B1</f></c></row>'
        ),
        (  # a text right before the chunk's end
            '<row r="1"><c r="A1"><f>A2</f></c></row><row r="2"><c r="A2" t="inlineStr">'
            "<is><t>last</t></is></c></row>"
        ),
    ],
    ids=["formulas", "inline-strings", "text-at-the-end"],
)
def test_texts_cut_from_their_spans_read_as_openpyxl_reads_them(tmp_path, body):
    path = _excel_style(tmp_path / "texts.xlsx", body)
    _columnar(path)  # the numpy reader handles it (no NotCanonical)
    assert _differences(path, False) == []


@pytest.mark.parametrize("gather", [True, False], ids=["by-index", "by-mask"])
@pytest.mark.parametrize("prefix", [b"", b"="])
def test_both_ways_of_cutting_texts_out_give_the_same_bytes(monkeypatch, gather, prefix):
    """Texts gathered by index or by a mask: each after `prefix`, each ended by a NUL, in order
    (an empty text; with the prefix, a run from the chunk's first byte; one to its last '<')."""
    data = b">a<x>bc<y><z>ddd<w>e<"
    start, end = np.array([1, 5, 10, 13, 19]), np.array([2, 7, 10, 16, 20])
    monkeypatch.setattr(xlsx_columnar, "_GATHER_BELOW", 0 if gather else 1 << 30)
    joined = xlsx_columnar._joined_spans(Chunk(data), start, end, prefix)
    expected = b"".join(prefix + data[a:b] + b"\0" for a, b in zip(start, end, strict=True))
    assert joined == expected
