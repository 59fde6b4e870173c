"""The loop and the methods on plain torch objectives: batched restarts stay independent."""

from __future__ import annotations

import pytest
import torch

from xl_lesson3.solver.callbacks import (
    Divergence,
    EarlyStopping,
    History,
    ProjectBounds,
    TrackBest,
)
from xl_lesson3.solver.lbfgs import LBFGS
from xl_lesson3.solver.loop import Callback, CancelFit, CancelStep, Fit
from xl_lesson3.solver.methods import SGD, Adam


def rosenbrock(params: torch.Tensor) -> torch.Tensor:
    """(restarts, 2) -> (restarts,); minimum 0 at (1, 1), a curved valley."""
    x, y = params[:, 0], params[:, 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _fit(objective, start, method, steps, extra=()):
    callbacks = [TrackBest(), Divergence(), History(), *extra]
    return Fit(objective, start, method, steps, callbacks).run()


STARTS = torch.tensor([[-1.2, 1.0], [2.0, -1.0], [0.0, 0.0], [1.5, 2.5]], dtype=torch.float64)


def test_batched_lbfgs_solves_rosenbrock_from_every_start():
    fit = _fit(rosenbrock, STARTS, LBFGS(), 200)
    best = fit.callback(TrackBest)
    assert best.params == pytest.approx(torch.ones(4, 2), abs=1e-6)
    assert best.loss.max() < 1e-12


@pytest.mark.parametrize(
    "method",
    [lambda: LBFGS(), lambda: Adam(0.05, 300), lambda: SGD(1e-3)],
    ids=["lbfgs", "adam", "sgd"],
)
def test_restarts_do_not_influence_each_other(method):
    together = _fit(rosenbrock, STARTS, method(), 60).callback(TrackBest).params
    for k in range(len(STARTS)):
        alone = _fit(rosenbrock, STARTS[k : k + 1], method(), 60).callback(TrackBest).params
        assert together[k] == pytest.approx(alone[0], abs=1e-10)


def test_projection_keeps_lbfgs_inside_the_box():
    box = ProjectBounds(
        torch.tensor([-2.0, -2.0], dtype=torch.float64),
        torch.tensor([0.5, 2.0], dtype=torch.float64),
    )
    seen = []

    class Watch(Callback):
        order = 15

        def after_step(self, fit):
            seen.append(fit.params.detach().clone())

    fit = _fit(rosenbrock, STARTS, LBFGS(project=box.project), 100, [box, Watch()])
    assert all(bool((p[:, 0] <= 0.5).all()) for p in seen)
    # constrained optimum on the edge x = 0.5: y = 0.25
    assert fit.callback(TrackBest).params == pytest.approx(
        torch.tensor([[0.5, 0.25]] * 4, dtype=torch.float64), abs=1e-5
    )


def test_sgd_divergence_freezes_and_stops_with_the_step_number():
    fit = _fit(rosenbrock, STARTS, SGD(lr=0.1), 100)
    assert fit.status.startswith("diverged at step ")
    assert fit.callback(Divergence).n_frozen == 4
    best = fit.callback(TrackBest)
    assert torch.isfinite(best.loss).all()  # the best finite points are kept


def test_one_diverging_restart_does_not_stop_the_others():
    def objective(params):  # a wall of inf at x > 2.5; restart 1 starts behind it
        return (params**2).sum(1) + torch.where(params[:, 0] > 2.5, torch.inf, 0.0)

    start = torch.tensor([[1.0, 1.0], [3.0, 0.0]], dtype=torch.float64)
    fit = _fit(objective, start, Adam(0.1, 200), 200)
    assert not fit.status.startswith("diverged")
    assert fit.callback(Divergence).n_frozen == 1
    assert fit.callback(TrackBest).loss[0] < 1e-6


def test_early_stopping_and_history():
    fit = _fit(rosenbrock, STARTS, LBFGS(), 1000, [EarlyStopping(tol=1e-12, patience=5)])
    assert fit.status.startswith("converged at step ")
    assert fit.steps_done < 200
    history = fit.callback(History).losses
    assert len(history) == fit.steps_done and history[-1] < 1e-12


def test_callbacks_run_in_order_and_can_cancel():
    calls = []

    class Record(Callback):
        def __init__(self, name, order):
            self.name, self.order = name, order

        def before_step(self, fit):
            calls.append(self.name)
            if self.name == "skip" and fit.step == 0:
                raise CancelStep
            if fit.step == 2:
                raise CancelFit("enough")

    fit = Fit(rosenbrock, STARTS, SGD(1e-4), 10, [Record("late", 90), Record("skip", 5)]).run()
    assert fit.status == "enough" and fit.steps_done == 2
    assert calls == ["skip", "skip", "late", "skip"]
