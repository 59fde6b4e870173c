"""`python -m benchmarks solvers`: our engines against LibreOffice's Solver engines, same models.

Models: the solver test fixtures (portfolio, transport LP, binary knapsack, exponential-decay
curve fit, logistic regression; `tests/solver/fixtures.py`, each with an independent optimum
from scipy/numpy) and the lesson's Titanic ``linear`` and ``nnet`` sheets. Per model:

- **ours**: `xl_lesson3.solver.solve` with the engine the stored model asks for (Simplex LP models
  through HiGHS; GRG models through Newton, Levenberg-Marquardt or L-BFGS with the augmented
  Lagrangian), the time including compilation;
- **LibreOffice**: the Solver engines LibreOffice 7.4 ships, driven through UNO on the same
  .xlsx: its linear solvers (CoinMP, lp_solve) for the linear models and its nonlinear
  SwarmSolver (particle swarm / differential evolution) for every model, with the model's
  constraints; the optimum is the objective cell after LibreOffice wrote its solution back,
  the time is that of ``solve()``. The DEPS and SCO solvers of ``libreoffice-nlpsolver`` are
  used too when that package (and Java) are installed.

The finite-difference baseline (`benchmarks.solver_vs_baseline`) stays as it was.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from benchmarks.common import BenchConfig
from benchmarks.report import Section, Table, fmt

LINEAR_ENGINES = {
    "CoinMP": "com.sun.star.comp.Calc.CoinMPSolver",
    "lp_solve": "com.sun.star.comp.Calc.LpsolveSolver",
}
NONLINEAR_ENGINES = {
    "Swarm": "com.sun.star.comp.Calc.SwarmSolver",
    "DEPS": "com.sun.star.comp.Calc.NLPSolver.DEPSSolverImpl",
    "SCO": "com.sun.star.comp.Calc.NLPSolver.SCOSolverImpl",
}
REPO = Path(__file__).resolve().parent.parent


def _fixture_models(folder: Path) -> list[tuple[str, Path, float | None]]:
    from tests.conftest import _write_workbook
    from tests.solver import fixtures

    def make(cells, name):
        return _write_workbook(folder / name, cells)

    models = []
    for name, build in [
        ("portfolio (GRG, QP)", fixtures.portfolio),
        ("transport (Simplex LP)", fixtures.transport),
        ("knapsack (Simplex LP, bin)", fixtures.knapsack),
        ("curve fit (GRG, LSQ)", fixtures.curve_fit),
        ("logistic (GRG, LN)", fixtures.logistic),
    ]:
        path, optimum = build(make)
        models.append((name, path, optimum))
    titanic = REPO / "workbooks" / "titanic.xlsx"
    if titanic.exists():
        for sheet in ("linear", "nnet"):
            copy = folder / f"titanic-{sheet}.xlsx"
            copy.write_bytes(titanic.read_bytes())
            models.append((f"Titanic {sheet}", copy, None))
    return models


def _ours(path: Path, sheet: str | None, restarts: int | None) -> tuple[float, float, str]:
    from xl_lesson3.solver import solve

    start = time.perf_counter()
    result = solve(path, sheet=sheet, restarts=restarts, device="cpu")
    return result.final, time.perf_counter() - start, f"{result.engine}: {result.method}"


def _libreoffice(path: Path, sheet: str | None, engine: str, timeout: float):
    """(optimum, seconds, note) of one LibreOffice Solver engine, or (None, None, why)."""
    from benchmarks.libreoffice_uno import CalcSession, import_uno
    from xl_lesson3.solver.excel_model import read_solver_model
    from xl_lesson3.solver.problem import model_sheets
    from xl_lesson3.workbook.load import load_workbook

    book = load_workbook(path)
    sheet = sheet or model_sheets(book)[0]
    model = read_solver_model(book, sheet)
    uno = import_uno()
    with CalcSession(path, full_recalc=True) as calc:
        calc.recalculate()
        try:
            solver = calc.context.ServiceManager.createInstanceWithContext(engine, calc.context)
        except Exception as exc:  # noqa: BLE001  (an engine LibreOffice lacks: reported)
            return None, None, f"unavailable ({type(exc).__name__})"
        if solver is None:
            return None, None, "unavailable"
        sheets = [calc._doc.Sheets.getByIndex(i).Name for i in range(calc._doc.Sheets.Count)]

        def address(cell):
            struct = uno.createUnoStruct("com.sun.star.table.CellAddress")
            struct.Sheet = sheets.index(cell.sheet)
            struct.Column, struct.Row = cell.col - 1, cell.row - 1
            return struct

        solver.Document = calc._doc
        solver.Objective = address(model.objective)
        solver.Variables = tuple(address(c) for c in model.variables)
        solver.Constraints = tuple(_constraints(uno, model, address))
        solver.Maximize = model.goal == "max"
        for name, value in (("NonNegative", model.non_negative), ("Timeout", int(timeout))):
            try:
                solver.setPropertyValue(name, value)
            except Exception:  # noqa: BLE001, S110  (an engine without that property)
                pass
        start = time.perf_counter()
        solver.solve()
        seconds = time.perf_counter() - start
        if not solver.Success:
            return None, seconds, "no solution"
        calc.recalculate()
        return calc.value(model.objective), seconds, ""


def _constraints(uno, model, address):
    operators = {
        "<=": "LESS_EQUAL",
        "=": "EQUAL",
        ">=": "GREATER_EQUAL",
        "int": "INTEGER",
        "bin": "BINARY",
    }
    from xl_lesson3.workbook.address import CellAddress, RangeAddress

    for constraint in model.constraints:
        cells = constraint.lhs.cells()
        rhs = constraint.rhs
        if isinstance(rhs, RangeAddress):
            sides = list(rhs.cells())
        else:
            sides = [rhs] * len(cells)
        for cell, side in zip(cells, sides):
            row = uno.createUnoStruct("com.sun.star.sheet.SolverConstraint")
            row.Left = address(cell)
            row.Operator = uno.Enum(
                "com.sun.star.sheet.SolverConstraintOperator", operators[constraint.relation]
            )
            if isinstance(side, CellAddress):
                row.Right = address(side)
            elif side is not None:
                row.Right = float(side)
            else:
                row.Right = 0.0
            yield row


def run(config: BenchConfig) -> Section:
    """The side-by-side table; LibreOffice columns say why when LibreOffice is missing."""
    from benchmarks.libreoffice_uno import available

    section = Section("solvers", "Solver engines: ours vs LibreOffice's, same models")
    missing = available()
    timeout = 20 if config.quick or config.tiny else 60
    rows = []
    with tempfile.TemporaryDirectory(prefix="xl3-bench-solvers-") as tmp:
        for name, path, optimum in _fixture_models(Path(tmp)):
            sheet = name.split()[-1] if name.startswith("Titanic") else None
            restarts = 256 if sheet == "nnet" else None
            final, seconds, how = _ours(path, sheet, restarts)
            row = [
                name,
                fmt(optimum, 8) if optimum is not None else "",
                fmt(final, 8),
                f"{seconds:.2f}",
                how,
            ]
            linear = "Simplex" in name or sheet == "linear"
            engines = {**(LINEAR_ENGINES if linear else {}), **NONLINEAR_ENGINES}
            cells = []
            for label, engine in engines.items():
                if missing:
                    cells.append(f"{label}: {missing}")
                    continue
                value, lo_seconds, note = _libreoffice(path, sheet, engine, timeout)
                if value is None:
                    if lo_seconds is None:
                        continue  # engine not installed (DEPS/SCO without nlpsolver)
                    cells.append(f"{label}: {note} ({lo_seconds:.2f} s)")
                else:
                    cells.append(f"{label}: {fmt(value, 8)} in {lo_seconds:.2f} s")
            row.append("; ".join(cells))
            rows.append(row)
    section.tables.append(
        Table(
            "Optimum reached and time (s), ours against LibreOffice 7.4's Solver engines",
            ["model", "independent optimum", "ours", "ours (s)", "our engine", "LibreOffice"],
            rows,
        )
    )
    if missing:
        section.status = f"LibreOffice part skipped: {missing}"
    section.data = {"rows": rows}
    _headlines(section, rows)
    return section


def _headlines(section: Section, rows) -> None:
    for row in rows:
        section.headlines.append(f"{row[0]}: ours {row[2]} in {row[3]} s; LibreOffice {row[5]}")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
