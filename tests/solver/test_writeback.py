"""Write-back loses nothing: every other zip part byte-identical, only expected cells change."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from openpyxl.chart import LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table
from PIL import Image as PILImage

from tests import libreoffice
from xl_lesson3.solver import SolverModel, save_model, solve, write_solution
from xl_lesson3.workbook.address import CellAddress, RangeAddress

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROWS = 12


def _png() -> io.BytesIO:
    data = io.BytesIO()
    PILImage.new("RGB", (8, 6), (200, 30, 30)).save(data, format="PNG")
    data.seek(0)
    return data


def rich_workbook(path: Path) -> Path:
    """A line fit y = a*x + b on sheet 'fit', with a chart, an image, a table, comments, a second
    sheet whose formulas read the fit, extra names, and the Solver model saved on 'fit'."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "fit"
    ws["A1"], ws["B1"] = 0.3, -0.2  # a, b
    ws["A1"].comment = Comment("slope: the solver changes this", "tester")
    ws["E1"] = f"=AVERAGE(D4:D{ROWS + 3})"
    ws["F1"] = "=ROUND(E1,3)"
    ws["G1"] = "=2+3"  # does not depend on the changing cells: never rewritten
    ws.append([])
    ws["A3"], ws["B3"], ws["C3"], ws["D3"] = "x", "y", "pred", "loss"
    for i in range(ROWS):
        row = i + 4
        ws[f"A{row}"] = i / 2
        ws[f"B{row}"] = 1.7 * i / 2 - 0.4 + (0.1 if i % 2 else -0.1)
        ws[f"C{row}"] = f"=$A$1*A{row}+$B$1"
        ws[f"D{row}"] = f"=(C{row}-B{row})^2"
    ws.add_table(Table(displayName="points", ref=f"A3:D{ROWS + 3}"))
    chart = LineChart()
    chart.add_data(Reference(ws, min_col=2, min_row=3, max_row=ROWS + 3), titles_from_data=True)
    ws.add_chart(chart, "H2")
    ws.add_image(Image(_png()), "H20")
    notes = wb.create_sheet("notes")
    notes["A1"] = "loss, doubled"
    notes["B1"] = "=fit!E1*2"
    notes["A2"] = "unrelated"
    notes["B2"] = "=SQRT(16)"
    notes["A2"].comment = Comment("a note on the other sheet", "tester")
    wb.defined_names["rate"] = DefinedName("rate", attr_text="notes!$B$1")
    ws.defined_names["slope"] = DefinedName("slope", attr_text="fit!$A$1")
    wb.save(path)
    model = SolverModel(
        sheet="fit",
        objective=CellAddress.parse("fit!E1"),
        changing=(RangeAddress.parse("fit!A1:B1"),),
    )
    save_model(path, model)
    return path


def make_xlsm(xlsx: Path, out: Path) -> Path:
    """`xlsx` turned into a macro-enabled workbook with a (dummy) VBA project part."""
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4  # OLE magic + payload
    src = zipfile.ZipFile(xlsx)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                text = data.decode().replace(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
                text = text.replace(
                    "</Types>",
                    '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                    "</Types>",
                )
                data = text.encode()
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = (
                    data.decode()
                    .replace(
                        "</Relationships>",
                        '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
                        'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
                    )
                    .encode()
                )
            dst.writestr(info, data)
        dst.writestr("xl/vbaProject.bin", vba)
    return out


def _cells(xml: bytes) -> dict[str, str]:
    root = ElementTree.fromstring(xml)
    return {c.get("r"): ElementTree.tostring(c) for c in root.iter(f"{NS}c")}


def _without_sheet_data(xml: bytes) -> bytes:
    return re.sub(rb"<sheetData>.*</sheetData>", b"", xml, flags=re.DOTALL)


def _sheet_parts(path: Path) -> dict[str, str]:
    book = openpyxl.load_workbook(path)
    return {ws.title: f"xl/worksheets/sheet{i}.xml" for i, ws in enumerate(book.worksheets, 1)}


def _expected_cells() -> dict[str, set[str]]:
    fit = {"A1", "B1", "E1", "F1"} | {f"{c}{r}" for c in "CD" for r in range(4, ROWS + 4)}
    return {"fit": fit, "notes": {"B1"}}


def _check_integrity(src: Path, out: Path) -> None:
    before, after = zipfile.ZipFile(src), zipfile.ZipFile(out)
    assert before.namelist() == after.namelist()
    sheets = _sheet_parts(src)
    changed = set(sheets.values())
    for name in before.namelist():
        if name in changed or name == "xl/calcChain.xml":
            continue
        assert after.read(name) == before.read(name), f"{name} changed"
    for sheet, part in sheets.items():
        old, new = before.read(part), after.read(part)
        assert _without_sheet_data(new) == _without_sheet_data(old), f"{part} outside cells"
        old_cells, new_cells = _cells(old), _cells(new)
        assert set(old_cells) == set(new_cells)
        differing = {ref for ref in old_cells if old_cells[ref] != new_cells[ref]}
        assert differing == _expected_cells()[sheet], sheet


def _solve_and_write(src: Path, out: Path):
    result = solve(src, sheet="fit", method="lbfgs")
    assert result.improved
    write_solution(result, out)
    return result


@pytest.mark.parametrize("kind", ["xlsx", "xlsm"])
def test_only_the_changing_and_dependent_cells_change(tmp_path, kind):
    src = rich_workbook(tmp_path / "book.xlsx")
    if kind == "xlsm":
        src = make_xlsm(src, tmp_path / "book.xlsm")
    out = tmp_path / f"solved.{kind}"
    result = _solve_and_write(src, out)
    _check_integrity(src, out)
    if kind == "xlsm":
        assert zipfile.ZipFile(out).read("xl/vbaProject.bin") == zipfile.ZipFile(src).read(
            "xl/vbaProject.bin"
        )
    # What a reader of the file sees: new changing values, recalculated cached values.
    cached = openpyxl.load_workbook(out, data_only=True)
    a, b = result.values[CellAddress.parse("fit!A1")], result.values[CellAddress.parse("fit!B1")]
    assert (cached["fit"]["A1"].value, cached["fit"]["B1"].value) == (a, b)
    assert cached["fit"]["E1"].value == pytest.approx(result.final, rel=1e-12)
    assert cached["notes"]["B1"].value == pytest.approx(2 * result.final, rel=1e-12)
    formulas = openpyxl.load_workbook(out)
    assert formulas["fit"]["C4"].value == "=$A$1*A4+$B$1"  # formulas untouched


@pytest.mark.libreoffice
def test_libreoffice_agrees_with_the_cached_values_written(tmp_path):
    src = rich_workbook(tmp_path / "book.xlsx")
    out = tmp_path / "solved.xlsx"
    _solve_and_write(src, out)
    ours = openpyxl.load_workbook(out, data_only=True)
    theirs = libreoffice.recalculate(out)
    for sheet, refs in _expected_cells().items():
        for ref in refs:
            mine, lo = ours[sheet][ref].value, theirs[sheet][ref].value
            assert mine == pytest.approx(lo, rel=1e-9, abs=1e-12), f"{sheet}!{ref}"


def test_in_place_keeps_a_backup_and_a_failed_run_writes_nothing(tmp_path):
    src = rich_workbook(tmp_path / "book.xlsx")
    original = src.read_bytes()
    result = solve(src, sheet="fit", method="lbfgs")
    write_solution(result, in_place=True)
    assert (tmp_path / "book.bak.xlsx").read_bytes() == original
    assert src.read_bytes() != original
    diverged = solve(src, sheet="fit", method="sgd", lr=1e3)
    assert diverged.failed
    current = src.read_bytes()
    with pytest.raises(Exception, match="diverged at step"):
        write_solution(diverged, in_place=True)
    assert src.read_bytes() == current
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.bak.xlsx", "book.xlsx"]


def test_a_function_the_engine_lacks_elsewhere_does_not_block_the_write(make_workbook, tmp_path):
    cells = {"s!A1": 1.0, "s!B1": "=(A1-2)^2", "s!C1": "=B1+1", "s!D1": "abc"}
    cells["s!E1"] = '=D1&INFO("osversion")'  # INFO is not in the engine
    book = _without_full_calc(make_workbook(cells), tmp_path / "book.xlsx")
    result = solve(book, objective="s!B1", changing=["s!A1"], method="lbfgs")
    out = write_solution(result, tmp_path / "out.xlsx")
    cached = openpyxl.load_workbook(out, data_only=True)["s"]
    assert cached["A1"].value == pytest.approx(2.0, abs=1e-6)
    assert cached["B1"].value == pytest.approx(result.final, abs=1e-12)
    # C1 depends on the answer but is not one of the objective's precedents: Excel recalculates it
    # when it opens the file.
    assert cached["C1"].value is None
    workbook_xml = zipfile.ZipFile(out).read("xl/workbook.xml").decode()
    assert 'fullCalcOnLoad="1"' in workbook_xml


def _without_full_calc(src: Path, dst: Path) -> Path:
    """`src` without the fullCalcOnLoad flag openpyxl always sets (so a test can see ours)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b' fullCalcOnLoad="1"', b"")
            new.writestr(info, data)
    assert b"fullCalcOnLoad" not in zipfile.ZipFile(dst).read("xl/workbook.xml")
    return dst
