"""`python -m benchmarks solvers`: our engines against LibreOffice's Solver engines, same models.

Models: the solver test fixtures (portfolio, transport LP, binary knapsack, exponential-decay
curve fit, logistic regression; `tests/solver/fixtures.py`, each with an independent optimum
from scipy/numpy) and the lesson's Titanic ``linear`` and ``nnet`` sheets. Per model:

- **ours**: `xl_lesson3.solver.solve` with the engine the stored model asks for (Simplex LP models
  through HiGHS; GRG models through Newton, Levenberg-Marquardt or L-BFGS with the augmented
  Lagrangian), the time including compilation but not reading the file;
- **LibreOffice**: the Solver engines LibreOffice 7.4 ships, driven through UNO on the same
  .xlsx: its linear solvers (CoinMP, lp_solve) for the linear models and its nonlinear
  SwarmSolver (particle swarm / differential evolution) for every model, with the model's
  constraints (and a box of +-10 for the population solver, which needs one); the optimum is the
  objective cell after its solution is written back, checked against every constraint, the
  time that of ``solve()`` (not the load). The DEPS and SCO solvers of ``libreoffice-nlpsolver`` are
  used too when that package (and Java) are installed.

The finite-difference baseline (`benchmarks.solver_vs_baseline`) stays as it was.
"""

from __future__ import annotations

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
# LibreOffice's population solvers sample inside the variables' bounds; models that have none
# get this box (as Excel's Evolutionary engine asks the user for one).
SWARM_BOUND = 10.0


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
    from xl_lesson3.workbook.load import load_workbook

    book = load_workbook(path)  # not timed, as LibreOffice's load is not
    start = time.perf_counter()
    result = solve(book, sheet=sheet, restarts=restarts, device="cpu")
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

        # LibreOffice's solvers probe the sheet by changing cells and reading formulas, which
        # needs automatic recalculation (the session turns it off for its own probes).
        calc._doc.enableAutomaticCalculation(True)
        solver.Document = calc._doc
        solver.Objective = address(model.objective)
        solver.Variables = tuple(address(c) for c in model.variables)
        rows = list(_constraints(uno, model, address))
        if engine in NONLINEAR_ENGINES.values():  # population methods need a box to sample
            rows += list(_box(uno, model, address))
        solver.Constraints = tuple(rows)
        solver.Maximize = model.goal == "max"
        # CoinMP and lp_solve take their Timeout in seconds, SwarmSolver in milliseconds.
        limit = int(timeout * 1000) if engine == NONLINEAR_ENGINES["Swarm"] else int(timeout)
        for name, value in (("NonNegative", model.non_negative), ("Timeout", limit)):
            try:
                solver.setPropertyValue(name, value)
            except Exception:  # noqa: BLE001, S110  (an engine without that property)
                pass
        start = time.perf_counter()
        solver.solve()
        seconds = time.perf_counter() - start
        if not solver.Success:
            return None, seconds, "no solution"
        # Like LibreOffice's Solver dialog: write the solution into the variable cells.
        for cell, value in zip(model.variables, solver.Solution):
            calc._range(cell).setValue(float(value))
        calc.recalculate()
        if calc._range(model.objective).getError():
            return None, seconds, "an error value in the objective"
        violated = _violated(calc, model)
        return calc.value(model.objective), seconds, f"violates {violated}" if violated else ""


def _violated(calc, model) -> str:
    """The first constraint LibreOffice's answer breaks (by more than 1e-6 relative), or ""."""
    from xl_lesson3.workbook.address import CellAddress, RangeAddress

    for constraint in model.constraints:
        cells = constraint.lhs.cells()
        rhs = constraint.rhs
        sides = list(rhs.cells()) if isinstance(rhs, RangeAddress) else [rhs] * len(cells)
        for cell, side in zip(cells, sides):
            value = calc.value(cell)
            if constraint.relation in ("int", "bin", "dif"):
                bad = abs(value - round(value)) > 1e-6 or (
                    constraint.relation == "bin" and round(value) not in (0, 1)
                )
            else:
                target = calc.value(side) if isinstance(side, CellAddress) else float(side)
                gap = {"<=": value - target, ">=": target - value, "=": abs(value - target)}
                bad = gap[constraint.relation] > 1e-6 * max(1.0, abs(target))
            if bad:
                return f"{cell} {constraint.relation} {side}"
    return ""


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


def _box(uno, model, address, bound: float = SWARM_BOUND):
    """``-bound <= x <= bound`` (``0 <=`` with "non-negative") on every changing cell."""
    for cell in model.variables:
        for operator, value in (
            ("GREATER_EQUAL", 0.0 if model.non_negative else -bound),
            ("LESS_EQUAL", bound),
        ):
            row = uno.createUnoStruct("com.sun.star.sheet.SolverConstraint")
            row.Left = address(cell)
            row.Operator = uno.Enum("com.sun.star.sheet.SolverConstraintOperator", operator)
            row.Right = value
            yield row


def run(config: BenchConfig) -> Section:
    """The side-by-side table; LibreOffice columns say why when LibreOffice is missing."""
    from benchmarks.libreoffice_uno import available

    section = Section("solvers", "Solver engines: ours vs LibreOffice's, same models")
    missing = available()
    timeout = 10 if config.quick or config.tiny else 30
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
                    extra = f" ({note})" if note else ""
                    cells.append(f"{label}: {fmt(value, 8)} in {lo_seconds:.2f} s{extra}")
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
