"""`solve` reads only the sheets its model needs; the write-back still updates every dependent."""

from __future__ import annotations

import pytest

from xl_lesson3.solver import solve, write_solution
from xl_lesson3.solver.problem import sheets_needed
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook

BOOK = {
    "Fit!A1": 0.5,  # the changing cell
    "Fit!B1": "=(A1-3)^2",  # minimum at A1 = 3
    "Report!A1": "=Fit!A1*2",  # depends on the model, but the model does not read it
    "Other!A1": 1.0,
}


@pytest.mark.parametrize(
    ("objective", "changing", "sheet", "expected"),
    [
        ("Fit!B1", ["Fit!A1"], None, ["Fit"]),
        ("B1", ["A1"], "Fit", ["Fit"]),
        ("Fit!B1", ["Other!A1"], None, ["Fit", "Other"]),
        (None, None, "Fit", ["Fit"]),
        ("B1", ["A1"], None, None),  # the sheet with a Solver model is looked for: read all
        (None, None, None, None),
        ("Fit!B1", ["Fit!hello"], None, None),  # does not parse: the full read reports it
    ],
    ids=["objective", "sheet", "two-sheets", "model-sheet", "unknown-sheet", "nothing", "bad-ref"],
)
def test_sheets_needed(objective, changing, sheet, expected):
    assert sheets_needed(objective, changing, sheet) == expected


def test_solve_reads_one_sheet_and_the_write_back_updates_the_others(make_workbook, tmp_path):
    book = make_workbook(BOOK)
    result = solve(book, objective="Fit!B1", changing=["Fit!A1"], method="lbfgs")
    assert result.workbook.sheet_names == ("Fit",) and result.workbook.partial
    assert result.values[CellAddress.parse("Fit!A1")] == pytest.approx(3.0, abs=1e-6)
    written = load_workbook(write_solution(result, tmp_path / "out.xlsx"), cached_values=True)
    assert not written.partial
    assert written.cell(CellAddress.parse("Report!A1")).value == pytest.approx(
        6.0, abs=2e-6
    )  # 2 * 3


def test_an_unknown_sheet_is_reported_as_before(make_workbook):
    from xl_lesson3.errors import UnknownReferenceError

    with pytest.raises(UnknownReferenceError, match="no such sheet"):
        solve(make_workbook(BOOK), objective="Nope!B1", changing=["Nope!A1"])
