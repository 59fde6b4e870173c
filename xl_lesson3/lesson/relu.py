"""Any function, given enough ReLUs: fit a sum of rectified linear units to a wiggly target.

A unit is ``max(0, m x + b)``: zero on one side of its "knot" ``x = -b/m`` and a straight line on
the other. A plain sum of units is convex (every unit is), so it could never follow a sine; as in
the lesson's neural net, each unit gets an output weight ``w`` and the sum a constant ``c``::

    model(x) = sum_i w_i * max(0, m_i x + b_i) + c

which is any continuous piecewise-linear function with one kink per unit. More units, more kinks,
a closer fit. Fitting is gradient descent (Adam) on the mean squared error.

Starting point (`initial_relu_params`): knots evenly spread across the data, facing alternately
right (m = 1) and left (m = -1), and output weights by least squares for those fixed knots. From
scratch (all weights zero) many units never move their knots into place and "die"; this start
avoids that. The ``relu`` sheet of ``lesson3.xlsx`` places its units the same way
(`spread_units`) and leaves the output weights to Solver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from xl_lesson3.lesson.data import XYData


@dataclass(frozen=True)
class ReluParams:
    """Parameters of a sum of ReLUs: arrays m, b, w of shape (units,) and the constant c."""

    m: np.ndarray
    b: np.ndarray
    w: np.ndarray
    c: float

    @property
    def units(self) -> int:
        return len(self.m)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model at points x (n,) -> (n,)."""
        return self.unit_outputs(x).sum(axis=1) + self.c

    def unit_outputs(self, x: np.ndarray) -> np.ndarray:
        """Each unit's contribution ``w_i max(0, m_i x + b_i)``: (n, units)."""
        return self.w * np.maximum(0.0, np.outer(x, self.m) + self.b)

    def mse(self, data: XYData) -> float:
        return float(np.mean((self.predict(data.x) - data.y) ** 2))

    def vector(self) -> np.ndarray:
        """All parameters in one vector: m (units), b (units), w (units), c."""
        return np.concatenate([self.m, self.b, self.w, [self.c]])

    @classmethod
    def from_vector(cls, vector: Sequence[float]) -> ReluParams:
        """Inverse of `vector`."""
        values = np.asarray(vector, dtype=np.float64)
        units = (len(values) - 1) // 3
        m, b, w = (values[i * units : (i + 1) * units].copy() for i in range(3))
        return cls(m, b, w, float(values[-1]))


def relu_sum(vector: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Torch version of `ReluParams.predict` on a parameter vector (3 units + 1,) and x (n,)."""
    units = (vector.shape[0] - 1) // 3
    m, b, w = vector[:units], vector[units : 2 * units], vector[2 * units : 3 * units]
    hidden = torch.relu(x[:, None] * m + b)  # (n, units)
    return hidden @ w + vector[-1]


def fit_output_weights(data: XYData, m: np.ndarray, b: np.ndarray) -> ReluParams:
    """Best w and c for fixed units (m, b): a linear least-squares problem."""
    hidden = np.maximum(0.0, np.outer(data.x, m) + b)  # (n, units)
    design = np.column_stack([hidden, np.ones_like(data.x)])
    solution = np.linalg.lstsq(design, data.y, rcond=None)[0]
    return ReluParams(
        np.asarray(m, float), np.asarray(b, float), solution[:-1], float(solution[-1])
    )


def spread_units(data: XYData, units: int) -> tuple[np.ndarray, np.ndarray]:
    """(m, b) of `units` units whose knots split the data's range evenly, facing alternately."""
    knots = np.linspace(data.x.min(), data.x.max(), units + 2)[1:-1]
    m = np.where(np.arange(units) % 2 == 0, 1.0, -1.0)
    return m, -m * knots


def initial_relu_params(data: XYData, units: int) -> ReluParams:
    """The starting point for `units` units (see the module docstring)."""
    return fit_output_weights(data, *spread_units(data, units))


@dataclass(frozen=True)
class ReluFit:
    """Result of `fit_relus`: the best parameters seen, with the loss before and after."""

    params: ReluParams
    initial_loss: float
    final_loss: float
    losses: tuple[float, ...]  # loss at every step


def fit_relus(data: XYData, start: ReluParams, *, steps: int = 2000, lr: float = 0.01) -> ReluFit:
    """Minimise the MSE of a sum of ReLUs from `start` with `steps` Adam steps.

    The best point seen is kept (Adam's loss can bounce), so the result is never worse than
    `start`.
    """
    x = torch.tensor(data.x)
    y = torch.tensor(data.y)
    vector = torch.tensor(start.vector(), requires_grad=True)
    optimizer = torch.optim.Adam([vector], lr=lr)
    best_loss, best = math.inf, vector.detach().clone()
    losses = []
    for _ in range(steps + 1):
        loss = ((relu_sum(vector, x) - y) ** 2).mean()
        value = loss.item()
        losses.append(value)
        if value < best_loss:
            best_loss, best = value, vector.detach().clone()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return ReluFit(ReluParams.from_vector(best.numpy()), losses[0], best_loss, tuple(losses))


def grow_units(data: XYData, fitted: ReluParams, units: int) -> ReluParams:
    """Start for `units` units: the fitted units kept, new ones spread evenly, w and c refitted.

    Refitting every output weight by least squares can only lower the loss (keeping the old
    weights and giving the new units zero weight is one of its choices), so each larger model
    starts no worse than the smaller one ended.
    """
    m_new, b_new = spread_units(data, units - fitted.units)
    m = np.concatenate([fitted.m, m_new])
    b = np.concatenate([fitted.b, b_new])
    return fit_output_weights(data, m, b)


def unit_schedule(units: int) -> list[int]:
    """The unit counts shown as units are added: 1, 2, 4, ... and finally `units`."""
    counts = [1]
    while counts[-1] * 2 < units:
        counts.append(counts[-1] * 2)
    if counts[-1] != units:
        counts.append(units)
    return counts


def grow_relu_fits(
    data: XYData,
    unit_counts: Sequence[int],
    *,
    steps: int = 2000,
    lr: float = 0.01,
    on_fit: Callable[[ReluFit], None] | None = None,
) -> list[ReluFit]:
    """Fit with each count of units in turn (increasing), each starting from the previous fit.

    Because every model starts from the previous one's answer plus new units, the fitted loss
    never rises as units are added. `on_fit` is called with each fit as soon as it is done.
    """
    fits: list[ReluFit] = []
    for units in unit_counts:
        if fits and units <= fits[-1].params.units:
            raise ValueError(f"unit counts must increase, got {list(unit_counts)}")
        start = (
            grow_units(data, fits[-1].params, units) if fits else initial_relu_params(data, units)
        )
        fits.append(fit_relus(data, start, steps=steps, lr=lr))
        if on_fit is not None:
            on_fit(fits[-1])
    return fits
