"""LibreOffice Calc headless as the reference spreadsheet engine for tests.

`recalculate(path)` forces a full recalculation (a private profile sets OOXMLRecalcMode to
"always"), saves an .xlsx copy and returns openpyxl's `data_only` reading of it. See
../shared/notes/libreoffice.md for why each step is there. `workbook_with_data` and
`write_formula` build the one workbook a test module batches its formulas into.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

_RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def available() -> bool:
    return SOFFICE is not None


def recalculated_copy(path: Path, outdir: Path | None = None) -> Path:
    """LibreOffice's recalculated .xlsx copy of `path` (each call its own profile: safe in parallel)."""
    if SOFFICE is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    work = Path(tempfile.mkdtemp(prefix="xl3-lo-"))
    profile = work / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_PROFILE)
    outdir = outdir or work / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    # Copy under a plain name: soffice names its output after the input's stem.
    src = work / ("in" + Path(path).suffix)
    shutil.copyfile(path, src)
    cmd = [
        SOFFICE,
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--norestore",
        "--convert-to",
        "xlsx:Calc MS Excel 2007 XML",
        "--outdir",
        str(outdir),
        str(src),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    out = outdir / "in.xlsx"
    if not out.exists():
        raise RuntimeError(f"LibreOffice wrote nothing for {path}")
    return out


def recalculate(path: Path) -> openpyxl.Workbook:
    """openpyxl's data_only reading of LibreOffice's recalculation of `path`."""
    return openpyxl.load_workbook(recalculated_copy(path), data_only=True, read_only=False)


def workbook_with_data(columns: dict[str, list]) -> openpyxl.Workbook:
    """A new workbook whose first sheet, "Data", holds `columns` (``{"A": [v1, v2, ...]}`` from
    row 1; None stays blank): the inputs a batch of formulas on other sheets reads."""
    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data"
    for column, values in columns.items():
        for row, value in enumerate(values, start=1):
            if value is not None:
                data[f"{column}{row}"] = value
    return book


def write_formula(
    sheet: Worksheet, row: int, column: int, formula: str, shape: tuple[int, int] = (1, 1)
) -> None:
    """`formula` at (row, column); an array formula over the ``(rows, columns)`` block of
    `shape` from there when its result is larger than one cell."""
    if shape == (1, 1):
        sheet.cell(row, column, formula)
        return
    first = f"{get_column_letter(column)}{row}"
    last = f"{get_column_letter(column + shape[1] - 1)}{row + shape[0] - 1}"
    sheet[first] = ArrayFormula(f"{first}:{last}", formula)
