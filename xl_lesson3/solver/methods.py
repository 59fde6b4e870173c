"""Optimisation methods: one `step` each, over all restarts at once.

Every method minimises ``objective(params).sum()``. The restarts are independent (row ``k`` of the
loss depends only on row ``k`` of ``params``), so the gradient of the sum holds, in row ``k``,
exactly the gradient of restart ``k``'s own loss: one backward pass serves every restart.

- `SGD` is the lesson's loop, ``params -= lr * grad`` under ``torch.no_grad()``, nothing more, so a
  learning rate that is too big visibly diverges.
- `Adam` wraps ``torch.optim.Adam`` (per-element, hence per-restart, statistics) with a cosine
  decay of the learning rate over the run: big steps explore early, and the small steps at the end
  settle into the minimum instead of rattling around it at the scale of ``lr``.
- `LBFGS` is a batched L-BFGS in `xl_lesson3.solver.lbfgs`, independent per restart; the
  default, because on the lesson's ReLU network it finds the best basin from three times as
  many random starts as Adam does (see `xl_lesson3.solver.api.DEFAULTS`).
"""

from __future__ import annotations

import math
from typing import Protocol

import torch

from xl_lesson3.solver.loop import Objective


class Method(Protocol):
    """What the loop needs from an optimisation method."""

    name: str

    def setup(self, params: torch.Tensor) -> None:
        """Prepare state for `params` (restarts, n_vars)."""

    def step(self, objective: Objective, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update `params` in place; return (loss (restarts,), the params it was evaluated at)."""


def loss_and_grad(objective: Objective, params: torch.Tensor) -> torch.Tensor:
    """Evaluate the loss at `params` and leave each restart's gradient in ``params.grad``."""
    params.grad = None
    loss = objective(params)  # (restarts,)
    loss.sum().backward()
    return loss.detach()


class SGD:
    """Plain gradient descent, exactly the lesson's ``params -= lr * grad``."""

    name = "sgd"

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def setup(self, params: torch.Tensor) -> None:
        pass

    def step(self, objective: Objective, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        evaluated = params.detach().clone()
        loss = loss_and_grad(objective, params)
        with torch.no_grad():
            params -= self.lr * params.grad
        return loss, evaluated


class Adam:
    """torch's Adam with the learning rate decayed along a half cosine to `final_fraction` of it."""

    name = "adam"

    def __init__(self, lr: float, max_steps: int, final_fraction: float = 1e-3) -> None:
        self.lr = lr
        self.max_steps = max(max_steps, 1)
        self.final_fraction = final_fraction
        self.optimizer: torch.optim.Adam | None = None
        self.t = 0

    def setup(self, params: torch.Tensor) -> None:
        self.optimizer = torch.optim.Adam([params], lr=self.lr)
        self.t = 0

    def current_lr(self) -> float:
        progress = min(self.t / self.max_steps, 1.0)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.lr * (self.final_fraction + (1 - self.final_fraction) * cosine)

    def step(self, objective: Objective, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.optimizer is None:
            raise RuntimeError("Adam.step before Adam.setup")
        evaluated = params.detach().clone()
        loss = loss_and_grad(objective, params)
        for group in self.optimizer.param_groups:
            group["lr"] = self.current_lr()
        self.optimizer.step()
        self.t += 1
        return loss, evaluated
