"""The streaming .xlsx reader on hand-written packages: what Excel stores, read as Excel means it."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName as XlDefinedName
from openpyxl.worksheet.formula import ArrayFormula as XlArrayFormula
from openpyxl.worksheet.table import Table as XlTable

from tests.workbook.packages import MAIN, REL, write_package
from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook import load as load_module
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import CalcSettings


def at(text: str) -> CellAddress:
    return CellAddress.parse(text)


def formula(model, text: str) -> str | None:
    found = model.cell(at(text))
    return None if found is None else found.formula


# A shared formula over B2:B4 and one copied across C2:E2, as Excel stores them.
SHARED = (
    '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c></row>'
    '<row r="2"><c r="A2"><v>3</v></c>'
    '<c r="B2"><f t="shared" ref="B2:B4" si="0">A2*$A$1+SUM(A$1:A2)</f><v>0</v></c>'
    '<c r="C2"><f t="shared" ref="C2:E2" si="1">B2+B$1</f><v>0</v></c>'
    '<c r="D2"><f t="shared" si="1"/><v>0</v></c><c r="E2"><f t="shared" si="1"/><v>0</v></c></row>'
    '<row r="3"><c r="B3"><f t="shared" si="0"/><v>0</v></c></row>'
    '<row r="4"><c r="B4"><f t="shared" si="0"/><v>0</v></c></row>'
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("S!B2", "=A2*$A$1+SUM(A$1:A2)"),
        ("S!B3", "=A3*$A$1+SUM(A$1:A3)"),
        ("S!B4", "=A4*$A$1+SUM(A$1:A4)"),
        ("S!C2", "=B2+B$1"),
        ("S!D2", "=C2+C$1"),
        ("S!E2", "=D2+D$1"),
    ],
    ids=["master", "down-1", "down-2", "across-master", "across-1", "across-2"],
)
def test_shared_formulas_expand_to_every_member(tmp_path, cell, expected):
    model = load_workbook(write_package(tmp_path / "shared.xlsx", {"S": SHARED}))
    assert formula(model, cell) == expected


# A CSE array over D1:E2 whose other cells Excel stores as empty <f/> or with no <f> at all, and
# a dynamic-array SEQUENCE spilling over G1:G3 (cm= metadata, _xlfn. prefix kept).
ARRAYS = (
    '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c>'
    '<c r="D1"><f t="array" ref="D1:E2">A1:B2*2</f><v>2</v></c><c r="E1"><f/><v>4</v></c>'
    '<c r="G1" cm="1"><f t="array" ref="G1:G3">_xlfn.SEQUENCE(3)</f><v>1</v></c></row>'
    '<row r="2"><c r="A2"><v>3</v></c><c r="B2"><v>4</v></c><c r="D2"><v>6</v></c>'
    '<c r="E2"><v>8</v></c><c r="G2"><v>2</v></c></row>'
    '<row r="3"><c r="G3"><v>3</v></c></row>'
)


@pytest.mark.parametrize("cached", [False, True], ids=["formulas", "cached-values"])
def test_array_members_belong_to_their_array(tmp_path, cached):
    model = load_workbook(write_package(tmp_path / "a.xlsx", {"S": ARRAYS}), cached_values=cached)
    cse = model.array_formulas[at("S!D1")]
    assert (cse.ref, cse.text, cse.dynamic) == (RangeAddress.parse("S!D1:E2"), "=A1:B2*2", False)
    spill = model.array_formulas[at("S!G1")]
    assert (spill.ref, spill.text, spill.dynamic) == (
        RangeAddress.parse("S!G1:G3"),
        "=_xlfn.SEQUENCE(3)",
        True,
    )
    for member in ("S!E1", "S!D2", "S!E2", "S!G2", "S!G3"):
        assert model.cell(at(member)) is None  # no empty formulas, no stale constants
    assert formula(model, "S!D1") == "=A1:B2*2"
    if cached:
        saved = [model.cached_value(at(a)) for a in ("S!D1", "S!E1", "S!D2", "S!E2", "S!G3")]
        assert saved == [2, 4, 6, 8, 3]


def test_values_as_stored(tmp_path):
    body = (
        '<row r="1"><c r="A1" s="1"><v>60</v></c><c r="B1" t="s"><v>0</v></c>'
        '<c r="C1" t="b"><v>1</v></c><c r="D1" t="e"><v>#N/A</v></c>'
        '<c r="E1" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is></c>'
        '<c r="F1"><v>2.5E-3</v></c><c r="G1" t="s"><v>1</v></c><c r="H1" s="2"/></row>'
    )
    path = write_package(tmp_path / "v.xlsx", {"S": body}, strings=["text", "a &amp; b_x005F_x"])
    model = load_workbook(path)
    values = [model.cell(at(f"S!{c}1")).value for c in "ABCDEFG"]
    assert values == [60, "text", True, ExcelError(ErrorCode.NA), "inline", 0.0025, "a & b_x"]
    assert model.cell(at("S!H1")) is None  # a styled empty cell is no cell


def test_date_serial_60_stays_60(tmp_path):
    """Excel's 1900-02-29 (serial 60) does not exist as a datetime; the reader keeps serials."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"] = 60
    ws["A1"].number_format = "yyyy-mm-dd"
    ws["A2"] = dt.datetime(1900, 3, 1)  # serial 61
    ws["A3"] = "=A1+1"
    path = tmp_path / "leap.xlsx"
    wb.save(path)
    model = load_workbook(path)
    assert model.cell(at("S!A1")).value == 60
    assert model.cell(at("S!A2")).value == 61
    assert not model.date1904


def test_1904_date_system(tmp_path):
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "S"
    ws["A1"] = dt.datetime(2020, 1, 2)
    path = tmp_path / "mac.xlsx"
    wb.save(path)
    model = load_workbook(path)
    assert model.date1904
    assert model.cell(at("S!A1")).value == (dt.date(2020, 1, 2) - dt.date(1904, 1, 1)).days


@pytest.mark.parametrize(
    ("calc", "expected"),
    [
        ("", CalcSettings()),
        (
            '<calcPr calcId="1" iterate="1" iterateCount="10000" iterateDelta="0.01"/>',
            CalcSettings(True, 10000, 0.01),
        ),
        ('<calcPr calcId="1" iterateCount="1"/>', CalcSettings(False, 1, 0.001)),
    ],
    ids=["absent", "iterate", "count-only"],
)
def test_calculation_settings(tmp_path, calc, expected):
    path = write_package(tmp_path / "c.xlsx", {"S": ""}, workbook_extra=calc)
    assert load_workbook(path).calc == expected


def test_names_with_sheet_scope_and_constants(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = 2
    other = wb.create_sheet("Other Sheet")
    other["A1"] = "=rate*A1"
    wb.defined_names["rate"] = XlDefinedName("rate", attr_text="Data!$A$1")
    wb.defined_names["half"] = XlDefinedName("half", attr_text="0.5")
    wb.defined_names["twice"] = XlDefinedName("twice", attr_text="Data!$A$1*2")
    other.defined_names["rate"] = XlDefinedName("rate", attr_text="0.25", hidden=True)
    path = tmp_path / "names.xlsx"
    wb.save(path)
    model = load_workbook(path)
    assert model.defined_name("rate", "Data").text == "Data!$A$1"
    local = model.defined_name("RATE", "Other Sheet")
    assert (local.text, local.scope, local.hidden) == ("0.25", "Other Sheet", True)
    assert model.defined_name("half", None).text == "0.5"
    assert model.defined_name("twice", None).text == "Data!$A$1*2"


def test_openpyxl_array_formula_is_its_anchor_only(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for row in range(1, 6):
        ws.append([row, row * 2, row * 3, row * 4, None])
    ws["G2"] = XlArrayFormula("G2:J2", "=MMULT(B9:E9,B2:E5)")
    path = tmp_path / "mmult.xlsx"
    wb.save(path)
    model = load_workbook(path)
    array = model.array_formulas[at("S!G2")]
    assert array.ref == RangeAddress.parse("S!G2:J2") and array.text == "=MMULT(B9:E9,B2:E5)"
    assert [model.cell(at(f"S!{c}2")) for c in "HIJ"] == [None, None, None]


def test_table_header_with_trailing_space(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws.append(["Age ", "Fare"])
    ws.append([22, 7.25])
    ws.add_table(XlTable(displayName="People", ref="A1:B2"))
    path = tmp_path / "table.xlsx"
    wb.save(path)
    table = load_workbook(path).table("people")
    assert table.columns == ("Age ", "Fare")  # as stored
    assert table.column_index("Age") == 1 and table.column_index("age ") == 1


def test_data_table_is_refused_per_cell(tmp_path):
    body = (
        '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><f>A1*2</f><v>2</v></c></row>'
        '<row r="2"><c r="B2"><f t="dataTable" ref="B2:B3" dt2D="0" dtr="0" r1="A1"/>'
        "<v>2</v></c></row>"
        '<row r="3"><c r="B3"><v>4</v></c></row>'
    )
    model = load_workbook(write_package(tmp_path / "dt.xlsx", {"S": body}))
    assert formula(model, "S!B1") == "=A1*2"  # the rest of the sheet reads normally
    table = model.array_formulas[at("S!B2")]
    assert table.text == "=TABLE(,A1)" and table.ref == RangeAddress.parse("S!B2:B3")


def test_parts_we_do_not_need_are_never_opened(tmp_path):
    """Pivot caches, charts, VBA: present (here even unparseable), and the load still works."""
    rels = (
        f'<Relationship Id="rIdP" Type="{REL}/pivotTable" Target="../pivotTables/pivotTable1.xml"/>'
        f'<Relationship Id="rIdD" Type="{REL}/drawing" Target="../drawings/drawing1.xml"/>'
    )
    junk = {
        "xl/pivotTables/pivotTable1.xml": b"<pivotTableDefinition><broken",
        "xl/pivotCache/pivotCacheDefinition1.xml": b"\x00\xff not xml",
        "xl/pivotCache/pivotCacheRecords1.xml": b"<pivotCacheRecords/>",
        "xl/drawings/drawing1.xml": b"<wsDr><unclosed>",
        "xl/charts/chart1.xml": b"<c:chartSpace",
        "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 binary",
    }
    extra = '<pivotCaches><pivotCache cacheId="1" r:id="rIdC"/></pivotCaches>'
    path = write_package(
        tmp_path / "pivot.xlsx",
        {"S": '<row r="1"><c r="A1"><v>5</v></c><c r="B1"><f>A1*2</f></c></row>'},
        workbook_extra=extra,
        extra_parts=junk,
        sheet_rels={1: rels},
    )
    model = load_workbook(path)
    assert model.cell(at("S!A1")).value == 5 and formula(model, "S!B1") == "=A1*2"


def test_doctype_is_refused(tmp_path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;'
        "</t></is></c></row></sheetData></worksheet>"
    )
    path = write_package(tmp_path / "bomb.xlsx", {"S": bomb})
    with pytest.raises(WorkbookIOError, match="refused unsafe XML"):
        load_workbook(path)


def test_malformed_sheet_names_the_part(tmp_path):
    path = write_package(tmp_path / "bad.xlsx", {"S": '<row r="1"><c r="A1"><v>1</v></row>'})
    with pytest.raises(WorkbookIOError, match=r"bad.xlsx: xl/worksheets/sheet1.xml: malformed"):
        load_workbook(path)


def test_prefixed_xml_takes_the_element_reader_with_the_same_result(tmp_path):
    """Valid XML the fast path does not match (namespace prefix, attribute order) still reads."""
    prefixed = (
        f'<?xml version="1.0"?><x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1">'
        '<x:c t="s" r="A1"><x:v>0</x:v></x:c><x:c r="B1"><x:f>A1&amp;"!"</x:f></x:c>'
        '<x:c r="C1"><x:v>7</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    path = write_package(tmp_path / "p.xlsx", {"S": prefixed}, strings=["hi"])
    model = load_workbook(path)
    assert model.cell(at("S!A1")).value == "hi"
    assert formula(model, "S!B1") == '=A1&"!"'
    assert model.cell(at("S!C1")).value == 7


def test_loading_a_subset_follows_references(tmp_path):
    sheets = {
        "Main": '<row r="1"><c r="A1"><f>Inputs!A1+rate</f></c></row>',
        "Inputs": '<row r="1"><c r="A1"><v>1</v></c></row>',
        "Rates": '<row r="1"><c r="A1"><v>0.1</v></c></row>',
        "Unused": '<row r="1"><c r="A1"><v>9</v></c></row>',
    }
    names = '<definedNames><definedName name="rate">Rates!$A$1</definedName></definedNames>'
    path = write_package(tmp_path / "subset.xlsx", sheets, workbook_extra=names)
    model = load_workbook(path, sheets=["main"])
    assert model.sheet_names == ("Main", "Inputs", "Rates")
    assert load_workbook(path).sheet_names == ("Main", "Inputs", "Rates", "Unused")
    with pytest.raises(WorkbookIOError, match="no worksheet 'Nope'"):
        load_workbook(path, sheets=["Nope"])


@pytest.mark.parametrize(
    ("main", "expected"),
    [
        ("=SUM(inputs:RATES!A1)", ("Main", "Inputs", "Rates")),
        ("='Un used'!A1", ("Main", "Un used")),
        ("=SUM(Prices[Price])", ("Main", "Unused")),
        ('=INDIRECT("Inputs!A1")', ("Main", "Inputs", "Rates", "Un used", "Unused")),
        ("=A1+1", ("Main",)),
    ],
    ids=["3d-reference", "quoted-name", "table", "indirect-loads-all", "same-sheet"],
)
def test_subset_dependencies(tmp_path, main, expected):
    sheets = {
        "Main": f'<row r="1"><c r="A1"><f>{main[1:].replace("&", "&amp;")}</f></c></row>',
        "Inputs": '<row r="1"><c r="A1"><v>1</v></c></row>',
        "Rates": '<row r="1"><c r="A1"><v>0.1</v></c></row>',
        "Un used": '<row r="1"><c r="A1"><v>9</v></c></row>',
        "Unused": '<row r="1"><c r="A1" t="inlineStr"><is><t>Price</t></is></c></row>',
    }
    table = (
        f'<table xmlns="{MAIN}" id="1" name="Prices" displayName="Prices" ref="A1:A2">'
        '<tableColumns count="1"><tableColumn id="1" name="Price"/></tableColumns></table>'
    )
    rels = f'<Relationship Id="rId1" Type="{REL}/table" Target="../tables/table1.xml"/>'
    path = write_package(
        tmp_path / "deps.xlsx",
        sheets,
        extra_parts={"xl/tables/table1.xml": table.encode()},
        sheet_rels={5: rels},
    )
    model = load_workbook(path, sheets=["Main"])
    assert model.sheet_names == expected
    assert ("Prices" in model.tables) == ("Unused" in expected)


def test_not_a_zip_names_the_file(tmp_path):
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("hello.txt", "no workbook here")
    with pytest.raises(WorkbookIOError, match="x.xlsx: not an .xlsx workbook"):
        load_workbook(path)


def test_libreoffice_workbook_with_pivot_table_and_chart_opens_and_evaluates():
    """tests/data/pivot_chart.xlsx: saved by LibreOffice with a DataPilot (pivot table and cache)
    and a chart (made by tests/data/make_pivot_chart_workbook.py)."""
    from xl_lesson3.formula.evaluate.recalc import evaluate_workbook

    path = Path(__file__).resolve().parents[1] / "data" / "pivot_chart.xlsx"
    with zipfile.ZipFile(path) as package:  # the parts the reader must live with
        names = package.namelist()
    assert {"xl/pivotCache/pivotCacheDefinition1.xml", "xl/charts/chart1.xml"} <= set(names)
    model = load_workbook(path, cached_values=True)
    assert model.sheet_names == ("Data", "Calc", "Pivot")
    assert model.cell(at("Pivot!B7")).value == 42.5  # the pivot's output cells are plain values
    assert model.cached_value(at("Calc!B1")) == 85.0
    assert evaluate_workbook(load_workbook(path))[at("Calc!B1")] == pytest.approx(85.0)


def test_long_texts_and_odd_numbers_do_not_size_the_bulk_arrays(tmp_path):
    """A 200,000-character text beside numbers, and a number written with 100 digits."""
    long_text = "x" * 200_000
    body = (
        f'<row r="1"><c r="A1" t="str"><f>REPT("x",200000)</f><v>{long_text}</v></c>'
        + "".join(f'<c r="{c}1"><v>{i}.5</v></c>' for i, c in enumerate("BCDEFG"))
        + '</row><row r="2"><c r="A2"><v>1'
        + "0" * 99
        + "</v></c></row>"
    )
    model = load_workbook(write_package(tmp_path / "long.xlsx", {"S": body}), cached_values=True)
    assert model.cell(at("S!A1")).value == long_text
    assert [model.cell(at(f"S!{c}1")).value for c in "BCDEFG"] == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert model.cell(at("S!A2")).value == pytest.approx(1e99)


def test_damaged_part_is_one_line_naming_the_file(tmp_path):
    path = write_package(tmp_path / "crc.xlsx", {"S": '<row r="1"><c r="A1"><v>1</v></c></row>'})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as package:
        info = package.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # corrupt the sheet's compressed bytes
    path.write_bytes(bytes(data))
    with pytest.raises(WorkbookIOError, match=r"crc.xlsx: (damaged .xlsx archive|.*malformed)"):
        load_workbook(path)


@pytest.mark.parametrize("listed", [1_000, 2], ids=["members-listed", "blocks-scanned"])
def test_array_members_found_both_ways(tmp_path, monkeypatch, listed):
    """Members are looked up in a set while blocks are small, by scanning the blocks past that."""
    from xl_lesson3.workbook import xlsx_formulas

    monkeypatch.setattr(xlsx_formulas, "MAX_LISTED_MEMBERS", listed)
    model = load_workbook(write_package(tmp_path / "a.xlsx", {"S": ARRAYS}), cached_values=True)
    assert [model.cell(at(a)) for a in ("S!E1", "S!D2", "S!E2", "S!G2", "S!G3")] == [None] * 5
    assert model.cached_value(at("S!E2")) == 8 and model.cell(at("S!A2")).value == 3


def test_with_every_sheet_read_no_formula_is_searched_for_more(tmp_path, monkeypatch):
    """A one-sheet book asked for by name: its formulas cannot name a sheet still unread."""
    path = write_package(tmp_path / "one.xlsx", {"Only": '<c r="A1"><f>Other!A1+1</f></c>'})

    def never(_sheets):
        raise AssertionError("searched the formulas")

    monkeypatch.setattr(load_module, "_formula_texts", never)
    model = load_workbook(path, sheets=["only"])
    assert model.sheet_names == ("Only",)
    assert model.cell(CellAddress("Only", 1, 1)).formula == "=Other!A1+1"
