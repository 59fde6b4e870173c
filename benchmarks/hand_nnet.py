"""The floor for the quick start: the Titanic nnet sheet trained by a hand-written torch script.

``python benchmarks/hand_nnet.py BOOK [--restarts 256] [--steps 200] [--json]`` does what
``xl-lesson3 solve BOOK --sheet nnet --restarts 256`` does, minus the spreadsheet engine: it reads
the sheet's inputs and targets as the values Excel cached in the file (openpyxl, read-only), and
trains a hand-written objective, ``mean((relu(X·W1) + relu(X·W2) - y)²)`` over (restarts, 2, 10)
weights. To be an honest floor it uses the same optimiser (`xl_lesson3.solver.lbfgs.LBFGS`, the
same defaults), the same loop and stopping rule (`fit_like_solve`: the callbacks `solve` uses),
the same random starts (`initial_points`, same seed) and one torch thread, as the CLI does. It
writes no workbook. `benchmarks.end_to_end` runs it beside the CLI and prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

# The nnet sheet's layout (xl_lesson3.titanic.layout), spelled out so the script stands alone.
SHEET = "nnet"
FIRST_DATA_ROW = 6
TARGET_COL = 1  # A: Survived
FIRST_INPUT_COL, LAST_INPUT_COL = 7, 16  # G:P, the 10 inputs
PARAM_ROWS = (2, 3)  # G2:P3, the two hidden units' weights


def read_sheet(path: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs (n, 10), targets (n,), initial weights (20,)) from the sheet's cached values."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = book[SHEET]
        params = [
            float(v)
            for row in ws.iter_rows(
                min_row=PARAM_ROWS[0],
                max_row=PARAM_ROWS[-1],
                min_col=FIRST_INPUT_COL,
                max_col=LAST_INPUT_COL,
                values_only=True,
            )
            for v in row
        ]
        inputs, targets = [], []
        for row in ws.iter_rows(min_row=FIRST_DATA_ROW, max_col=LAST_INPUT_COL, values_only=True):
            if row[TARGET_COL - 1] is None:
                break
            targets.append(float(row[TARGET_COL - 1]))
            inputs.append([float(v) for v in row[FIRST_INPUT_COL - 1 : LAST_INPUT_COL]])
    finally:
        book.close()
    dtype = torch.float64
    return (
        torch.tensor(inputs, dtype=dtype),
        torch.tensor(targets, dtype=dtype),
        torch.tensor(params, dtype=dtype),
    )


def nnet_objective(inputs: torch.Tensor, targets: torch.Tensor):
    """The hand-written loss: params (restarts, 20) → (restarts,) mean squared error."""
    n_rows = inputs.shape[0]
    inputs_t = inputs.T.contiguous()  # (10, n)

    def objective(params: torch.Tensor) -> torch.Tensor:
        restarts = params.shape[0]
        hidden = (params.reshape(restarts * 2, 10) @ inputs_t).view(restarts, 2, n_rows)
        prediction = hidden.clamp_min(0).sum(1)  # (restarts, n)
        return (prediction - targets).square().mean(1)

    return objective


def fit_like_solve(objective, start: torch.Tensor, steps: int = 200):
    """Run `objective` through the loop `xl_lesson3.solver.solve` runs for L-BFGS: the same
    method, callbacks (bounds, best point, divergence, history, early stopping) and tolerance.

    Returns (best loss, best restart, steps done, objective evaluations)."""
    from xl_lesson3.solver.api import DEFAULT_TOL, DEFAULTS
    from xl_lesson3.solver.callbacks import (
        Divergence,
        EarlyStopping,
        History,
        ProjectBounds,
        TrackBest,
    )
    from xl_lesson3.solver.gradient import make_method
    from xl_lesson3.solver.loop import Fit

    n_vars = start.shape[1]
    infinite = torch.full((n_vars,), math.inf, dtype=start.dtype)
    bounds = ProjectBounds(-infinite, infinite)
    defaults = DEFAULTS["lbfgs"]
    callbacks = [bounds, TrackBest(), Divergence(), History()]
    callbacks.append(EarlyStopping(DEFAULT_TOL, defaults.patience))
    calls = [0]

    def counted(params: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        return objective(params)

    method = make_method(
        "lbfgs", defaults.lr, steps, DEFAULT_TOL, bounds.project, defaults.patience
    )
    fit = Fit(counted, start, method, steps, callbacks).run()
    best = fit.callback(TrackBest)
    return float(best.loss.min()), best.best_restart, fit.steps_done, calls[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", type=Path)
    parser.add_argument("--restarts", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from xl_lesson3.solver.api import initial_points

    torch.set_num_threads(1)
    started = time.perf_counter()
    inputs, targets, initial = read_sheet(args.book)
    read_s = time.perf_counter() - started
    infinite = torch.full_like(initial, math.inf)
    start = initial_points(initial, args.restarts, -infinite, infinite, args.seed)
    started = time.perf_counter()
    loss, best, steps, calls = fit_like_solve(nnet_objective(inputs, targets), start, args.steps)
    loop_s = time.perf_counter() - started
    result = {
        "loss": loss,
        "best_restart": best,
        "steps": steps,
        "evaluations": calls,
        "read_seconds": read_s,
        "loop_seconds": loop_s,
        "rows": int(inputs.shape[0]),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{SHEET}: loss {loss:.10g} (restart {best}), {steps} steps, {loop_s:.2f} s loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
