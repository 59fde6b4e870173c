"""From "a workbook and maybe some cells" to a checked problem: model, variables, bounds.

The objective and changing cells come from the caller when given, otherwise from the sheet's
Excel Solver model (`read_solver_model`). Everything a user can get wrong is checked here, before
any compilation, and reported with the cell it is about: an unknown sheet, a changing cell that
holds a formula, an objective that is a constant, contradictory bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xl_lesson3.errors import SolverModelError, UnknownReferenceError, located
from xl_lesson3.solver.bounds import Bounds, Constraints, split_constraints
from xl_lesson3.solver.excel_model import (
    Goal,
    SolverModel,
    read_solver_model,
    sheet_solver_names,
)
from xl_lesson3.workbook.address import CellAddress, RangeAddress, quote_sheet
from xl_lesson3.workbook.load import sheets_needed
from xl_lesson3.workbook.model import WorkbookModel

MAX_VARIABLES = 1_000_000


@dataclass(frozen=True)
class Problem:
    """A checked optimisation problem over a workbook."""

    workbook: WorkbookModel
    model: SolverModel
    variables: tuple[CellAddress, ...]
    bounds: Bounds
    constraints: Constraints


def load(workbook: WorkbookModel | str | Path, sheets: list[str] | None = None) -> WorkbookModel:
    """A WorkbookModel, loading it from a path when given one (`load_sheets`)."""
    if isinstance(workbook, WorkbookModel):
        return workbook
    from xl_lesson3.workbook.load import load_sheets

    return load_sheets(Path(workbook), sheets)


def model_sheets(workbook: WorkbookModel) -> list[str]:
    """Sheets that carry an Excel Solver model (a sheet-scoped ``solver_opt``)."""
    return [s for s in workbook.sheet_names if "solver_opt" in sheet_solver_names(workbook, s)]


def _check_sheet(workbook: WorkbookModel, sheet: str) -> None:
    if sheet not in workbook.sheet_names:
        raise UnknownReferenceError(
            located(
                quote_sheet(sheet), f"no such sheet (sheets: {', '.join(workbook.sheet_names)})"
            )
        )


def _as_cell(ref: CellAddress | str, sheet: str | None) -> CellAddress:
    return ref if isinstance(ref, CellAddress) else CellAddress.parse(ref, default_sheet=sheet)


def _as_range(ref: RangeAddress | CellAddress | str, sheet: str | None) -> RangeAddress:
    if isinstance(ref, RangeAddress):
        return ref
    if isinstance(ref, CellAddress):
        return RangeAddress.from_cell(ref)
    return RangeAddress.parse(ref, default_sheet=sheet)


def resolve_model(
    workbook: WorkbookModel,
    objective: CellAddress | str | None = None,
    changing: Sequence[RangeAddress | CellAddress | str] | None = None,
    goal: Goal | None = None,
    sheet: str | None = None,
) -> SolverModel:
    """The Solver model to run: the sheet's stored one, with what the caller gave overriding it.

    Without `sheet`, the sheet is the objective's, else the only sheet with a Solver model.
    """
    if sheet is None and objective is not None and not isinstance(objective, str):
        sheet = objective.sheet
    if sheet is None and isinstance(objective, str) and "!" in objective:
        sheet = CellAddress.parse(objective).sheet
    if sheet is None:
        sheets = model_sheets(workbook)
        if len(sheets) != 1:
            found = f"sheets with one: {', '.join(sheets)}" if sheets else "no sheet has one"
            raise SolverModelError(
                f"{workbook.source_path or 'workbook'}: choose a sheet or give the objective and "
                f"changing cells ({found})"
            )
        sheet = sheets[0]
    _check_sheet(workbook, sheet)
    if objective is not None and changing:
        base = None
    else:
        base = read_solver_model(workbook, sheet)
    obj = _as_cell(objective, sheet) if objective is not None else base.objective
    areas = tuple(_as_range(r, sheet) for r in changing) if changing else base.changing
    if goal is None:
        goal = base.goal if base is not None else "min"
    if base is None:
        return SolverModel(sheet=sheet, objective=obj, changing=areas, goal=goal)
    return SolverModel(
        sheet=base.sheet,
        objective=obj,
        changing=areas,
        goal=goal,
        constraints=base.constraints,
        non_negative=base.non_negative,
        engine=base.engine,
        options=base.options,
    )


def _array_cells(workbook: WorkbookModel) -> list[RangeAddress]:
    return [array.ref for array in workbook.array_formulas.values()]


def check_cells(workbook: WorkbookModel, model: SolverModel) -> tuple[CellAddress, ...]:
    """Validate objective and changing cells; returns the changing cells in order."""
    objective = model.objective
    _check_sheet(workbook, objective.sheet)
    cell = workbook.cells.get(objective)
    in_array = any(area.contains(objective) for area in _array_cells(workbook))
    if (cell is None or cell.formula is None) and not in_array:
        raise SolverModelError(
            located(
                str(objective),
                "the objective holds no formula, so it does not depend on the changing cells",
            )
        )
    for area in model.changing:
        _check_sheet(workbook, area.sheet)
        if area.size > MAX_VARIABLES:
            raise SolverModelError(located(str(area), f"too many changing cells ({area.size})"))
    variables = model.variables
    arrays = _array_cells(workbook)
    for var in variables:
        found = workbook.cells.get(var)
        if (found is not None and found.formula is not None) or any(
            a.contains(var) for a in arrays
        ):
            raise SolverModelError(
                located(
                    str(var),
                    "changing cells must hold values, not formulas "
                    f"({found.formula if found is not None and found.formula else 'array'})",
                )
            )
        if found is not None and found.value is not None and not _is_number(found.value):
            raise SolverModelError(
                located(str(var), f"changing cells must hold numbers, found {found.value!r}")
            )
    if objective in set(variables):
        raise SolverModelError(located(str(objective), "the objective is also a changing cell"))
    return variables


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def build_problem(
    workbook: WorkbookModel | str | Path,
    objective: CellAddress | str | None = None,
    changing: Sequence[RangeAddress | CellAddress | str] | None = None,
    goal: Goal | None = None,
    sheet: str | None = None,
) -> Problem:
    """Load (if needed), resolve the model, check every cell and build the bounds."""
    book = load(workbook, sheets_needed(objective, changing, sheet))
    model = resolve_model(book, objective, changing, goal, sheet)
    variables = check_cells(book, model)
    constraints = split_constraints(model, book, variables)
    return Problem(
        workbook=book,
        model=model,
        variables=variables,
        bounds=constraints.bounds,
        constraints=constraints,
    )
