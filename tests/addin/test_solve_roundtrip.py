"""Solve from Excel's payloads gives what the CLI gives, on every model sheet, arrays included.

The payloads are what the add-in receives for the lesson's Titanic workbook (first 50
passengers): xlwings Server's values and the ribbon's formula cells, the `mmult` sheet's MMULT
reported as dynamic Excel reports a spill (formula on the anchor, `getSpillingToRange`) or as a
legacy CSE array (the same formula text in every cell of the block). The parameters the Solve
button writes are put into a copy of the file with openpyxl and recalculated by `xl-lesson3
eval`; the loss must be the one the button reported, and the CLI's `solve` with the same
restarts and seed must reach the same loss.
"""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest

from tests.udfs.excel_payload import actions, book, load_with_values, office_payload, small_titanic
from udfs import macros
from xl_lesson3.addin import workflow
from xl_lesson3.cli import main
from xl_lesson3.solver.excel_model import read_solver_model
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load_xlwings import load_book

CASES = [("linear", "spill"), ("nnet", "spill"), ("mmult", "spill"), ("mmult", "cse")]


@pytest.fixture(scope="module")
def titanic(tmp_path_factory):
    """(path of the small Titanic workbook, its model with every formula value filled in)."""
    path = small_titanic(tmp_path_factory.mktemp("titanic"))
    return path, load_with_values(path)


def _cli_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _solve_note(recorded: list[dict]) -> dict:
    for action in recorded:
        values = action.get("values") or []
        if action["func"] == "setValues" and values and values[0][0] == macros.SOLVE_TITLE:
            return {label: value for label, value in values[1:]}
    raise AssertionError(f"no Solve note in {recorded}")


@pytest.mark.parametrize("arrays", ["spill", "cse"])
def test_mmult_payload_rebuilds_the_array_formula(titanic, arrays):
    _, model = titanic
    payload, formulas = office_payload(model, active_sheet="mmult", arrays=arrays)
    rebuilt = load_book(book(payload), formulas)
    (array,) = [a for a in rebuilt.array_formulas.values() if a.ref.sheet == "mmult"]
    assert array == model.array_formulas[array.ref.top_left]
    # the other cells of the block hold values only, as in the saved file
    inside = CellAddress("mmult", array.ref.min_row + 1, array.ref.min_col + 1)
    assert rebuilt.cells[inside].formula is None


@pytest.mark.parametrize(("sheet", "arrays"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
def test_solve_matches_eval_and_the_cli(titanic, tmp_path, capsys, sheet, arrays):
    path, model = titanic
    payload, formulas = office_payload(model, active_sheet=sheet, arrays=arrays)
    live = book(payload)
    macros.solve(live, formulas)
    recorded = actions(live)
    note = _solve_note(recorded)
    solver_model = read_solver_model(model, sheet)
    (area,) = solver_model.changing
    written = next(
        a["values"]
        for a in recorded
        if a["func"] == "setValues"
        and (a["start_row"] + 1, a["start_column"] + 1) == (area.min_row, area.min_col)
    )
    copy = tmp_path / "solved.xlsx"
    shutil.copy(path, copy)
    wb = openpyxl.load_workbook(copy)
    for r, row in enumerate(written):
        for c, value in enumerate(row):
            wb[sheet].cell(area.min_row + r, area.min_col + c, value)
    wb.save(copy)
    objective = str(solver_model.objective)
    evaluated = _cli_json(capsys, ["eval", str(copy), objective, "--json"])[objective]
    assert evaluated == pytest.approx(note["Loss after"], rel=1e-9)
    cli = _cli_json(
        capsys,
        [
            "solve", str(path), "--sheet", sheet, "--dry-run", "--json",
            "--restarts", str(workflow.DEFAULT_RESTARTS), "--seed", str(workflow.DEFAULT_SEED),
        ],
    )  # fmt: skip
    assert note["Loss before"] == pytest.approx(cli["initial"], rel=1e-9)
    assert note["Loss after"] == pytest.approx(cli["final"], rel=1e-6)
