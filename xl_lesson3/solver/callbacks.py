"""The small callbacks the solver loop is made of, in the order they run.

Orders: bounds (10) project first so every later callback sees feasible parameters; best-point
tracking (20) and history (25) record what a step found before divergence handling (30) may
freeze a restart or end the run; early stopping (40) looks at the tracked bests; progress (70)
only reports.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import torch

from xl_lesson3.solver.loop import Callback, CancelFit, Fit


class ProjectBounds(Callback):
    """Clamp every restart into the box ``lower <= x <= upper`` before the run and after each step."""

    order = 10

    def __init__(self, lower: torch.Tensor, upper: torch.Tensor) -> None:
        self.lower = lower  # (n_vars,)
        self.upper = upper

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, self.lower, self.upper)

    def _apply(self, fit: Fit) -> None:
        with torch.no_grad():
            fit.params.copy_(self.project(fit.params))

    def before_fit(self, fit: Fit) -> None:
        self._apply(fit)

    def after_step(self, fit: Fit) -> None:
        self._apply(fit)


class TrackBest(Callback):
    """Keep, per restart, the lowest finite loss seen and the parameters that gave it."""

    order = 20

    def before_fit(self, fit: Fit) -> None:
        self.loss = torch.full(
            (fit.n_restarts,), math.inf, dtype=fit.params.dtype, device=fit.params.device
        )  # (restarts,)
        self.params = fit.params.detach().clone()  # (restarts, n_vars)
        self.step = torch.zeros(fit.n_restarts, dtype=torch.long, device=fit.params.device)

    def _offer(self, loss: torch.Tensor, params: torch.Tensor, step: int) -> None:
        better = torch.isfinite(loss) & (loss < self.loss)
        self.loss = torch.where(better, loss, self.loss)
        self.params = torch.where(better[:, None], params, self.params)
        self.step = torch.where(better, torch.full_like(self.step, step), self.step)

    def after_step(self, fit: Fit) -> None:
        self._offer(fit.loss, fit.evaluated, fit.step)

    def after_fit(self, fit: Fit) -> None:
        # The last update was never evaluated by the method: look at it once.
        with torch.no_grad():
            final = fit.objective(fit.params.detach())
        self._offer(final, fit.params.detach(), fit.steps_done)

    @property
    def best_restart(self) -> int:
        return int(torch.argmin(self.loss))


class Divergence(Callback):
    """Freeze restarts whose loss is NaN/inf (or exploded); stop when every restart has.

    A frozen restart goes back to its best point and stays there, so one exploding start does not
    end the others. `explode` treats a finite loss this many times larger than the starting
    scale as divergence too: with float64 a diverging SGD may need thousands of steps to reach inf.
    """

    order = 30

    def __init__(self, explode: float = 1e12) -> None:
        self.explode = explode
        self.first_step: int | None = None

    def before_fit(self, fit: Fit) -> None:
        self.frozen = torch.zeros(fit.n_restarts, dtype=torch.bool, device=fit.params.device)
        self.first_step = None
        self.scale: torch.Tensor | None = None

    def after_step(self, fit: Fit) -> None:
        loss = fit.loss
        if self.scale is None:
            self.scale = torch.where(torch.isfinite(loss), loss.abs(), 0.0) + 1.0
        bad = ~torch.isfinite(loss) | (loss.abs() > self.explode * self.scale)
        newly = bad & ~self.frozen
        if bool(newly.any()) and self.first_step is None:
            self.first_step = fit.step + 1  # counted from 1, as a student counts steps
        self.frozen |= bad
        if bool(self.frozen.any()):
            best = fit.callback(TrackBest)
            if best is not None:
                with torch.no_grad():
                    fit.params[self.frozen] = best.params[self.frozen]
        if bool(self.frozen.all()):
            raise CancelFit(f"diverged at step {self.first_step}, try a smaller learning rate")

    @property
    def n_frozen(self) -> int:
        return int(self.frozen.sum())


class EarlyStopping(Callback):
    """Stop when no restart improved its best loss by more than `tol` (relative) in `patience` steps.

    Relative to ``max(1, |loss|)``, so a loss near zero is judged on an absolute scale.
    """

    order = 40

    def __init__(self, tol: float, patience: int) -> None:
        self.tol = tol
        self.patience = patience

    def before_fit(self, fit: Fit) -> None:
        self.window: deque[torch.Tensor] = deque(maxlen=self.patience + 1)

    def after_step(self, fit: Fit) -> None:
        best = fit.callback(TrackBest)
        if best is None or self.tol <= 0:
            return
        self.window.append(best.loss.clone())
        if len(self.window) <= self.patience:
            return
        old, new = self.window[0], self.window[-1]
        finite = torch.isfinite(new)
        gain = torch.where(
            finite & torch.isfinite(old), old - new, torch.where(finite, math.inf, 0.0)
        )
        divergence = fit.callback(Divergence)
        if divergence is not None:
            gain = torch.where(divergence.frozen, 0.0, gain)
        if bool((gain <= self.tol * new.abs().clamp_min(1.0)).all()):
            raise CancelFit(
                f"converged at step {fit.step + 1} (no gain above tol={self.tol:g} "
                f"in {self.patience} steps)"
            )


class History(Callback):
    """The lowest loss over live restarts at each step (what a loss curve plots)."""

    order = 25  # before anything that may cancel the run, so every step taken is recorded

    def before_fit(self, fit: Fit) -> None:
        self._losses: list[torch.Tensor] = []

    def after_step(self, fit: Fit) -> None:
        loss = torch.where(torch.isfinite(fit.loss), fit.loss, math.inf)
        self._losses.append(loss.min())

    @property
    def losses(self) -> list[float]:
        if not self._losses:
            return []
        return torch.stack(self._losses).tolist()


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each step.

    `objective` is the best value of the objective cell so far (in the cell's own units, also for
    a maximisation); for a "value of" goal it is the best distance ``|objective - target|``.
    """

    step: int
    max_steps: int
    objective: float
    restarts: int
    frozen: int


class ReportProgress(Callback):
    """Call a user function with a `Progress` after each step; it may raise `CancelFit`."""

    order = 70

    def __init__(
        self, report: Callable[[Progress], object], to_objective: Callable[[float], float]
    ) -> None:
        self.report = report
        self.to_objective = to_objective

    def after_step(self, fit: Fit) -> None:
        best = fit.callback(TrackBest)
        divergence = fit.callback(Divergence)
        best_loss = float(best.loss.min()) if best is not None else float(fit.loss.min())
        self.report(
            Progress(
                step=fit.step + 1,
                max_steps=fit.max_steps,
                objective=self.to_objective(best_loss),
                restarts=fit.n_restarts,
                frozen=divergence.n_frozen if divergence is not None else 0,
            )
        )
