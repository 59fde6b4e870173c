"""Load an .xlsx/.xlsm file into a `WorkbookModel` with our own streaming reader.

openpyxl (still the writer of the workbooks this project builds) read a 100k-row sheet in 53 s,
stopped on workbooks with pivot tables, and turned dates into datetimes (so serial 60, Excel's
1900-02-29, came back as 59). The reader here opens only the parts the engine needs
(`xlsx_package`), streams each worksheet into columns (`xlsx_sheet`) and keeps values as stored.
The garbage collector is paused while it runs: the load allocates millions of objects and none
of them is garbage, so the collector's generation scans are pure cost.

`sheets=` loads a subset: the sheets named, and every sheet their formulas, names and tables
refer to, followed until nothing new is needed (any INDIRECT loads them all).
"""

from __future__ import annotations

import gc
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from xl_lesson3.errors import UnknownReferenceError, WorkbookIOError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.archive import check_archive
from xl_lesson3.workbook.archive_budget import CellBudget
from xl_lesson3.workbook.columns import CellStore, ColumnCells
from xl_lesson3.workbook.model import Table, WorkbookModel
from xl_lesson3.workbook.xlsx_formulas import SheetCells
from xl_lesson3.workbook.xlsx_package import Package, WorkbookPart, open_package
from xl_lesson3.workbook.xlsx_sheet import read_sheet

# A sheet prefix in formula text: 'Quoted ''name'''! or Plain! or a 3-D Sheet1:Sheet3!.
# The lines of joined formula texts that hold a "!" (anchored: no rescans within a line).
_LINES_WITH_SHEET = re.compile(r"^[^\n!]*![^\n]*", re.MULTILINE)
_SHEET_REF = re.compile(r"'((?:[^']|'')+)'!|([A-Za-z0-9_.\u00a0-\uffff]+(?::[\w.]+)?)!")


def load_workbook(
    path: str | Path,
    *,
    cached_values: bool = False,
    sheets: Iterable[str] | None = None,
    layout: bool = False,
) -> WorkbookModel:
    """Read `path` into a model.

    `cached_values`: formula cells (and array formulas' members, `WorkbookModel.cached_value`)
    also carry the values Excel saved, read in the same pass; the engine never needs them.
    `sheets`: load only these sheets and the sheets they depend on (default: every sheet).
    `layout`: note where each cell's bytes are (`WorkbookModel.layouts`), for a write-back
    that splices new values in (`xlsx_splice`).
    """
    path = Path(path)
    # Size limits and zip bombs, before any XML is parsed; the worksheets are checked as they
    # inflate (`CellBudget`), the ones not read after the load.
    summary = check_archive(path, defer_worksheets=True)
    with _collector_paused():
        package = open_package(path, CellBudget(path, summary))
        with package.zip:
            try:
                model = _load(package, cached_values, sheets, layout)
                package.budget.finish(package.zip)  # type: ignore[union-attr]
                return model
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                # damage found while inflating a part (bad CRC, truncated data)
                raise WorkbookIOError(f"{path}: damaged .xlsx archive ({exc})") from exc


def _load(
    package: Package, cached: bool, wanted: Iterable[str] | None, layout: bool
) -> WorkbookModel:
    book = package.workbook()
    parts = {sheet.name: sheet for sheet in book.sheets}
    tables = {
        table.name: table
        for sheet in book.sheets
        for table in (package.table(part, sheet.name) for part in sheet.table_parts)
    }
    strings = package.shared_strings(book.shared_strings)
    todo = list(parts) if wanted is None else _known(wanted, parts, package.path)
    read: dict[str, SheetCells] = {}
    while todo:
        for name in todo:
            read[name] = read_sheet(package, parts[name].part, name, strings, cached, layout)
        todo = [] if wanted is None else _needed(book, tables, read)
    order = tuple(name for name in parts if name in read)
    return _model(package.path, book, order, read, tables)


def load_sheets(
    path: str | Path, sheets: list[str] | None, *, layout: bool = False
) -> WorkbookModel:
    """`load_workbook(path, sheets=sheets, layout=layout)`, or the whole file when one of
    `sheets` does not exist, so the checks that follow name it as they would otherwise."""
    path = Path(path)
    if sheets is not None:
        known = {name.lower() for name in worksheet_names(path)}
        if not all(name.lower() in known for name in sheets):
            sheets = None
    return load_workbook(path, sheets=sheets, layout=layout)


def sheets_needed(
    objective: CellAddress | str | None,
    changing: Sequence[RangeAddress | CellAddress | str] | None,
    sheet: str | None,
) -> list[str] | None:
    """The sheets a model starts from: the model's sheet and the changing cells' sheets.

    None (read every sheet) when the model's sheet is not known before reading (it is then the
    only sheet with a Solver model) or a reference does not parse (its error comes later).
    """
    if sheet is None and (objective is None or isinstance(objective, str) and "!" not in objective):
        return None
    refs: list[RangeAddress | CellAddress | str] = [] if objective is None else [objective]
    refs.extend(changing or ())
    found = [] if sheet is None else [sheet]
    for ref in refs:
        if isinstance(ref, str):
            if "!" not in ref:
                continue
            try:
                ref = RangeAddress.parse(ref, default_sheet=sheet)
            except UnknownReferenceError:
                return None
        found.append(ref.sheet)
    return list(dict.fromkeys(found))


def worksheet_names(path: str | Path) -> tuple[str, ...]:
    """The workbook's worksheet names in tab order, reading only its workbook part (the
    worksheets, never parsed here, are checked by the load that follows)."""
    path = Path(path)
    check_archive(path, defer_worksheets=True)
    package = open_package(path)
    with package.zip:
        try:
            return tuple(sheet.name for sheet in package.workbook().sheets)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise WorkbookIOError(f"{path}: damaged .xlsx archive ({exc})") from exc


def _model(
    path: Path,
    book: WorkbookPart,
    order: tuple[str, ...],
    read: dict[str, SheetCells],
    tables: dict[str, Table],
) -> WorkbookModel:
    formulas: dict[tuple[str, int], ColumnCells] = {}
    values: dict[tuple[str, int], ColumnCells] = {}
    arrays: dict = {}
    array_cached: dict = {}
    for name in order:
        cells = read[name]
        formulas.update(((name, col), column) for col, column in cells.formulas.items())
        values.update(((name, col), column) for col, column in cells.values.items())
        arrays.update(cells.arrays)
        array_cached.update(cells.array_cached)
    loaded = set(order)
    return WorkbookModel(
        order,
        CellStore(formulas, values),
        {n: t for n, t in tables.items() if t.sheet in loaded},
        tuple(n for n in book.defined_names if n.scope is None or n.scope in loaded),
        arrays,
        source_path=path,
        date1904=book.date1904,
        calc=book.calc,
        character_set=book.character_set,
        array_cached_values=array_cached,
        partial=len(order) < len(book.sheets),
        layouts={name: read[name].layout for name in order if read[name].layout is not None},
    )


def _known(wanted: Iterable[str], parts: dict, path: Path) -> list[str]:
    names = list(dict.fromkeys(wanted))
    by_lower = {name.lower(): name for name in parts}
    found = []
    for name in names:
        if name.lower() not in by_lower:
            raise WorkbookIOError(f"{path}: no worksheet {name!r} (worksheets: {', '.join(parts)})")
        found.append(by_lower[name.lower()])
    return found


def _needed(book: WorkbookPart, tables: dict[str, Table], read: dict[str, SheetCells]) -> list[str]:
    """Sheets not read yet that the read sheets' formulas (or their names, tables) refer to.

    The formulas are joined into one text (per column first, C-level joins) and searched with
    C-level substring searches and one regular expression over the lines that hold a ``!``:
    a 100k-row sheet's 1.3 million formulas took ~1.5 s one by one. Finding more than is needed
    only loads a sheet too many. With every sheet read already (a one-sheet book) there is
    nothing to search for.
    """
    all_sheets = [sheet.name for sheet in book.sheets]
    if all(name in read for name in all_sheets):
        return []
    pending = "\n".join(
        [*_formula_texts(read.values()), *(n.text for n in book.defined_names if n.scope in read)]
    )  # the Solver model's names too
    lower = pending.lower()
    if "indirect(" in lower:
        return [name for name in all_sheets if name not in read]
    wanted: set[str] = set()
    used_names: set[tuple[str, str | None]] = set()
    while pending:
        if "!" in pending:
            for text in set(_LINES_WITH_SHEET.findall(pending)):
                wanted.update(name.lower() for name in _sheets_in(text, all_sheets))
        wanted.update(t.sheet.lower() for name, t in tables.items() if name.lower() in lower)
        found = []
        for name in book.defined_names:
            key = (name.name.lower(), name.scope)
            if key not in used_names and name.name.lower() in lower:
                used_names.add(key)
                found.append(name.text)
        pending = "\n".join(found)
        lower = pending.lower()
    # Excel matches sheet names case-insensitively
    return [name for name in all_sheets if name.lower() in wanted and name not in read]


def _formula_texts(sheets: Iterable[SheetCells]) -> Iterator[str]:
    """Each formula column's texts joined into one string, and each array formula's text."""
    for cells in sheets:
        for column in cells.formulas.values():
            if column.formulas:
                yield "\n".join(column.formulas)
        yield from (array.text for array in cells.arrays.values())


def _sheets_in(text: str, all_sheets: list[str]) -> set[str]:
    """Names of the sheets `text` refers to (3-D ``First:Last!`` spans every sheet between)."""
    position = {name.lower(): i for i, name in enumerate(all_sheets)}
    found: set[str] = set()
    for quoted, plain in _SHEET_REF.findall(text):
        ref = quoted.replace("''", "'") if quoted else plain
        first, _, last = ref.lower().partition(":")
        if last and first in position and last in position:
            i, j = sorted((position[first], position[last]))
            found.update(all_sheets[i : j + 1])
        else:
            found.add(ref)
    return found


@contextmanager
def _collector_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
