"""The training loop: tiny steps, named events, ordered callbacks (the fastai design).

`Fit.run` is the whole loop::

    before_fit
    for step in range(max_steps):
        before_step;  the method takes one step;  after_step
    after_fit

Everything else (bounds, best-point tracking, divergence, early stopping, progress, history) is a
`Callback` that reacts to those events, in `order`. A callback stops the run by raising
`CancelFit` (the loop then still runs ``after_fit``) or skips the rest of a step with
`CancelStep`; nothing is signalled through flags threaded through the loop.

All restarts are one tensor: ``params`` has shape ``(restarts, n_vars)`` and the objective maps it
to ``(restarts,)``. The loop always *minimises*: `solve` turns "max" and "value of" into a loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from xl_lesson3.solver.methods import Method

Objective = Callable[[torch.Tensor], torch.Tensor]  # (restarts, n_vars) -> (restarts,)

EVENTS = ("before_fit", "before_step", "after_step", "after_fit")


class CancelFit(Exception):
    """Raised by a callback (or a user's progress callback) to end the run now."""

    def __init__(self, status: str = "stopped") -> None:
        super().__init__(status)
        self.status = status


class CancelStep(Exception):
    """Raised in ``before_step`` to skip the rest of the current step."""


class Callback:
    """Base class: override any of the event methods; lower `order` runs first."""

    order = 50

    def before_fit(self, fit: Fit) -> None:
        """Called once before the first step."""

    def before_step(self, fit: Fit) -> None:
        """Called before every step."""

    def after_step(self, fit: Fit) -> None:
        """Called after every step; ``fit.loss`` / ``fit.evaluated`` describe that step."""

    def after_fit(self, fit: Fit) -> None:
        """Called once at the end, also after a `CancelFit`."""


class Fit:
    """One optimisation run over batched parameters.

    Attributes the callbacks read and write:
    - ``params``: leaf tensor (restarts, n_vars) the method updates in place;
    - ``loss``: (restarts,) loss the method evaluated in the last step, at ``evaluated``
      (the parameters *before* that step's update, detached);
    - ``step``: index of the current step (0-based); ``steps_done`` after it finished;
    - ``status``: why the run ended (set by the callback that raised `CancelFit`).
    """

    def __init__(
        self,
        objective: Objective,
        params: torch.Tensor,
        method: Method,
        max_steps: int,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.objective = objective
        self.params = params.detach().clone().requires_grad_(True)
        self.method = method
        self.max_steps = max_steps
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)
        self.step = 0
        self.steps_done = 0
        self.loss: torch.Tensor | None = None
        self.evaluated: torch.Tensor | None = None
        self.status = "finished"

    @property
    def n_restarts(self) -> int:
        return self.params.shape[0]

    def callback(self, kind: type[Callback]) -> Callback | None:
        """The first callback of type `kind`, if any (callbacks may consult each other)."""
        return next((cb for cb in self.callbacks if isinstance(cb, kind)), None)

    def _event(self, name: str) -> None:
        for cb in self.callbacks:
            getattr(cb, name)(self)

    def _one_step(self) -> None:
        try:
            self._event("before_step")
            self.loss, self.evaluated = self.method.step(self.objective, self.params)
            self.steps_done = self.step + 1
            self._event("after_step")
        except CancelStep:
            pass

    def run(self) -> Fit:
        """Run the loop; returns self (read the results off the callbacks)."""
        try:
            self._event("before_fit")
            self.method.setup(self.params)
            for step in range(self.max_steps):
                self.step = step
                self._one_step()
        except CancelFit as stop:
            self.status = stop.status
        self._event("after_fit")
        return self
