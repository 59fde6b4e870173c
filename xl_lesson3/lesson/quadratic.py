"""The notebook's first training loop: fit ``a x² + b x + c`` by hand-written gradient descent.

Exactly the lesson's steps: the parameters are one tensor that requires gradients, the loss is a
plain function of them, ``loss.backward()`` fills ``params.grad``, and the update
``params -= lr * params.grad`` happens under ``torch.no_grad()`` (so the update itself is not
recorded by autograd), after which the gradient is zeroed (``backward`` adds to it otherwise).

A learning rate that is too large makes each step overshoot the minimum by more than it started
from, so the loss grows; `DivergenceWatch` notices that and the loop stops early.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from xl_lesson3.lesson.data import START_PARAMS, XYData, quadratic

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error."""
    return ((pred - target) ** 2).mean()


def mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return (pred - target).abs().mean()


LOSSES: dict[str, LossFn] = {"mse": mse, "mae": mae}


@dataclass(frozen=True)
class Divergence:
    """The loss grew instead of falling: from `initial` (before step 1) to `final` at `step`."""

    step: int
    initial: float
    final: float

    def message(self, lr: float) -> str:
        """The learning-rate lesson in one line."""
        return (
            f"--lr {lr:g}: the learning rate is too large: the loss grew from {self.initial:.6g} "
            f"to {self.final:.6g} in {self.step} steps — try a smaller --lr"
        )


class DivergenceWatch:
    """Decide, step by step, whether gradient descent is diverging.

    Diverging means the loss is no longer a finite number, or it rose `patience` steps in a row
    and is above the starting loss. A single rise is not enough: with the MAE loss (whose
    gradient never shrinks) the loss can bounce up once near the minimum without diverging.
    """

    def __init__(self, initial_loss: float, patience: int = 3) -> None:
        self.initial = initial_loss
        self.patience = patience
        self._previous = initial_loss
        self._rises = 0

    def update(self, step: int, loss: float) -> Divergence | None:
        """Record the loss after `step`; returns a `Divergence` once the loss is growing."""
        self._rises = self._rises + 1 if loss > self._previous else 0
        self._previous = loss
        growing = self._rises >= self.patience and loss > self.initial
        if not math.isfinite(loss) or growing:
            return Divergence(step, self.initial, loss)
        return None


@dataclass(frozen=True)
class QuadraticFit:
    """Result of `fit_quadratic`.

    `losses[k]` is the loss after k steps (`losses[0]` is the starting loss); `params` is
    (a, b, c) after the last step; `divergence` is set when the loop stopped because the loss grew.
    """

    params: tuple[float, float, float]
    losses: tuple[float, ...]
    divergence: Divergence | None

    @property
    def initial_loss(self) -> float:
        return self.losses[0]

    @property
    def final_loss(self) -> float:
        return self.losses[-1]


def fit_quadratic(
    data: XYData,
    *,
    steps: int,
    lr: float,
    loss: str = "mse",
    start: tuple[float, float, float] = START_PARAMS,
    on_step: Callable[[int, float], None] | None = None,
) -> QuadraticFit:
    """Fit a, b, c to `data` with `steps` plain gradient-descent steps of learning rate `lr`.

    `loss` is ``"mse"`` or ``"mae"``. `on_step(step, loss)` is called with the starting loss
    (step 0) and after every step, so a caller can print the loss as it falls (or grows).
    """
    loss_fn = LOSSES[loss]
    x = torch.tensor(data.x)  # (n,) float64
    y = torch.tensor(data.y)
    params = torch.tensor(start, dtype=torch.float64, requires_grad=True)  # (3,): a, b, c

    def current_loss() -> torch.Tensor:
        return loss_fn(quadratic(*params, x), y)

    value = current_loss()
    losses = [value.item()]
    watch = DivergenceWatch(losses[0])
    divergence = None
    if on_step is not None:
        on_step(0, losses[0])
    for step in range(1, steps + 1):
        value.backward()
        with torch.no_grad():
            params -= lr * params.grad
            params.grad.zero_()
        value = current_loss()
        losses.append(value.item())
        if on_step is not None:
            on_step(step, losses[-1])
        divergence = watch.update(step, losses[-1])
        if divergence is not None:
            break
    a, b, c = (float(v) for v in params.detach())
    return QuadraticFit((a, b, c), tuple(losses), divergence)


def least_squares_quadratic(data: XYData) -> tuple[float, float, float]:
    """The exact MSE minimum (a, b, c), by numpy's ``polyfit`` (a reference for the loop)."""
    a, b, c = np.polyfit(data.x, data.y, 2)
    return float(a), float(b), float(c)


def loss_of(data: XYData, params: tuple[float, float, float], loss: str = "mse") -> float:
    """The `loss` of the curve with coefficients `params` on `data` (numpy, no autograd)."""
    residual = quadratic(*params, data.x) - data.y
    if loss == "mse":
        return float(np.mean(residual**2))
    return float(np.mean(np.abs(residual)))
