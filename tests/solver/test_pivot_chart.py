"""Issue 12's acceptance: a workbook with a pivot table and a chart opens, evaluates, solves, and
after write-back its pivot and chart parts are byte-identical.

tests/data/pivot_chart.xlsx was saved by LibreOffice with a real DataPilot (pivot table, cache
definition and records) and a bar chart (tests/data/make_pivot_chart_workbook.py). Its Calc sheet
holds ``A1 = 2`` and ``B1 = SUM(Data!C2:C5)*A1`` (sales 42.5, so B1 = 85). A Solver model is
stored on that sheet by the project's byte-preserving name writer (`save_model`: only
``xl/workbook.xml`` changes), then ``xl-lesson3 solve --out`` trains it and ``xl-lesson3 eval``
re-reads the written file.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from xl_lesson3.cli import main
from xl_lesson3.solver import Constraint, SolverModel, save_model
from xl_lesson3.workbook.address import CellAddress, RangeAddress

SOURCE = Path(__file__).resolve().parents[1] / "data" / "pivot_chart.xlsx"
SALES = 10.0 + 20.0 + 5.0 + 7.5  # Data!C2:C5, the pivot's source column
KEPT_PREFIXES = ("xl/pivotTables/", "xl/pivotCache/", "xl/charts/", "xl/drawings/")

MODELS = [
    # goal, constraints, engine code (solver_eng), expected Calc!A1, expected Calc!B1
    pytest.param(100.0, (), 1, 100.0 / SALES, 100.0, id="grg-value-of"),
    pytest.param(
        "min",
        (Constraint(RangeAddress.parse("Calc!A1"), ">=", 1.5),),
        2,
        1.5,
        1.5 * SALES,
        id="simplex-min-with-bound",
    ),
]


def _parts(path: Path, prefixes: tuple[str, ...] = KEPT_PREFIXES) -> dict[str, bytes]:
    """The package's parts whose names start with one of `prefixes`, name → bytes (by default
    every pivot and chart part, their relationship parts included)."""
    with zipfile.ZipFile(path) as package:
        return {
            name: package.read(name) for name in package.namelist() if name.startswith(prefixes)
        }


def _cli_json(capsys, argv: list[str]) -> tuple[int, dict]:
    status = main(argv)
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("goal", "constraints", "engine", "a1", "b1"), MODELS)
def test_pivot_and_chart_parts_survive_a_solve_byte_for_byte(
    tmp_path, capsys, goal, constraints, engine, a1, b1
):
    book = tmp_path / "pivot_chart.xlsx"
    shutil.copyfile(SOURCE, book)
    original = _parts(SOURCE)
    assert {
        "xl/pivotTables/pivotTable1.xml",
        "xl/pivotCache/pivotCacheDefinition1.xml",
        "xl/pivotCache/pivotCacheRecords1.xml",
        "xl/charts/chart1.xml",
        "xl/drawings/drawing1.xml",
    } <= set(original)
    save_model(
        book,
        SolverModel(
            sheet="Calc",
            objective=CellAddress.parse("Calc!B1"),
            changing=(RangeAddress.parse("Calc!A1"),),
            goal=goal,
            constraints=constraints,
            engine=engine,
        ),
    )
    out = tmp_path / "solved.xlsx"
    argv = ["solve", str(book), "--sheet", "Calc", "--out", str(out), "--json"]
    status, solved = _cli_json(capsys, argv)
    assert status == 0
    assert solved["engine"] == {1: "grg", 2: "simplex"}[engine]  # chosen from the stored model
    assert solved["objective"] == "Calc!B1"
    assert solved["cells"]["Calc!A1"] == pytest.approx(a1, rel=1e-9)
    assert solved["final"] == pytest.approx(b1, rel=1e-9)

    assert _parts(out) == original  # same names, same bytes
    everything_before, everything_after = _parts(SOURCE, ("",)), _parts(out, ("",))
    assert everything_after.keys() == everything_before.keys()
    changed = {
        name for name in everything_before if everything_after[name] != everything_before[name]
    }
    assert changed == {"xl/workbook.xml", "xl/worksheets/sheet2.xml"}  # Solver names; Calc!A1:B1

    status, evaluated = _cli_json(capsys, ["eval", str(out), "Calc!B1", "Pivot!B7", "--json"])
    assert status == 0
    assert evaluated["Calc!B1"] == pytest.approx(solved["final"], rel=1e-12)
    assert evaluated["Pivot!B7"] == pytest.approx(SALES)  # the pivot's output, a plain value
