"""Evaluate what can be evaluated: `eval --all`, `check`, circular references, implicit
intersection, on workbooks with unsupported cells, array formulas and errors."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from xl_lesson3.cli import main
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.evaluate.tolerant import evaluate_all
from xl_lesson3.solver import SolverModel, save_model
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import ArrayFormula as ArrayFormulaModel
from xl_lesson3.workbook.model import CalcSettings, DefinedName, WorkbookModel

MIXED = {
    "S!A1": 2, "S!A2": 3, "S!A3": "x",
    "S!B1": "=A1*3",
    "S!B2": "=WEBSERVICE(A1)+1",  # unsupported
    "S!B3": "=B2*2",  # depends on it
    "S!B4": "=SUM(1",  # syntax error
    "S!B5": "=1/0",
    "S!B6": '=A3&"y"',
    "S!B7": "=A1>A2",
    "S!B8": "=nosuchname",
    "S!B9": "=B5+B1",  # an error value flows: it is a value, not a failure
    "S!D1": 1, "S!E1": 2, "S!D2": 3, "S!E2": 4,
}  # fmt: skip


@pytest.fixture
def mixed_book(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for key, value in MIXED.items():
        ws[key.split("!")[1]] = value
    # An array formula as openpyxl writes it: only the anchor cell is stored.
    ws["G1"] = ArrayFormula("G1:H1", "=MMULT(D1:E1,D1:E2)")
    ws["G3"] = ArrayFormula("G3:H4", "=TRANSPOSE(D1:E2)*10")
    path = tmp_path / "mixed.xlsx"
    wb.save(path)
    return path


def test_eval_all_json_prints_every_formula_cell(mixed_book, capsys):
    assert main(["eval", str(mixed_book), "--all", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found == {
        "S!B1": 6.0,
        "S!B2": {"error": "S!B2: WEBSERVICE is not supported"},
        "S!B3": {
            "error": "S!B3: needs S!B2, which cannot be computed (WEBSERVICE is not supported)"
        },
        "S!B4": {"error": "S!B4: formula ends too early: =SUM(1"},
        "S!B5": "#DIV/0!",
        "S!B6": "xy",
        "S!B7": False,
        "S!B8": "#NAME?",
        "S!B9": "#DIV/0!",
        "S!G1": 7.0,
        "S!H1": 10.0,
        "S!G3": 10.0,
        "S!H3": 30.0,
        "S!G4": 20.0,
        "S!H4": 40.0,
    }


def test_eval_all_text_output_and_option_errors(mixed_book, capsys):
    assert main(["eval", str(mixed_book), "--all"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"S!B1\s+6.0", out) and re.search(
        r"S!B2\s+cannot compute: S!B2: WEBSERVICE", out
    )
    assert main(["eval", str(mixed_book)]) == 2
    assert "give at least one cell or range, or --all" in capsys.readouterr().err
    assert main(["eval", str(mixed_book), "S!B1", "--all"]) == 2


def test_a_solve_needing_an_uncomputable_cell_fails_naming_it(mixed_book, capsys):
    code = main(["solve", str(mixed_book), "--objective", "S!B3", "--changing", "S!A1"])
    assert code == 2
    assert "S!B2: WEBSERVICE is not supported" in capsys.readouterr().err


def test_check_reports_per_sheet_groups_and_solver_models(mixed_book, capsys):
    save_model(
        mixed_book,
        SolverModel(
            sheet="S", objective=CellAddress("S", 3, 2), changing=(RangeAddress.parse("S!A1"),)
        ),
    )
    assert main(["check", str(mixed_book), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    sheet = report["sheets"]["S"]
    # openpyxl saves no cached values: only the cells computing to blank-like values agree.
    assert sheet["formula_cells"] == 15
    assert sheet["uncomputable"] == 3
    assert sheet["uncomputable_by_cause"] == {"WEBSERVICE": 2, "formula ends too early": 1}
    assert sheet["agree"] + sheet["differ"] == 12
    assert report["solver_models"] == {
        "S": {"trainable": False, "reason": "S!B2: WEBSERVICE is not supported"}
    }


@pytest.mark.libreoffice
def test_check_against_values_a_spreadsheet_saved(tmp_path, capsys):
    """LibreOffice saves the values Excel would, except INDEX past the edge (#VALUE! there,
    #REF! in Excel and here): check must find exactly that difference."""
    from tests.libreoffice import recalculated_copy

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"], ws["A2"], ws["A3"] = 1, 5, 8
    ws["B1"] = "=MATCH(5,A1:A3,0)"
    ws["B2"] = "=INDEX(A1:A3,3)*2"
    ws["B3"] = "=SUM(A1:OFFSET(A1,2,0))"
    ws["B4"] = "=INDEX(A1:A3,4)"
    ws["C1"] = ArrayFormula("C1:C3", "=A1:A3*2")
    wb.save(tmp_path / "book.xlsx")
    saved = recalculated_copy(tmp_path / "book.xlsx", tmp_path / "lo")
    assert main(["check", str(saved), "--json"]) == 0
    sheet = json.loads(capsys.readouterr().out)["sheets"]["S"]
    assert (sheet["formula_cells"], sheet["agree"], sheet["differ"]) == (7, 6, 1)
    assert sheet["differences"] == [
        {"cell": "S!B4", "formula": "=INDEX(A1:A3,4)", "excel": "#VALUE!", "ours": "#REF!"}
    ]


def test_check_cli_runs_in_a_fresh_process(mixed_book):
    done = subprocess.run(
        [sys.executable, "-m", "xl_lesson3", "check", str(mixed_book)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "S: 15 formula cells" in done.stdout
    assert "cannot compute (2): S!B2: WEBSERVICE is not supported" in done.stdout


# -- circular references ------------------------------------------------------------------------


def _circular(iterate: bool) -> WorkbookModel:
    model = WorkbookModel.from_cells(
        {"S!B1": "=B1/2+1", "S!C1": "=B1*10", "S!B2": "=B2", "S!D1": "=5"}
    )
    return dataclasses.replace(model, calc=CalcSettings(iterate, 100, 0.001))


def test_iterative_calculation_converges_like_excel():
    values = evaluate_all(_circular(iterate=True))
    # From blank: 1, 1.5, 1.75, ... until a pass moves no value by more than 0.001.
    assert values[CellAddress("S", 1, 2)] == pytest.approx(2.0, abs=0.002)
    assert values[CellAddress("S", 1, 3)] == pytest.approx(20.0, abs=0.02)
    assert values[CellAddress("S", 2, 2)] == 0.0
    assert values[CellAddress("S", 1, 4)] == 5.0


def test_circular_reference_without_iteration_is_left_at_zero():
    # Excel warns and calculates neither the cycle nor what reads it: both show 0 (the values it
    # saved in formulas' circular.xlsx; see test_reference_info).
    values = evaluate_all(_circular(iterate=False))
    assert values[CellAddress("S", 1, 2)] == 0.0
    assert values[CellAddress("S", 1, 3)] == 0.0
    assert values[CellAddress("S", 2, 2)] == 0.0
    assert values[CellAddress("S", 1, 4)] == 5.0


def test_iterate_settings_are_read_from_the_file(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "=A1+1"
    wb.calculation.iterate = True
    wb.calculation.iterateCount = 7
    wb.calculation.iterateDelta = 0.5
    wb.save(tmp_path / "it.xlsx")
    model = load_workbook(tmp_path / "it.xlsx")
    assert model.calc == CalcSettings(True, 7, 0.5)
    (value,) = evaluate_all(model).values()
    assert value == 7.0  # every pass adds 1: the count stops it


# -- implicit intersection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "at", "expected"),
    [
        ("=Liste*100+B2:B4", "S!D3", 220.0),  # Liste is A2:A4: A3 and B3 in row 3
        ("=B2:B4*1", "S!D4", 20.0),
        ("=B2:B4*1", "S!D9", "#VALUE!"),  # no cell of B2:B4 in row 9
        ("=B5:D5*A6:A8", "S!E9", "#VALUE!"),  # issue 12's example
        ("=SUM(B2:B4*2)", "S!D3", 40.0),  # SUM's argument is not an array argument
        ("=SUMPRODUCT(B2:B4*2)", "S!D3", 100.0),  # SUMPRODUCT's is
        ("=A2:C2", "S!B9", 10.0),  # a one-row range: the cell in the formula's column
        ("=@A2:A4+0", "S!D4", 3.0),
    ],
    ids=["name", "column", "no-row", "no-cell", "sum", "sumproduct", "row", "at-operator"],
)
def test_implicit_intersection(formula, at, expected):
    cells = {
        "S!A2": 1, "S!A3": 2, "S!A4": 3, "S!B2": 10, "S!B3": 20, "S!B4": 20, "S!C2": 5,
        at: formula,
    }  # fmt: skip
    names = [DefinedName("Liste", "S!$A$2:$A$4")]
    model = WorkbookModel.from_cells(cells, defined_names=names)
    (value,) = evaluate_cells(model, [at])
    assert (str(value) if not isinstance(value, float) else value) == expected


def test_array_formula_reaching_past_the_stored_cells():
    """An array block wider than the sheet's stored cells (Excel need not store empty members)
    is filled like any other: the result, then #N/A where the result is smaller."""
    cells = {"S!A1": 1, "S!B1": 2, "S!C1": 3}
    block = RangeAddress.parse("S!E1:H1")
    model = WorkbookModel.from_cells(cells, array_formulas=[ArrayFormulaModel(block, "=A1:C1*10")])
    found = evaluate_all(model)
    values = [found[cell] for cell in block.cells()]
    assert values[:3] == [10.0, 20.0, 30.0]
    assert str(values[3]) == "#N/A"
