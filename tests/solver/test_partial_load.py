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


def _solved_partially(make_workbook, cells: dict):
    book = make_workbook(cells)
    result = solve(book, objective="Fit!B1", changing=["Fit!A1"], method="lbfgs")
    assert result.workbook.sheet_names == ("Fit",) and result.workbook.partial
    return book, result


def test_the_other_sheets_are_scanned_for_formulas_and_their_dependents_added(make_workbook):
    from xl_lesson3.solver.writeback import sheets_with_formulas, solution_cells

    extra = {"Notes!A1": "=2+3", "Notes!B1": "=Other!A1*4", "Empty!A1": "text"}
    book, result = _solved_partially(make_workbook, {**BOOK, **extra})
    assert sheets_with_formulas(book, {"Fit"}) == ["Report", "Notes"]  # not Other, Empty
    cells, complete = solution_cells(result, book)
    assert complete
    x = result.values[CellAddress.parse("Fit!A1")]
    assert dict(cells) == {
        CellAddress.parse("Fit!A1"): x,
        CellAddress.parse("Fit!B1"): pytest.approx((x - 3) ** 2, abs=1e-12),
        CellAddress.parse("Report!A1"): pytest.approx(2 * x, rel=1e-15),
    }


def test_other_sheets_whose_formulas_do_not_reach_the_model_add_nothing(make_workbook):
    from xl_lesson3.solver.writeback import solution_cells

    cells = {k: v for k, v in BOOK.items() if not k.startswith("Report")}
    book, result = _solved_partially(make_workbook, {**cells, "Notes!A1": "=Other!A1+1"})
    found, complete = solution_cells(result, book)
    assert complete and {str(cell) for cell in found} == {"Fit!A1", "Fit!B1"}


def test_an_other_sheet_the_engine_cannot_plan_leaves_its_dependents_to_excel(make_workbook):
    from xl_lesson3.solver.writeback import solution_cells

    extra = {"Report!A2": '=Fit!A1&INFO("osversion")'}  # INFO is not in the engine
    book, result = _solved_partially(make_workbook, {**BOOK, **extra})
    found, complete = solution_cells(result, book)
    assert not complete and {str(cell) for cell in found} == {"Fit!A1", "Fit!B1"}


@pytest.mark.parametrize(
    ("xml", "holds"),
    [
        (b"<c r='A1'><f>B1*2</f><v>2</v></c>", True),
        (b'<c r="A2"><f t="shared" si="0"/></c>', True),
        (b'<x:c r="A1"><x:f t="array" ref="A1:A2">B1:B2</x:f></x:c>', True),
        (b'<c r="A1" s="1"><v>2</v></c><fills><fill/></fills><font/>', False),
        (b'<c r="A1" t="inlineStr"><is><t>&lt;f&gt;</t></is></c>', False),
    ],
    ids=["plain", "shared", "prefixed", "no-formula", "escaped-text"],
)
def test_the_formula_scan_finds_formula_elements_only(tmp_path, xml, holds):
    import zipfile

    from xl_lesson3.solver.writeback import _holds_formula

    path = tmp_path / "parts.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("sheet.xml", b"<worksheet><sheetData>" + xml + b"</sheetData></worksheet>")
    with zipfile.ZipFile(path) as package:
        assert _holds_formula(package, "sheet.xml") is holds
