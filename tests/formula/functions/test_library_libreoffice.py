"""The function library against LibreOffice Calc, end to end: one workbook, one soffice run.

Every case of `library_cases` is a formula on sheet Cases reading sheet Data. The workbook is
written with openpyxl, recalculated by LibreOffice, and evaluated by our engine (parser,
planner and function library together); each cell must agree within 1e-12 relative. Where
Excel and LibreOffice differ the case records both: ours must equal Excel's value and
LibreOffice must still give its own (else the note is stale).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from openpyxl.utils.datetime import to_excel

from tests.formula.functions.cells import Case
from tests.formula.functions.library_cases import CASES, DATA, excel_text
from tests.libreoffice import recalculate, workbook_with_data, write_formula
from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook

REL = 1e-12


def _write(path) -> dict[str, int]:
    book = workbook_with_data(DATA)
    sheet = book.create_sheet("Cases")
    rows, row = {}, 1
    for case in CASES:
        sheet.cell(row, 1, case.id)
        write_formula(sheet, row, 2, excel_text(_qualify(case.formula)), case.shape)
        rows[case.id] = row
        row += case.shape[0]
    book.save(path)
    return rows


def _qualify(formula: str) -> str:
    """References to sheet Data written with its name (not inside quoted text)."""
    import re

    parts = formula.split('"')
    for i in range(0, len(parts), 2):  # outside string literals
        parts[i] = re.sub(
            r"(?<![A-Za-z_.!$\d])(\$?[A-I]\$?\d+(?::\$?[A-I]\$?\d+)?)(?![\w(])",
            r"Data!\1",
            parts[i],
        )
    return '"'.join(parts)


def _plain(value: object) -> object:
    """A cell value as text for errors, numbers as floats."""
    if value is None:
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return float(to_excel(value))  # LibreOffice gave DATE/TIME a date format
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)


def agree(ours: object, theirs: object) -> bool:
    ours, theirs = _plain(ours), _plain(theirs)
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    if isinstance(ours, float) and isinstance(theirs, float):
        return math.isclose(ours, theirs, rel_tol=REL, abs_tol=1e-12)
    if ours is None or ours == "":
        return theirs in (None, "")
    return ours == theirs


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = tmp_path_factory.mktemp("library") / "library.xlsx"
    rows = _write(path)
    ours = evaluate_workbook(load_workbook(path))
    theirs = recalculate(path)["Cases"]
    return rows, ours, theirs


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_agrees_with_libreoffice(case: Case, results):
    rows, ours, theirs = results
    row = rows[case.id]
    mine = ours[CellAddress("Cases", row, 2)]
    reference = theirs.cell(row, 2).value
    if case.excel is not None:
        assert agree(mine, case.excel), (mine, case.excel)
        assert agree(reference, case.lo), f"LibreOffice now gives {reference!r}: drop `lo`"
        return
    assert agree(mine, reference), f"{case.formula}: ours {mine!r}, LibreOffice {reference!r}"
