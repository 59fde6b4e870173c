"""Excel Solver's Answer Report, as a new sheet of the written workbook.

Excel's report (Solver Results > Reports > Answer) is a sheet "Answer Report 1" starting in
column B: a header (the worksheet, the time, the result message, the engine and its solution
time and iterations), then three tables, the objective cell (original and final value), the
variable cells (original value, final value, integer or continuous) and the constraints (cell
value, formula such as ``$G$3=1``, status "Binding"/"Not Binding", slack). We write the same
layout with plain values (no styles), through `xl_lesson3.workbook.add_sheet`, which adds the
sheet as a new part and leaves every other part of the file as it was.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from xl_lesson3.solver.api import SolveResult
from xl_lesson3.workbook.add_sheet import add_sheet
from xl_lesson3.workbook.address import CellAddress

ENGINE_TITLES = {
    "grg": "GRG Nonlinear",
    "simplex": "Simplex LP",
    "evolutionary": "Evolutionary",
}
GOAL_TITLES = {"min": "Min", "max": "Max"}


def _absolute(cell: CellAddress) -> str:
    """``$B$3`` as Excel's report writes a cell of the model's own sheet."""
    text = str(cell).rsplit("!", 1)[-1]
    letters = "".join(ch for ch in text if ch.isalpha())
    digits = text[len(letters) :]
    return f"${letters}${digits}"


def _cell_text(cell: CellAddress, sheet: str) -> str:
    return _absolute(cell) if cell.sheet == sheet else str(cell)


def _label(result: SolveResult, cell: CellAddress) -> str:
    """Excel's "Name" column: the nearest text to the left in the row, if any."""
    cells = result.workbook.cells
    for col in range(cell.col - 1, 0, -1):
        found = cells.get(CellAddress(cell.sheet, cell.row, col))
        if found is not None and isinstance(found.value, str):
            return found.value
    return ""


def answer_rows(result: SolveResult, now: dt.datetime | None = None) -> list[list]:
    """The report's rows (column A left empty, as Excel does)."""
    sheet = result.model.sheet
    now = now or dt.datetime.now()
    integer = {result.model.variables[i] for i in _integer_indices(result)}
    goal = GOAL_TITLES.get(result.goal, "Value Of") if isinstance(result.goal, str) else "Value Of"
    rows: list[list] = [
        [None, "Microsoft Excel Answer Report (written by xl-lesson3)"],
        [None, f"Worksheet: [{_book_name(result)}]{sheet}"],
        [None, f"Report Created: {now:%m/%d/%Y %I:%M:%S %p}"],
        [None, f"Result: {result.outcome.message}"],
        [None, "Solver Engine"],
        [None, f"Engine: {ENGINE_TITLES.get(result.engine, result.engine)} ({result.method})"],
        [None, f"Solution Time: {result.seconds:.3f} Seconds."],
        [None, f"Iterations: {result.iterations} Restarts: {result.restarts}"],
        [],
        [None, f"Objective Cell ({goal})"],
        [None, "Cell", "Name", "Original Value", "Final Value"],
        [
            None,
            _cell_text(result.objective, sheet),
            _label(result, result.objective),
            result.initial,
            result.final,
        ],
        [],
        [None, "Variable Cells"],
        [None, "Cell", "Name", "Original Value", "Final Value", "Integer"],
    ]
    for cell, value in result.values.items():
        rows.append(
            [
                None,
                _cell_text(cell, sheet),
                _label(result, cell),
                result.initial_values.get(cell),
                value,
                "Integer" if cell in integer else "Contin",
            ]
        )
    rows += [[], [None, "Constraints"]]
    rows.append([None, "Cell", "Name", "Cell Value", "Formula", "Status", "Slack"])
    for row in result.constraints:
        rows.append(
            [
                None,
                _cell_text(row.cell, sheet),
                _label(result, row.cell),
                row.value,
                _formula(row, sheet),
                row.status,
                row.slack,
            ]
        )
    return rows


def _formula(row, sheet: str) -> str:
    """``$G$3=1`` / ``$G$2>=$H$2``, as Excel's report shows a constraint."""
    rhs = _cell_text(row.rhs_cell, sheet) if row.rhs_cell is not None else f"{row.rhs:.15g}"
    return f"{_cell_text(row.cell, sheet)}{row.relation}{rhs}"


def _integer_indices(result: SolveResult) -> list[int]:
    from xl_lesson3.solver.bounds import split_constraints

    return list(split_constraints(result.model, result.workbook, result.model.variables).integer)


def _book_name(result: SolveResult) -> str:
    source = result.workbook.source_path
    return Path(source).name if source else "workbook"


def add_answer_report(result: SolveResult, path: str | Path) -> str:
    """Add the Answer Report sheet to the written workbook at `path`; returns its name."""
    widths = (2.0, 14.0, 18.0, 16.0, 16.0, 14.0, 14.0)
    return add_sheet(path, "Answer Report", answer_rows(result), widths)
