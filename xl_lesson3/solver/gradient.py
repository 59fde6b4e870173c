"""The GRG Nonlinear engine's replacement: gradient methods over all restarts at once.

Bounds are enforced by projection (`ProjectBounds`). Constraints on formula cells are enforced by
an augmented Lagrangian, batched like everything else: each restart carries its own multipliers
``lam`` (restarts, n_rows) and penalty ``rho`` (restarts,), and each outer iteration runs one
ordinary `Fit` of the loss

    f(x) + sum_ineq (max(0, lam + rho g)^2 - lam^2) / (2 rho) + sum_eq (lam g + rho g^2 / 2)

(Rockafellar's form, so an inequality that is slack costs nothing and has no kink), then updates
``lam`` from the constraint values and multiplies ``rho`` by 10 for the restarts whose worst
violation did not shrink by a factor of 4. It stops when every restart is feasible within
Excel's precision and the multipliers settled, or after `OUTER_ITERATIONS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from xl_lesson3.solver.callbacks import (
    Divergence,
    EarlyStopping,
    History,
    Progress,
    ProjectBounds,
    ReportProgress,
    TrackBest,
)
from xl_lesson3.solver.context import Context
from xl_lesson3.solver.lbfgs import LBFGS
from xl_lesson3.solver.loop import Callback, CancelFit, Fit
from xl_lesson3.solver.methods import SGD, Adam, Method

OUTER_ITERATIONS = 20
RHO_START = 10.0
RHO_MAX = 1e10


@dataclass
class EngineRun:
    """What an engine hands back: candidate points and how the run went.

    `candidates` (k, n_vars): the points to choose the answer from (one per restart, or the
    engine's single answer). `code`: an Excel outcome code the engine decided (LP infeasible,
    unbounded), else None and the caller decides from `status`. `exact`: the engine solved the
    problem exactly (LP, a quadratic's Newton step): optimality holds by construction.
    """

    candidates: torch.Tensor
    status: str
    iterations: int
    method: str
    lr: float | None = None
    history: list[float] = field(default_factory=list)
    code: int | None = None
    exact: bool = False
    frozen: int = 0


class TimeLimit(Callback):
    """End the run at the context's deadline (Excel's Max Time, ``solver_tim``)."""

    order = 35

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def after_step(self, fit: Fit) -> None:
        if time.perf_counter() >= self.deadline:
            raise CancelFit("stopped at the time limit")


def make_method(name: str, lr: float, steps: int, tol: float, project, patience: int) -> Method:
    """The method object for `name` ("sgd", "adam", "lbfgs")."""
    if name == "sgd":
        return SGD(lr)
    if name == "adam":
        return Adam(lr, steps)
    return LBFGS(lr, project=project, tol=tol, patience=patience)


@dataclass
class GradientSettings:
    """The gradient engine's knobs, resolved by `solve`."""

    method: str
    lr: float
    steps: int
    tol: float
    patience: int
    callback: Callable[[Progress], object] | None = None
    # > 1: torch's threads were raised for big tensors; `ThreadGovernor` lowers them while
    # another process takes a core
    parallel_threads: int = 1


def _fit(ctx: Context, loss, start: torch.Tensor, settings: GradientSettings) -> Fit:
    bounds_cb = ProjectBounds(ctx.lower, ctx.upper)
    callbacks = [bounds_cb, TrackBest(), Divergence(), History(), TimeLimit(ctx.deadline)]
    if settings.tol > 0:
        callbacks.append(EarlyStopping(settings.tol, settings.patience))
    if settings.callback is not None:
        callbacks.append(ReportProgress(settings.callback, ctx.to_shown))
    if settings.parallel_threads > 1:
        from xl_lesson3.solver.threads import ThreadGovernor

        callbacks.append(ThreadGovernor(settings.parallel_threads))
    method = make_method(
        settings.method,
        settings.lr,
        settings.steps,
        settings.tol,
        bounds_cb.project,
        settings.patience,
    )
    return Fit(loss, start, method, settings.steps, callbacks).run()


def run_gradient(ctx: Context, start: torch.Tensor, settings: GradientSettings) -> EngineRun:
    """Minimise the loss from every row of `start` (restarts, n_vars)."""
    if len(ctx.rows):
        return _augmented_lagrangian(ctx, start, settings)
    fit = _fit(ctx, ctx.loss, start, settings)
    best = fit.callback(TrackBest)
    divergence = fit.callback(Divergence)
    return EngineRun(
        candidates=best.params,
        status=fit.status,
        iterations=fit.steps_done,
        method=settings.method,
        lr=settings.lr,
        history=[ctx.to_shown(loss) for loss in fit.callback(History).losses],
        frozen=divergence.n_frozen,
    )


def _penalty(g: torch.Tensor, lam: torch.Tensor, rho: torch.Tensor, eq: torch.Tensor):
    """(batch,) the augmented-Lagrangian term for rows `g` (batch, n_rows)."""
    rho = rho[:, None]
    inequality = (torch.clamp_min(lam + rho * g, 0.0) ** 2 - lam**2) / (2 * rho)
    equality = lam * g + rho * g**2 / 2
    return torch.where(eq, equality, inequality).sum(dim=1)


def _augmented_loss(ctx: Context, lam: torch.Tensor, rho: torch.Tensor, eq: torch.Tensor):
    """The loss of one outer iteration, with its multipliers and penalties fixed."""

    def loss(params: torch.Tensor) -> torch.Tensor:
        measured = ctx.measure(params)
        g = ctx.rows.g(measured.lhs, measured.rhs)
        return measured.loss + _penalty(g, lam, rho, eq)

    return loss


def _augmented_lagrangian(ctx: Context, start: torch.Tensor, settings: GradientSettings):
    rows = ctx.rows
    eq = rows.equality.to(start.device)
    n_restarts = start.shape[0]
    lam = start.new_zeros((n_restarts, len(rows)))  # (restarts, n_rows)
    rho = start.new_full((n_restarts,), RHO_START)
    x = start
    worst_before = None
    iterations, history, status, frozen = 0, [], "finished", 0
    for _ in range(OUTER_ITERATIONS):
        fit = _fit(ctx, _augmented_loss(ctx, lam, rho, eq), x, settings)
        iterations += fit.steps_done
        history += [ctx.to_shown(v) for v in fit.callback(History).losses]
        frozen = fit.callback(Divergence).n_frozen
        x = fit.callback(TrackBest).params
        status = fit.status
        with torch.no_grad():
            measured = ctx.measure(x)
            g = rows.g(measured.lhs, measured.rhs)
            worst = rows.violation(measured.lhs, measured.rhs).max(dim=1).values  # (restarts,)
        new_lam = torch.where(
            eq, lam + rho[:, None] * g, torch.clamp_min(lam + rho[:, None] * g, 0)
        )
        settled = (new_lam - lam).abs().max() <= rows.precision * (1 + lam.abs().max())
        lam = torch.where(torch.isfinite(new_lam), new_lam, lam)
        if worst_before is not None:
            slow = worst > 0.25 * worst_before
            rho = torch.where(slow, (rho * 10).clamp_max(RHO_MAX), rho)
        worst_before = worst
        if status.startswith(("stopped", "diverged")) or ctx.out_of_time():
            break
        if bool((worst <= rows.precision).all()) and bool(settled):
            break
    return EngineRun(
        candidates=x,
        status=status,
        iterations=iterations,
        method=f"{settings.method} + augmented Lagrangian",
        lr=settings.lr,
        history=history,
        frozen=frozen,
    )
