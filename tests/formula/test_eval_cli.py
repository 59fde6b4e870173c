"""`xl-lesson3 eval BOOK CELL... [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xl_lesson3.cli import main
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook

TITANIC = Path(__file__).resolve().parents[2] / "workbooks" / "titanic.xlsx"


@pytest.fixture
def book(make_workbook):
    return make_workbook({
        "Sheet1!A1": 2, "Sheet1!A2": 3, "Sheet1!B1": "=A1*3", "Sheet1!B2": "=A2*3",
        "Sheet1!C1": "=1/0", "Sheet1!D1": '="x"&A1', "Other!A1": "=Sheet1!B2+1",
    })  # fmt: skip


def test_json_output(book, capsys):
    assert (
        main(
            [
                "eval",
                str(book),
                "Sheet1!B1",
                "Sheet1!A1:B2",
                "Sheet1!C1",
                "D1",
                "Other!A1",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {
        "Sheet1!B1": 6.0,
        "Sheet1!A1:B2": [[2.0, 6.0], [3.0, 9.0]],
        "Sheet1!C1": "#DIV/0!",
        "Sheet1!D1": "x2",  # no sheet: the first sheet
        "Other!A1": 10.0,
    }


def test_plain_output(book, capsys):
    assert main(["eval", str(book), "Sheet1!B2", "Sheet1!E9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Sheet1!B2", "9.0"]
    assert lines[1].split() == ["Sheet1!E9", "(blank)"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("Nope!A1", "Nope!A1: no sheet named 'Nope'"),
        ("B1:", "B1:: not a cell or range reference"),
        ("rate", "rate: not a cell or range reference"),
    ],
)
def test_bad_cells_exit_2_with_a_located_message(book, capsys, cell, message):
    assert main(["eval", str(book), cell]) == 2
    assert message in capsys.readouterr().err


def test_formula_errors_exit_2_located(make_workbook, capsys):
    path = make_workbook({"S!A1": "=WEBSERVICE(1)"})
    assert main(["eval", str(path), "S!A1"]) == 2
    assert "S!A1: WEBSERVICE is not supported" in capsys.readouterr().err


def test_missing_workbook(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "none.xlsx"), "A1"]) == 2
    assert "no such workbook" in capsys.readouterr().err


@pytest.mark.skipif(not TITANIC.exists(), reason="workbooks/titanic.xlsx not built yet")
def test_linear_total_loss_of_the_lesson_workbook(capsys):
    """The loss recomputed with numpy from the sheet's inputs and parameters."""
    model = load_workbook(TITANIC)
    names = {n.name: n.text for n in model.defined_names if n.scope == "linear"}
    objective = CellAddress.parse(names["solver_opt"])
    params_ref = RangeAddress.parse(names["solver_adj"])
    # The model's inputs are the table columns SibSp..Ones, the target Survived.
    table = next(t for t in model.tables.values() if t.sheet == "linear")
    first, last = table.first_data_row, table.last_data_row
    sibsp, ones = table.column_index("SibSp"), table.column_index("Ones")
    survived = table.column_index("Survived")
    inputs_ref = RangeAddress("linear", first, sibsp, last, ones)
    target_ref = RangeAddress("linear", first, survived, last, survived)
    refs = [objective, params_ref, inputs_ref, target_ref]
    assert main(["eval", str(TITANIC), *map(str, refs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    params = np.array(data[str(params_ref)], dtype=float).ravel()
    inputs = np.array(data[str(inputs_ref)], dtype=float)
    target = np.array(data[str(target_ref)], dtype=float).ravel()
    assert inputs.shape == (last - first + 1, 10) and params.shape == (10,)
    expected = np.mean((inputs @ params - target) ** 2)
    assert data[str(objective)] == pytest.approx(expected, rel=1e-12)
