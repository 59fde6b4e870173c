"""`solve --report`: Excel's Answer Report as a new sheet; every other part keeps its content."""

from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest

from tests import libreoffice
from tests.solver import fixtures
from xl_lesson3.cli import main
from xl_lesson3.workbook.add_sheet import add_sheet

NEW_PARTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_answer_report_sheet(make_workbook, tmp_path, capsys):
    book, optimum = fixtures.transport(make_workbook)
    plain, reported = tmp_path / "plain.xlsx", tmp_path / "reported.xlsx"
    assert main(["solve", str(book), "--out", str(plain)]) == 0
    assert main(["solve", str(book), "--out", str(reported), "--report", "--json"]) == 0
    capsys.readouterr()
    before, after = _members(plain), _members(reported)
    added = set(after) - set(before)
    assert len(added) == 1 and added.pop().startswith("xl/worksheets/sheet")
    for name, data in before.items():
        if name not in NEW_PARTS:
            assert after[name] == data, name
    workbook = openpyxl.load_workbook(reported)
    assert workbook.sheetnames == ["t", "Answer Report 1"]
    report = workbook["Answer Report 1"]
    column_b = [report.cell(row, 2).value for row in range(1, report.max_row + 1)]
    assert (
        "Result: Solver found a solution. All constraints and optimality conditions are "
        "satisfied." in column_b
    )
    assert any(str(v).startswith("Engine: Simplex LP") for v in column_b)
    objective_row = column_b.index("Objective Cell (Min)") + 3  # rows count from 1
    assert report.cell(objective_row, 2).value == "$B$7"
    assert report.cell(objective_row, 4).value == 0  # all shipments 0 at the start
    assert report.cell(objective_row, 5).value == pytest.approx(optimum)
    constraints = column_b.index("Constraints") + 3
    rows = {
        report.cell(r, 5).value: (report.cell(r, 6).value, report.cell(r, 7).value)
        for r in range(constraints, report.max_row + 1)
    }
    assert rows["$B$4>=$B$5"] == ("Binding", pytest.approx(0.0, abs=1e-9))
    slacks = sorted(rows[f"$E${r}<=$F${r}"][1] for r in (2, 3))
    assert slacks == pytest.approx([0.0, 20.0], abs=1e-9)


def test_sheet_names_count_up(make_workbook):
    book = make_workbook({"Answer Report 1!A1": 1, "s!A1": 2})
    assert add_sheet(book, "Answer Report", [["x", 1.5]]) == "Answer Report 2"
    sheet = openpyxl.load_workbook(book)["Answer Report 2"]
    assert (sheet["A1"].value, sheet["B1"].value) == ("x", 1.5)


def test_failed_run_writes_no_report(make_workbook, tmp_path, capsys):
    cells = {"s!A1": 1.0, "s!B1": "=60*A1^2"}
    book = make_workbook(cells, name="creep.xlsx")
    args = ["--objective", "s!B1", "--changing", "s!A1", "--method", "sgd", "--lr", "0.018"]
    out = tmp_path / "out.xlsx"
    assert (
        main(["solve", str(book), *args, "--steps", "30", "--report", "--out", str(out), "--json"])
        == 1
    )
    assert json.loads(capsys.readouterr().out)["output"] is None and not out.exists()


@pytest.mark.libreoffice
def test_libreoffice_opens_the_report(make_workbook, tmp_path):
    book, optimum = fixtures.transport(make_workbook)
    out = tmp_path / "reported.xlsx"
    assert main(["solve", str(book), "--out", str(out), "--report"]) == 0
    theirs = libreoffice.recalculate(out)  # LibreOffice loads, recalculates and saves it again
    assert theirs.sheetnames == ["t", "Answer Report 1"]
    assert theirs["t"]["B7"].value == pytest.approx(optimum)
    assert theirs["Answer Report 1"]["B1"].value.startswith("Microsoft Excel Answer Report")
