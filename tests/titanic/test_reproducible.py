"""Rebuilding with the same seed gives the same cells; the committed workbook is that build."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.worksheet.formula import ArrayFormula

from xl_lesson3.titanic.builder import build_titanic_workbook

COMMITTED = Path(__file__).resolve().parents[2] / "workbooks" / "titanic.xlsx"


def every_cell(formulas: openpyxl.Workbook, cached: openpyxl.Workbook) -> dict:
    """(sheet, coordinate, reading) -> value for both readings of a workbook, names included."""
    cells = {}
    for reading, wb in (("formulas", formulas), ("cached", cached)):
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    value = cell.value
                    if isinstance(value, ArrayFormula):
                        value = ("array", value.ref, value.text)
                    if value is not None:
                        cells[(ws.title, cell.coordinate, reading)] = value
            for name, defined in ws.defined_names.items():
                cells[(ws.title, name, reading)] = (defined.attr_text, defined.hidden)
    return cells


def contents(path: Path) -> dict[str, bytes]:
    """Every part but docProps/core.xml, which records when the file was written."""
    with zipfile.ZipFile(path) as package:
        return {
            name: package.read(name) for name in package.namelist() if name != "docProps/core.xml"
        }


def test_same_seed_same_file(built, tmp_path):
    again = build_titanic_workbook(tmp_path / "again.xlsx", seed=42)
    assert contents(again.path) == contents(built.path)
    assert again.losses == built.losses


def same_reading(a, b) -> bool:
    """Equal, except that floats (cached results of arithmetic) may differ in the last bits.

    The committed file was computed on another CPU; libm and summation order differ across machines.
    """
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return type(a) is type(b) and a == b


def test_committed_workbook_is_the_default_build(formulas, cached):
    committed = every_cell(
        openpyxl.load_workbook(COMMITTED), openpyxl.load_workbook(COMMITTED, data_only=True)
    )
    rebuilt = every_cell(formulas, cached)
    assert committed.keys() == rebuilt.keys()
    differing = [key for key in committed if not same_reading(committed[key], rebuilt[key])]
    assert differing == [], [(key, committed[key], rebuilt[key]) for key in differing[:5]]


def test_another_seed_changes_only_the_parameters(built, cached, tmp_path):
    other = build_titanic_workbook(tmp_path / "other.xlsx", seed=7)
    nnet = openpyxl.load_workbook(other.path, read_only=True, data_only=True)["nnet"]
    rows = [[c.value for c in row] for row in nnet.iter_rows(min_row=2, max_row=6)]
    assert rows[0][6:16] != [c.value for c in cached["nnet"]["G2:P2"][0]]  # params
    assert rows[4][8:15] == [c.value for c in cached["nnet"]["I6:O6"][0]]  # data
    assert other.losses != built.losses
