"""Batched L-BFGS: one quasi-Newton iteration for every restart at once, each on its own.

``torch.optim.LBFGS`` sees one flat parameter vector. Given all restarts as one tensor it would
take dot products across restarts (one shared curvature estimate) and one shared line search, so
a single restart with a bad step would shrink everyone's step. Here every dot product is taken per
row (``(a * b).sum(1)``), each restart keeps its own curvature pairs, and the backtracking (Armijo)
line search accepts or halves each row's step on its own, while every trial point is still ONE
batched evaluation of the compiled program.

Bounds: trial points are projected onto the box before they are evaluated (projected
backtracking), so the method only ever evaluates feasible points and Armijo's test uses the step
actually taken. Restarts whose loss is not finite at a trial point simply backtrack.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from xl_lesson3.solver.loop import Objective

Projection = Callable[[torch.Tensor], torch.Tensor]


def _rowdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(dim=-1)


def _loss_grad_at(objective: Objective, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    point = x.detach().clone().requires_grad_(True)
    loss = objective(point)  # (restarts,)
    (grad,) = torch.autograd.grad(loss.sum(), point)
    return loss.detach(), grad.detach()


class LBFGS:
    """Per-restart L-BFGS with `history` curvature pairs and backtracking line search.

    `lr` scales the first step of a restart (and every step tried first, 1.0 being the natural
    quasi-Newton step); `project` maps a (restarts, n_vars) tensor into the feasible box.
    """

    name = "lbfgs"

    def __init__(
        self,
        lr: float = 1.0,
        history: int = 10,
        project: Projection | None = None,
        max_backtracks: int = 30,
        c1: float = 1e-4,
    ) -> None:
        self.lr = lr
        self.history = history
        self.project = project or (lambda x: x)
        self.max_backtracks = max_backtracks
        self.c1 = c1

    def setup(self, params: torch.Tensor) -> None:
        restarts, n_vars = params.shape
        self.s = params.new_zeros(self.history, restarts, n_vars)
        self.y = params.new_zeros(self.history, restarts, n_vars)
        self.rho = params.new_zeros(self.history, restarts)  # 0 marks an empty or skipped pair
        self.gamma = params.new_ones(restarts)  # initial inverse-Hessian scale s.y / y.y
        self.slots: list[int] = []  # ring order, oldest first
        self.loss: torch.Tensor | None = None
        self.grad: torch.Tensor | None = None

    def _direction(self, grad: torch.Tensor) -> torch.Tensor:
        """The two-loop recursion, per row; rows without pairs get ``-gamma * grad``."""
        q = grad.clone()
        alphas = []
        for slot in reversed(self.slots):
            alpha = self.rho[slot] * _rowdot(self.s[slot], q)
            q -= alpha[:, None] * self.y[slot]
            alphas.append(alpha)
        r = self.gamma[:, None] * q
        for slot, alpha in zip(self.slots, reversed(alphas)):
            beta = self.rho[slot] * _rowdot(self.y[slot], r)
            r += (alpha - beta)[:, None] * self.s[slot]
        return -r

    def _forget(self, rows: torch.Tensor) -> None:
        self.rho[:, rows] = 0
        self.gamma[rows] = 1

    def _remember(self, step: torch.Tensor, grad_change: torch.Tensor, ok: torch.Tensor) -> None:
        sy = _rowdot(step, grad_change)
        yy = _rowdot(grad_change, grad_change)
        # Skip pairs without positive curvature: they would make the direction uphill.
        ok = ok & (sy > 1e-10 * yy) & (yy > 0)
        if len(self.slots) < self.history:
            slot = len(self.slots)
        else:
            slot = self.slots.pop(0)
        self.slots.append(slot)
        self.s[slot] = step
        self.y[slot] = grad_change
        self.rho[slot] = torch.where(ok, 1.0 / torch.where(ok, sy, torch.ones_like(sy)), 0.0)
        self.gamma = torch.where(ok, sy / torch.where(ok, yy, torch.ones_like(yy)), self.gamma)

    def step(self, objective: Objective, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = params.detach().clone()  # (restarts, n_vars)
        if self.loss is None or self.grad is None:
            self.loss, self.grad = _loss_grad_at(objective, x)
        loss, grad = self.loss, self.grad
        direction = self._direction(grad)
        uphill = ~(_rowdot(grad, direction) < 0)
        if uphill.any():  # lost curvature information: restart those rows from steepest descent
            self._forget(uphill)
            direction[uphill] = -grad[uphill]
        fresh = (self.rho != 0).sum(0) == 0
        first = self.lr * torch.clamp(1.0 / grad.abs().sum(1).clamp_min(1e-300), max=1.0)
        t = torch.where(fresh, first, torch.full_like(first, self.lr))
        new_x, new_loss, new_grad = x.clone(), loss.clone(), grad.clone()
        accepted = torch.zeros_like(fresh)
        for _ in range(self.max_backtracks):
            trial = self.project(x + t[:, None] * direction)
            trial_loss, trial_grad = _loss_grad_at(objective, trial)
            decrease = self.c1 * _rowdot(grad, trial - x)
            ok = ~accepted & torch.isfinite(trial_loss) & (trial_loss <= loss + decrease)
            new_x[ok], new_loss[ok], new_grad[ok] = trial[ok], trial_loss[ok], trial_grad[ok]
            accepted |= ok
            if bool(accepted.all()):
                break
            t = torch.where(accepted, t, t * 0.5)
        self._remember(new_x - x, new_grad - grad, accepted)
        if not bool(accepted.all()):
            self._forget(~accepted)
        with torch.no_grad():
            params.copy_(new_x)
        self.loss, self.grad = new_loss, new_grad
        return loss, x
