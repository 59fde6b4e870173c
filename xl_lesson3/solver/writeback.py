"""Write a solution back into the workbook file, changing nothing but what the solution changed.

The output is the input file with the changing cells' new values and the new cached values of
the formula cells that depend on them. Which formula cells those are is decided with the engine:
the workbook is recalculated once, the units that depend on the changing cells (on the plan's
dependency graph) again with the new values, and the cells whose value moved are kept
(`evaluate.changes`): cells that do not depend on the changing cells keep their bytes, even where
the engine's last digit would differ from Excel's. (When a formula elsewhere uses a function the engine lacks,
only the objective's own precedents are recalculated and the file asks Excel to recalculate the
rest on opening.) The patch goes through `patch_workbook`, which copies every other
zip part byte for byte and replaces the destination atomically; a failed (diverged, no better
point) solution is never written. A model read with `layout=True` (the command line's) carries
where each cell's bytes are, and the numbers are spliced in there (`xlsx_splice`).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path

from xl_lesson3.errors import BadInputError, SolverError, WorkbookIOError, located
from xl_lesson3.solver.api import SolveResult
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.changeset import ChangeSet
from xl_lesson3.workbook.destination import (  # noqa: F401  (re-exported: callers import them here)
    backup_path,
    check_writable,
    default_output,
    destination,
    next_backup_path,
    same_file,
)
from xl_lesson3.workbook.model import WorkbookModel


def changed_cells(
    workbook: WorkbookModel, values: Mapping[CellAddress, float], objective: CellAddress
) -> tuple[ChangeSet, bool]:
    """Changing cells with their new values, plus the formula cells whose value they change.

    Returns (cells, complete); `cells` is a Mapping cell → value held in column blocks (see
    `ChangeSet`). Normally every formula of the workbook is planned and recalculated once, and
    the units that depend on the changing cells again with the new values (complete; see
    `evaluate.changes`). When some formula cannot be planned (an unsupported function in a
    cell the model does not use), only the cells the objective depends on are, and `complete`
    is False: other dependents keep their old cached values until Excel recalculates.
    """
    from xl_lesson3.formula.evaluate.changes import recalculate_changes
    from xl_lesson3.formula.evaluate.recalc import formula_targets

    try:
        return recalculate_changes(workbook, values, formula_targets(workbook)), True
    except BadInputError:
        return recalculate_changes(workbook, values, [objective]), False


def solution_cells(result: SolveResult, src: Path) -> tuple[ChangeSet, bool]:
    """`changed_cells` for a result, counting the sheets its model did not read.

    A partial model (`WorkbookModel.partial`) holds the sheets the objective needs and every
    sheet their formulas refer to, so its dependents are complete for those sheets; formulas
    on the other sheets may still read the changing cells. Those sheets are scanned for
    formulas (bytes, no parsing); when some hold any, they are read (with what they refer to)
    into a second model, and its dependents on sheets the first model lacks are added.
    """
    workbook = result.workbook
    cells, complete = changed_cells(workbook, result.values, result.objective)
    if not workbook.partial:
        return cells, complete
    loaded = set(workbook.sheet_names)
    others = sheets_with_formulas(src, loaded)
    if not others:
        return cells, complete
    from xl_lesson3.workbook.load import load_workbook

    rest = load_workbook(src, sheets=others)
    if not any(rest.sheet_exists(cell.sheet) for cell in result.values):
        return cells, complete  # their formulas do not reach the changing cells
    from xl_lesson3.formula.evaluate.changes import recalculate_changes
    from xl_lesson3.formula.evaluate.recalc import formula_targets

    try:
        more = recalculate_changes(rest, result.values, formula_targets(rest))
    except BadInputError:  # only the objective's precedents are sure to plan: on the first
        return cells, False
    for sheet, rows, cols, values in more.blocks():
        if sheet not in loaded:
            cells.add(sheet, rows, cols, values)
    return cells, complete


# A formula element in worksheet XML, with or without a namespace prefix: <f>, <f t=..>, <x:f/>
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
_SCAN_CHUNK = 1 << 20


def sheets_with_formulas(src: Path, skip: set[str]) -> list[str]:
    """The worksheets of `src` (except `skip`) whose XML holds a formula element.

    A byte scan, streamed. Text that looks like a tag inside a cell is escaped (``&lt;f>``),
    so only elements match; a false find (in an XML comment, say) would only cost reading a
    sheet too many.
    """
    from xl_lesson3.workbook.xlsx_package import open_package

    package = open_package(src)
    with package.zip:
        return [
            sheet.name
            for sheet in package.workbook().sheets
            if sheet.name not in skip and _holds_formula(package.zip, sheet.part)
        ]


def _holds_formula(archive: zipfile.ZipFile, part: str) -> bool:
    info = archive.getinfo(part)
    tail, seen = b"", 0
    with archive.open(info) as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            seen += len(chunk)
            if seen > info.file_size:
                raise WorkbookIOError(f"{archive.filename}: part {part} is larger than it declares")
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-64:]
    return False


def write_solution(
    result: SolveResult,
    out: str | Path | None = None,
    *,
    in_place: bool = False,
    backup: bool = True,
) -> Path:
    """Write `result` into a copy of its workbook (or into it, `in_place`); returns the path.

    Default output: ``BOOK-solved.xlsx`` next to the input; `out` naming the input itself is
    `in_place`. In place, the original is first copied to a new backup (``BOOK.bak.xlsx``, or
    ``BOOK.bak1.xlsx``... when that exists: a backup is never overwritten) unless `backup` is
    False. The caller holds the book's lock (`xl_lesson3.workbook.lock.locked`) for in-place
    runs. Raises SolverError for a failed result (nothing is written).
    """
    src = result.workbook.source_path
    if src is None:
        raise BadInputError("the workbook was not read from a file, so there is no file to write")
    src = Path(src)
    if result.failed:
        raise SolverError(located(str(result.objective), f"{result.status}; nothing written"))
    dst, onto_src = destination(src, out, in_place)
    check_writable(dst, what="the solved workbook")
    cells, complete = solution_cells(result, src)
    from xl_lesson3.workbook.xlsx_patch import patch_workbook, plan_patch, write_atomically

    if onto_src and backup:
        plan_patch(src, cells)  # a sheet that cannot be patched is refused before the backup
        copy = next_backup_path(src)
        check_writable(copy, what="the backup")
        with open(src, "rb") as original:
            write_atomically(copy, lambda f: shutil.copyfileobj(original, f, 1 << 20))
    # If not every dependent could be recalculated here, ask Excel to do it on opening.
    return patch_workbook(
        src,
        dst,
        values=cells,
        full_calc_on_load=not complete,
        layouts=result.workbook.layouts,  # the sheets as read: numbers are spliced in
    )
