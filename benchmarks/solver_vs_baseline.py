"""Our solver against a Solver-style baseline on the Titanic `linear` and `nnet` sheets.

Both start from the workbook's own parameters. The baseline does what Excel's GRG Nonlinear does —
forward-difference gradients, one spreadsheet recalculation per probe — on LibreOffice Calc
through UNO, with `scipy.optimize.minimize(method="L-BFGS-B")` choosing the steps
(`benchmarks.fd_baseline`). Ours is `xl_lesson3.solver.solve` with its default settings for Adam
and L-BFGS, 1 and 16 restarts (restart 0 is the workbook's start). For `linear` the least-squares
optimum (numpy `lstsq`) is the floor no method can beat.

The speed ratio compares the time each needed to first reach the baseline's final loss (ours:
within a relative 1e-6 of it): the baseline's optimiser time (soffice start and file load
excluded) over our time from calling `solve` on the loaded workbook (compilation included).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import BenchConfig
from benchmarks.fd_baseline import BaselineResult, fd_lbfgs_baseline, first_time_at_or_below
from benchmarks.report import Section, Table, fmt_seconds
from benchmarks.workbooks import solver_models, titanic_path

SHEETS = ("linear", "nnet")
METHODS = ("adam", "lbfgs")
RESTARTS = (1, 16)
REACH_RTOL = 1e-6  # "reached the baseline's loss": within this relative margin
EXACT_TARGET_RATIO = 1000  # issue 16: exact least squares vs the baseline, reading included
# Optimiser time the baseline may spend per sheet (it stops earlier when L-BFGS-B converges).
BASELINE_SECONDS = {"tiny": 3.0, "quick": 25.0, "full": 900.0}
# Wall time one run of ours may take (it stops earlier at its own convergence test or step limit).
OURS_SECONDS = {"tiny": 10.0, "quick": 8.0, "full": 300.0}


def run(config: BenchConfig) -> Section:
    from xl_lesson3.workbook.load import load_workbook

    section = Section(
        "solver", "Solver: gradient descent through the sheet vs. Solver-style finite differences"
    )
    path = titanic_path(config)
    start = time.perf_counter()
    workbook = load_workbook(path)
    load_s = time.perf_counter() - start
    models = solver_models(workbook)
    data: dict = {"workbook": str(path.name), "load_seconds": load_s, "sheets": {}}
    for sheet in SHEETS:
        sheet_data = _run_sheet(config, path, workbook, models[sheet])
        sheet_data["load_seconds"] = load_s
        data["sheets"][sheet] = sheet_data
        section.tables.append(_sheet_table(sheet, sheet_data))
        headline = _headline(sheet, sheet_data)
        if headline:
            section.headlines.append(headline)
    section.notes.append(
        f"Baseline: LibreOffice {_lo_version()} through UNO, automatic recalculation off, one "
        "`calculate()` per probe (it recomputes every formula that depends on the changed cell, "
        "as Excel does after a change; `calculateAll()` would also recompute the workbook's "
        "other sheets), forward differences with step √ε·max(1,|x|), scipy L-BFGS-B with its "
        "default tolerances. Its time excludes starting soffice and loading the file "
        f"(we load the workbook once, {fmt_seconds(load_s)}, excluded from 'speed ratio' and "
        "added to ours in 'ratio incl. reading'). Our time includes compiling the sheet. 'steps' for ours are batched optimiser steps (all restarts at "
        "once); L-BFGS steps may evaluate the program more than once."
    )
    section.data = data
    return section


def _run_sheet(config: BenchConfig, path, workbook, solver_model) -> dict:
    from benchmarks.libreoffice_uno import available

    x0 = [_number(workbook.cell(c)) for c in solver_model.variables]
    out: dict = {
        "objective": str(solver_model.objective),
        "n_params": len(x0),
        "ours": [],
    }
    if solver_model.sheet == "linear":
        out["lstsq_floor"] = _lstsq_floor(workbook)
    reason = available()
    if reason:
        out["baseline_error"] = f"skipped: {reason}"
    else:
        baseline = fd_lbfgs_baseline(
            path,
            solver_model.objective,
            solver_model.changing,
            x0,
            max_seconds=BASELINE_SECONDS[config.mode],
        )
        out["baseline"] = _baseline_dict(baseline)
        out["probe_seconds"] = baseline.probe_seconds
    target = out.get("baseline", {}).get("final_loss")
    # Warm-up (not timed): first-call costs of torch and the engine, as soffice's start is
    # not timed for the baseline.
    _run_ours(config, workbook, solver_model, "adam", 1, None, steps=1)
    for method in METHODS:
        for restarts in RESTARTS:
            out["ours"].append(_run_ours(config, workbook, solver_model, method, restarts, target))
    if solver_model.sheet == "linear":
        out["exact"] = _exact_least_squares(path, solver_model, out.get("baseline"))
    return out


def _exact_least_squares(path, solver_model, baseline: dict | None) -> dict:
    """The GRG engine's own choice on a quadratic objective (one exact Newton step), timed as a
    user waits for it: reading the file as `solve` does (only the sheets the model needs,
    nothing cached from earlier reads), planning and compiling, solving.

    Issue 16 asks for ≥ 1000× the baseline's time to its final loss, counting all of it.
    """
    from xl_lesson3.solver import solve
    from xl_lesson3.solver.problem import load, sheets_needed
    from xl_lesson3.workbook import archive

    archive._checked.clear()  # a fresh process checks the archive again
    start = time.perf_counter()
    # what `solve(path, ...)` reads: the model's sheet and the sheets its formulas refer to
    workbook = load(path, sheets_needed(solver_model.objective, solver_model.changing, None))
    read = time.perf_counter() - start
    result = solve(
        workbook,
        objective=solver_model.objective,
        changing=list(solver_model.changing),
        goal="min",
        device="cpu",
    )
    found = {
        "engine": result.method,
        "final_loss": result.final,
        "read_seconds": read,
        "solve_seconds": result.seconds,  # planning, compiling, the Newton step and its check
        "seconds": read + result.seconds,
    }
    if baseline and baseline.get("time_to_final"):
        base = baseline["time_to_final"]
        found["reached"] = result.final <= baseline["final_loss"] * (1 + REACH_RTOL) + 1e-15
        found["ratio"] = base / found["seconds"] if found["reached"] else None
        found["ratio_solve_only"] = base / result.seconds if found["reached"] else None
        found["needed_seconds"] = base / EXACT_TARGET_RATIO
    return found


def _exact_verdict(exact: dict) -> str:
    """One sentence: the exact least-squares ratio against the ≥ 1000× target, and why not."""
    ratio = exact.get("ratio")
    if ratio is None:
        return "exact least squares: no baseline time to compare with"
    text = (
        f"exact least squares ({exact['engine']}) reaches the floor in "
        f"{fmt_seconds(exact['seconds'])} counting reading ({fmt_seconds(exact['read_seconds'])})"
        f" and compiling + solving ({fmt_seconds(exact['solve_seconds'])}): {_times(ratio)} the "
        f"baseline ({_times(exact['ratio_solve_only'])} without reading)"
    )
    if ratio >= EXACT_TARGET_RATIO:
        return text + f", target ≥ {EXACT_TARGET_RATIO:,}× met"
    return text + (
        f"; the ≥ {EXACT_TARGET_RATIO:,}× target is not met: it would need all of ours within "
        f"{fmt_seconds(exact['needed_seconds'])}, while reading the file takes "
        f"{fmt_seconds(exact['read_seconds'])} and planning + compiling + the Newton step "
        f"{fmt_seconds(exact['solve_seconds'])} (the baseline needs only a few hundred "
        "recalculations of this small sheet)"
    )


def _number(cell) -> float:
    return float(cell.value) if cell is not None and cell.value is not None else 0.0


def _run_ours(config, workbook, solver_model, method, restarts, target, steps=None) -> dict:
    from xl_lesson3.solver import CancelFit, solve

    timeline: list[tuple[float, float]] = []
    budget = OURS_SECONDS[config.mode]
    if steps is None:  # the solver's defaults, except in the smoke test
        steps = {"tiny": {"adam": 30, "lbfgs": 10}}.get(config.mode, {}).get(method)

    def record(progress) -> None:
        elapsed = time.perf_counter() - start
        timeline.append((elapsed, progress.objective))
        if elapsed > budget:
            raise CancelFit(f"stopped: time budget of {budget:g} s spent")

    start = time.perf_counter()
    result = solve(
        workbook,
        objective=solver_model.objective,
        changing=list(solver_model.changing),
        goal="min",
        method=method,
        restarts=restarts,
        seed=0,
        device="cpu",
        steps=steps,
        callback=record,
    )
    reach = None
    if target is not None:
        reach = first_time_at_or_below(timeline, target * (1 + REACH_RTOL) + 1e-15)
    return {
        "method": method,
        "restarts": restarts,
        "final_loss": result.final,
        "seconds": result.seconds,
        "steps": result.iterations,
        "status": result.status,
        "time_to_baseline": reach,
        "curve": _thin(timeline),
    }


def _baseline_dict(result: BaselineResult) -> dict:
    return {
        "initial_loss": result.initial_loss,
        "final_loss": result.final_loss,
        "seconds": result.seconds,
        "startup_seconds": result.startup_seconds,
        "recalculations": result.recalculations,
        "iterations": result.iterations,
        "seconds_per_recalc": result.seconds_per_recalc,
        "status": result.status,
        "time_to_final": result.time_to_reach(result.final_loss),
        "curve": _thin(result.history),
    }


def _lstsq_floor(workbook) -> dict:
    """The least-squares optimum of the linear sheet: MSE of numpy lstsq on its inputs block."""
    from xl_lesson3.formula.evaluate.recalc import evaluate_cells
    from xl_lesson3.titanic.layout import FIRST_DATA_ROW, FIRST_INPUT_COL, LAST_INPUT_COL
    from xl_lesson3.workbook.address import RangeAddress

    table = workbook.tables["linear_data"]
    last = table.last_data_row
    inputs, survived = evaluate_cells(
        workbook,
        [
            RangeAddress("linear", FIRST_DATA_ROW, FIRST_INPUT_COL, last, LAST_INPUT_COL),
            RangeAddress("linear", FIRST_DATA_ROW, 1, last, 1),
        ],
    )
    x = np.asarray(inputs, dtype=float)  # (n_rows, 10)
    y = np.asarray(survived, dtype=float)[:, 0]
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return {"mse": float(np.mean((x @ coef - y) ** 2)), "rows": int(x.shape[0])}


def _thin(curve, points: int = 40) -> list[tuple[float, float]]:
    """At most `points` (seconds, loss) pairs, evenly spaced by index, last kept."""
    if len(curve) <= points:
        return list(curve)
    stride = len(curve) / points
    picked = [curve[int(i * stride)] for i in range(points)]
    return [*picked, curve[-1]]


def _ratio(data: dict, ours: dict, with_reading: bool = False) -> float | None:
    """Baseline time over ours to the baseline's loss; `with_reading` adds our reading of the
    workbook to ours (compiling is always in it), as a user running the CLI waits for both."""
    base = data.get("baseline", {}).get("time_to_final")
    if base is None or not ours["time_to_baseline"]:
        return None
    reading = data.get("load_seconds", 0.0) if with_reading else 0.0
    return base / (ours["time_to_baseline"] + reading)


def _sheet_table(sheet: str, data: dict) -> Table:
    rows = []
    base = data.get("baseline")
    if base:
        rows.append(
            [
                "LibreOffice FD + L-BFGS-B",
                1,
                base["final_loss"],
                fmt_seconds(base["seconds"]),
                f"{base['recalculations']:,} recalcs",
                fmt_seconds(base["time_to_final"]),
                "1×",
                "1×",
                base["status"],
            ]
        )
    else:
        rows.append(
            [
                "LibreOffice FD + L-BFGS-B",
                1,
                None,
                None,
                None,
                None,
                None,
                None,
                data.get("baseline_error"),
            ]
        )
    for ours in data["ours"]:
        ratio = _ratio(data, ours)
        rows.append(
            [
                f"xl-lesson3 {ours['method']}",
                ours["restarts"],
                ours["final_loss"],
                fmt_seconds(ours["seconds"]),
                f"{ours['steps']:,} steps",
                fmt_seconds(ours["time_to_baseline"])
                if ours["time_to_baseline"]
                else "not reached",
                _times(ratio),
                _times(_ratio(data, ours, with_reading=True)),
                ours["status"],
            ]
        )
    if "exact" in data:
        exact = data["exact"]
        rows.append(
            [
                f"xl-lesson3 {exact['engine']} (GRG default), read + solve",
                1,
                exact["final_loss"],
                fmt_seconds(exact["seconds"]),
                f"read {fmt_seconds(exact['read_seconds'])}",
                fmt_seconds(exact["seconds"]) if exact.get("reached") else "not reached",
                _times(exact.get("ratio_solve_only")),
                _times(exact.get("ratio")),
                "exact least squares",
            ]
        )
    if "lstsq_floor" in data:
        floor = data["lstsq_floor"]
        rows.append(
            [
                "numpy lstsq (floor)",
                None,
                floor["mse"],
                None,
                None,
                None,
                None,
                None,
                f"exact least squares on {floor['rows']}×10 inputs",
            ]
        )
    probes = data.get("probe_seconds", {})
    caption = f"`{sheet}` sheet: minimise {data['objective']} over {data['n_params']} parameters"
    if base:
        caption += (
            f"; the baseline starts from loss {base['initial_loss']:.6g}, "
            f"{fmt_seconds(base['seconds_per_recalc'])} per probe in the run; a probe costs "
            f"{fmt_seconds(probes.get('calculate'))} with calculate(), "
            f"{fmt_seconds(probes.get('calculateAll'))} with calculateAll()"
        )
    return Table(
        caption + ":",
        [
            "method",
            "restarts",
            "final loss",
            "wall time",
            "work",
            "time to baseline's loss",
            "speed ratio",
            "ratio incl. reading",
            "status",
        ],
        rows,
    )


def _times(ratio: float | None) -> str | None:
    if ratio is None:
        return None
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.2g}×"


def _headline(sheet: str, data: dict) -> str | None:
    base = data.get("baseline")
    if not base:
        return None
    text = (
        f"Titanic `{sheet}`: the Solver-style baseline (finite differences on LibreOffice, "
        f"{base['recalculations']:,} recalculations) reaches loss {base['final_loss']:.6g} in "
        f"{fmt_seconds(base['time_to_final'])}"
    )
    for restarts, label in ((1, "from the same start"), (max(RESTARTS), "with")):
        runs = [o for o in data["ours"] if o["restarts"] == restarts and _ratio(data, o)]
        if not runs:
            text += f"; xl-lesson3 with {restarts} restart(s) does not reach it"
            continue
        best = max(runs, key=lambda o: _ratio(data, o))
        where = label if restarts == 1 else f"{label} {restarts} restarts"
        text += (
            f"; {where}, xl-lesson3 {best['method']} gets there in "
            f"{fmt_seconds(best['time_to_baseline'])} ({_times(_ratio(data, best))} faster, "
            f"{_times(_ratio(data, best, with_reading=True))} counting our reading of the file)"
        )
    lowest = min(data["ours"], key=lambda o: o["final_loss"])
    text += (
        f"; our lowest loss {lowest['final_loss']:.6g} ({lowest['method']}, "
        f"{lowest['restarts']} restart{'s' if lowest['restarts'] > 1 else ''})"
    )
    if "lstsq_floor" in data:
        text += f"; least-squares floor {data['lstsq_floor']['mse']:.7g}"
    if "exact" in data:
        text += "; " + _exact_verdict(data["exact"])
    return text + "."


def _lo_version() -> str:
    from benchmarks.libreoffice_uno import soffice_version

    version = soffice_version() or "LibreOffice"
    return version.removeprefix("LibreOffice ").strip()
