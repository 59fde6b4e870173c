"""Formula evaluation: a full recalculation of the Titanic workbook by our engine and by others.

Same machine, same run, same file: our engine (`load_workbook` + `evaluate_workbook`), LibreOffice
Calc through UNO (`calculateAll()` on a loaded document) and through `soffice --convert-to` (the
command-line way, soffice start and file save included), and the Python libraries `formulas` and
`pycel` when they are installed and can load the workbook. Each engine's Solver objectives (the
three losses) are compared with LibreOffice's.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
import time
from pathlib import Path

from benchmarks.common import BenchConfig, best_of
from benchmarks.report import Section, Table, fmt_seconds
from benchmarks.workbooks import solver_models, titanic_path

PYCEL_NOTE = (
    "pycel 1.0b30 pins networkx<2.7 while this project's test extra needs scikit-image, which "
    "needs networkx>=3, so it is not installed here"
)


def run(config: BenchConfig) -> Section:
    path = titanic_path(config)
    repeats = 1 if config.tiny else (2 if config.quick else 5)
    section = Section(
        "formula_eval", "Formula evaluation: full recalculation of the Titanic workbook"
    )
    rows, values = [], {}
    ours = _ours(path, repeats)
    models = solver_models(ours["model"])
    objectives = {sheet: m.objective for sheet, m in models.items()}
    rows.append(ours["row"])
    rows.append(_ours_compiled(ours["model"], models, repeats))
    values["xl-lesson3"] = {str(a): ours["values"].get(a) for a in objectives.values()}
    lo = _libreoffice_uno(path, objectives, repeats, ours)
    rows.append(lo["row"])
    values["LibreOffice"] = lo.get("objectives", {})
    rows.append(_libreoffice_convert(path))
    for name, fn in (("formulas", _formulas), ("pycel", _pycel)):
        result = fn(path, objectives)
        rows.append(result["row"])
        if "objectives" in result:
            values[name] = result["objectives"]

    reference = values.get("LibreOffice") or {}
    agreement = []
    for engine, found in values.items():
        if engine == "LibreOffice" or not reference:
            continue
        agreement.append([engine, _max_rel_diff(found, reference)])
    section.tables.append(
        Table(
            "Time to recalculate every formula once (best of "
            f"{repeats}; 'load' is reading the file, and for our engine building the model):",
            ["engine", "load / compile", "recalculate", "note"],
            rows,
        )
    )
    if agreement:
        section.tables.append(
            Table(
                "Largest relative difference from LibreOffice over the Solver objectives "
                f"({', '.join(str(a) for a in objectives.values())}):",
                ["engine", "max rel. diff"],
                agreement,
            )
        )
    if "full_compare" in lo:
        section.notes.append(lo["full_compare"])
    ours_t, lo_t = ours["recalc"], lo.get("recalc")
    if lo_t:
        section.headlines.append(
            f"Full recalculation of the Titanic workbook: {fmt_seconds(ours_t)} with our engine, "
            f"{fmt_seconds(lo_t)} with LibreOffice's calculateAll()."
        )
    section.data = {"rows": rows, "objectives": values, "agreement": agreement}
    return section


def _ours(path: Path, repeats: int) -> dict:
    from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
    from xl_lesson3.workbook.load import load_workbook

    start = time.perf_counter()
    model = load_workbook(path)
    load = time.perf_counter() - start
    start = time.perf_counter()
    values = evaluate_workbook(model)
    cold = time.perf_counter() - start
    best = (
        min(cold, best_of(lambda: evaluate_workbook(model), repeats - 1)) if repeats > 1 else cold
    )
    return {
        "row": [
            "xl-lesson3 (torch, CPU)",
            fmt_seconds(load),
            fmt_seconds(best),
            f"first call {fmt_seconds(cold)}",
        ],
        "values": values,
        "recalc": best,
        "model": model,
    }


def _ours_compiled(model, models: dict, repeats: int) -> list:
    """The three objectives through compiled programs: what each solver step evaluates."""
    import torch

    from xl_lesson3.formula.compile.program import compile_program

    programs = []
    start = time.perf_counter()
    for solver_model in models.values():
        program = compile_program(model, solver_model.objective, solver_model.variables)
        programs.append((program, program.initial.unsqueeze(0)))
    compile_s = time.perf_counter() - start

    def forward() -> None:
        with torch.no_grad():
            for program, params in programs:
                program(params)

    forward()
    best = best_of(forward, max(repeats, 3))
    return [
        "xl-lesson3 compiled objectives (forward)",
        fmt_seconds(compile_s),
        fmt_seconds(best),
        f"the {len(programs)} Solver objectives only, as each solver step computes them",
    ]


def _libreoffice_uno(path: Path, objectives: dict, repeats: int, ours: dict) -> dict:
    from benchmarks.libreoffice_uno import CalcSession, available

    reason = available()
    if reason:
        return {"row": ["LibreOffice (UNO calculateAll)", None, None, f"skipped: {reason}"]}
    with CalcSession(path, full_recalc=True) as session:
        session.recalculate()
        recalc = best_of(session.recalculate, repeats)
        found = {str(a): session.value(a) for a in objectives.values()}
        full_compare = _compare_all_cells(session, ours["model"], ours["values"])
        load = session.load_seconds
    return {
        "row": [
            "LibreOffice (UNO calculateAll)",
            fmt_seconds(load),
            fmt_seconds(recalc),
            "soffice already running, document loaded",
        ],
        "recalc": recalc,
        "objectives": found,
        "full_compare": full_compare,
    }


def _compare_all_cells(session, model, ours: dict) -> str:
    """Every numeric formula cell: our engine's value against LibreOffice's (one read per sheet)."""
    worst, count = 0.0, 0
    for sheet in model.sheet_names:
        formula_cells = [a for a in ours if a.sheet == sheet]
        if not formula_cells:
            continue
        used = model.used_range(sheet)
        block = session.block(used)
        for address in formula_cells:
            mine = ours[address]
            if isinstance(mine, bool) or not isinstance(mine, (int, float)):
                continue
            theirs = block[address.row - used.min_row][address.col - used.min_col]
            if not isinstance(theirs, float):
                continue
            worst = max(worst, _rel_diff(float(mine), theirs))
            count += 1
    return (
        f"Our engine against LibreOffice on all {count:,} numeric formula cells of the workbook: "
        f"largest relative difference {worst:.2e}."
    )


def _libreoffice_convert(path: Path) -> list:
    from benchmarks.libreoffice_uno import SOFFICE, convert_recalculated

    if SOFFICE is None:
        return ["LibreOffice (soffice --convert-to)", None, None, "skipped: soffice not installed"]
    with tempfile.TemporaryDirectory(prefix="xl3-bench-") as tmp:
        start = time.perf_counter()
        convert_recalculated(path, Path(tmp))
        total = time.perf_counter() - start
    return [
        "LibreOffice (soffice --convert-to)",
        None,
        fmt_seconds(total),
        "whole command: start soffice, load, recalculate, save .xlsx",
    ]


def _formulas(path: Path, objectives: dict) -> dict:
    label = "formulas (Python library)"
    if importlib.util.find_spec("formulas") is None:
        return {"row": [label, None, None, "could not load: not installed"]}
    import formulas

    try:
        start = time.perf_counter()
        xl = formulas.ExcelModel().loads(str(path)).finish()
        load = time.perf_counter() - start
        start = time.perf_counter()
        solution = xl.calculate()
        recalc = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001  (a library failing on our file is a finding)
        return {"row": [label, None, None, f"could not load: {_describe(exc)}"]}
    found = {}
    for address in objectives.values():
        key = f"'[{path.name}]{address.sheet.upper()}'!{address.coordinate}"
        cell = solution.get(key)
        found[str(address)] = _first_number(cell.value) if cell is not None else None
    return {
        "row": [label, fmt_seconds(load), fmt_seconds(recalc), "load includes compiling"],
        "objectives": found,
    }


def _pycel(path: Path, objectives: dict) -> dict:
    label = "pycel (Python library)"
    if importlib.util.find_spec("pycel") is None:
        return {"row": [label, None, None, f"could not load: {PYCEL_NOTE}"]}
    from pycel import ExcelCompiler

    try:
        start = time.perf_counter()
        compiler = ExcelCompiler(filename=str(path))
        load = time.perf_counter() - start
        start = time.perf_counter()
        found = {str(a): _first_number(compiler.evaluate(str(a))) for a in objectives.values()}
        recalc = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001  (a library failing on our file is a finding)
        return {"row": [label, None, None, f"could not load: {_describe(exc)}"]}
    return {
        "row": [label, fmt_seconds(load), fmt_seconds(recalc), "evaluates the objectives' inputs"],
        "objectives": found,
    }


def _describe(exc: Exception) -> str:
    """One line for a library's exception (`formulas` keeps a %-template in args[0])."""
    args = exc.args
    text = str(exc)
    if len(args) >= 2 and isinstance(args[0], str) and "%s" in args[0]:
        try:
            text = args[0] % args[1:]
        except TypeError:
            pass
    return f"{type(exc).__name__}: {' '.join(text.split())}"[:200]


def _first_number(value) -> float | None:
    while hasattr(value, "__len__") and not isinstance(value, str):
        if len(value) == 0:
            return None
        value = value[0] if not hasattr(value, "ravel") else value.ravel()[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300) if a != b else 0.0


def _max_rel_diff(found: dict, reference: dict) -> float | None:
    diffs = []
    for key, ref in reference.items():
        value = found.get(key)
        if value is None or ref is None:
            return math.nan
        diffs.append(_rel_diff(float(value), float(ref)))
    return max(diffs) if diffs else None
