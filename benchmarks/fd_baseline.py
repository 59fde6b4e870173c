"""The Solver-style baseline: finite-difference gradients over a real spreadsheet recalculation.

Excel's GRG Nonlinear estimates each gradient by forward differences: it nudges one changing cell,
recalculates the sheet, reads the objective, and puts the cell back, once per changing cell. We do
the same on LibreOffice Calc through UNO (one full `calculateAll()` per probe) and let
`scipy.optimize.minimize(method="L-BFGS-B")` choose the steps, so the only difference from our
solver is how the objective and its gradient are computed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from benchmarks.libreoffice_uno import CalcSession
from xl_lesson3.workbook.address import CellAddress, RangeAddress

# Forward-difference step relative to the parameter's size: sqrt(machine epsilon) balances
# truncation error against the rounding error of the recalculated objective.
REL_STEP = math.sqrt(np.finfo(float).eps)


@dataclass
class BaselineResult:
    """One baseline run. history holds (seconds since the optimiser started, loss) at each point
    the optimiser evaluated (not the probes); seconds excludes starting soffice and loading."""

    initial_loss: float
    final_loss: float
    seconds: float
    recalculations: int
    iterations: int
    n_params: int
    status: str
    startup_seconds: float
    history: list[tuple[float, float]] = field(default_factory=list)
    best_x: list[float] = field(default_factory=list)
    probe_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def seconds_per_recalc(self) -> float:
        return self.seconds / max(self.recalculations, 1)

    def time_to_reach(self, target: float) -> float | None:
        """Seconds until the loss first was ≤ target, or None."""
        return first_time_at_or_below(self.history, target)


def first_time_at_or_below(history: Sequence[tuple[float, float]], target: float) -> float | None:
    """The first time in (seconds, loss) pairs at which loss ≤ target, or None."""
    for seconds, loss in history:
        if loss <= target:
            return seconds
    return None


class _OutOfTime(Exception):
    """Raised inside the objective when the time budget is spent."""


class _SheetObjective:
    """f(x) and its forward-difference gradient on a live LibreOffice document."""

    def __init__(
        self,
        session: CalcSession,
        objective: CellAddress,
        changing: Sequence[RangeAddress],
        max_seconds: float,
    ):
        self.session = session
        self.objective = objective
        self.changing = list(changing)
        self.sizes = [rng.size for rng in self.changing]
        self.max_seconds = max_seconds
        self.start = time.perf_counter()
        self.history: list[tuple[float, float]] = []
        self.best = (math.inf, None)

    def evaluate(self, x: np.ndarray) -> float:
        """Write x into the changing cells (row by row, range by range), recalculate, read."""
        offset = 0
        for rng, size in zip(self.changing, self.sizes):
            rows, cols = rng.shape
            block = np.asarray(x[offset : offset + size], dtype=float).reshape(rows, cols)
            self.session.set_block(rng, block.tolist())
            offset += size
        self.session.recalculate()
        return self.session.value(self.objective)

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        elapsed = time.perf_counter() - self.start
        if elapsed > self.max_seconds:
            raise _OutOfTime
        fx = self.evaluate(x)
        self.history.append((time.perf_counter() - self.start, fx))
        if fx < self.best[0]:
            self.best = (fx, np.array(x, dtype=float))
        grad = np.empty_like(x, dtype=float)
        probe = np.array(x, dtype=float)
        for i in range(len(x)):
            h = REL_STEP * max(1.0, abs(x[i]))
            probe[i] = x[i] + h
            grad[i] = (self.evaluate(probe) - fx) / h
            probe[i] = x[i]
        return fx, grad


def fd_lbfgs_baseline(
    path: Path,
    objective: CellAddress,
    changing: Sequence[RangeAddress],
    x0: Sequence[float],
    *,
    max_seconds: float = 120.0,
    max_iterations: int = 15_000,
) -> BaselineResult:
    """Minimise `objective` over `changing` (x0 row by row, range by range) with L-BFGS-B on
    forward-difference gradients, each probe one full LibreOffice recalculation.

    Stops at scipy's convergence tests, after max_iterations, or when max_seconds of optimiser time
    are spent (then the best point seen is reported). soffice always ends with the call.
    """
    x0 = np.asarray(x0, dtype=float)
    n_params = sum(rng.size for rng in changing)
    if x0.shape != (n_params,):
        raise ValueError(f"x0 has {x0.size} values for {n_params} changing cells")
    opened = time.perf_counter()
    with CalcSession(path) as session:
        sheet = _SheetObjective(session, objective, changing, max_seconds)
        initial = sheet.evaluate(x0)
        session.recalculations = 0
        startup = time.perf_counter() - opened
        sheet.start = time.perf_counter()
        iterations = [0]

        def count_iteration(_xk: np.ndarray) -> None:
            iterations[0] += 1

        try:
            result = minimize(
                sheet.value_and_grad,
                x0,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": max_iterations, "maxfun": 10 * max_iterations},
                callback=count_iteration,
            )
            status = str(result.message)
        except _OutOfTime:
            status = f"stopped: time budget of {max_seconds:g} s spent"
        seconds = time.perf_counter() - sheet.start
        recalculations = session.recalculations
        final_loss, best_x = sheet.best
        probe_seconds = _probe_costs(sheet, x0 if best_x is None else best_x)
    return BaselineResult(
        initial_loss=initial,
        final_loss=final_loss,
        seconds=seconds,
        recalculations=recalculations,
        iterations=iterations[0],
        n_params=n_params,
        status=status,
        startup_seconds=startup,
        history=sheet.history,
        best_x=[] if best_x is None else best_x.tolist(),
        probe_seconds=probe_seconds,
    )


def _probe_costs(sheet: _SheetObjective, x: np.ndarray, probes: int = 10) -> dict[str, float]:
    """Mean seconds of one probe (write the parameters, recalculate, read the objective) with
    `calculate()` and with `calculateAll()`, measured after the run in the same session."""
    session = sheet.session
    costs = {}
    for name, full in (("calculate", False), ("calculateAll", True)):
        session.full_recalc = full
        start = time.perf_counter()
        for i in range(probes):
            probe = np.array(x, dtype=float)
            probe[i % len(probe)] += REL_STEP * (i + 1)
            sheet.evaluate(probe)
        costs[name] = (time.perf_counter() - start) / probes
    session.full_recalc = False
    return costs
