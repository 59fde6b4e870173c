"""Batched L-BFGS: one quasi-Newton iteration for every restart at once, each on its own.

``torch.optim.LBFGS`` sees one flat parameter vector. Given all restarts as one tensor it would
take dot products across restarts (one shared curvature estimate) and one shared line search, so
a single restart with a bad step would shrink everyone's step. Here every dot product is taken per
row (``(a * b).sum(1)``), each restart keeps its own curvature pairs, and the backtracking (Armijo)
line search accepts or halves each row's step on its own, while every trial point is still ONE
batched evaluation of the compiled program.

Bounds: trial points are projected onto the box before they are evaluated (projected
backtracking), so the method only ever evaluates feasible points and Armijo's test uses the step
actually taken; variables pinned at a bound by their gradient are left out of the direction. Restarts whose loss is not finite at a trial point simply backtrack.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from xl_lesson3.solver.loop import Objective

Projection = Callable[[torch.Tensor], torch.Tensor]
_GROWTH = 4.0  # how far past its last accepted step length a restart tries first
_LENGTHS_PER_CALL = 4  # shorter step lengths tried per evaluation once the first one fails


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
    quasi-Newton step); `project` maps a (restarts, n_vars) tensor into the feasible box. A restart
    whose loss has not dropped by more than `tol` (relative to ``max(1, |loss|)``) for `patience`
    iterations has converged and is no longer evaluated: most random starts of a small network
    settle early, and evaluating only the live ones is what keeps hundreds of restarts cheap.
    """

    name = "lbfgs"

    def __init__(
        self,
        lr: float = 1.0,
        history: int = 10,
        project: Projection | None = None,
        max_backtracks: int = 20,
        c1: float = 1e-4,
        tol: float = 0.0,
        patience: int = 10,
    ) -> None:
        self.lr = lr
        self.tol = tol
        self.patience = patience
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
        self.stalled = torch.zeros(restarts, dtype=torch.long, device=params.device)
        self.last_length = params.new_full((restarts,), self.lr)

    @property
    def active(self) -> torch.Tensor:
        """(restarts,) bool: the restarts still being optimised."""
        return self.stalled < self.patience

    def _direction(self, grad: torch.Tensor) -> torch.Tensor:
        """``-H·grad`` per row, H the inverse-Hessian estimate of the row's stored pairs.

        The compact form of Byrd, Nocedal and Schnabel (1994), which equals the two-loop
        recursion's product: with S, Y the pairs (oldest first) as matrix rows, R the upper
        triangle of S·Yᵀ, D its diagonal and γ the row's scale,
        ``H·g = γg + Sᵀ·R⁻ᵀ((D + γ Y·Yᵀ)·u - γ Y·g) - γ Yᵀ·u`` with ``u = R⁻¹ S·g``. That is
        a dozen batched products and two triangular solves for every restart and every pair at
        once, where the recursion takes four small ops per pair, one pair after the other.
        Empty or skipped pairs (rho 0) are zeroed with a unit diagonal in R: they decouple.
        """
        if not self.slots:
            return -self.gamma[:, None] * grad
        order = torch.tensor(self.slots, device=grad.device)
        valid = (self.rho[order] != 0).T  # (restarts, m)
        mask = valid[..., None].to(grad.dtype)
        pairs_s = self.s[order].transpose(0, 1) * mask  # (restarts, m, n_vars)
        pairs_y = self.y[order].transpose(0, 1) * mask
        sy = pairs_s @ pairs_y.transpose(1, 2)  # (restarts, m, m): s_i · y_j
        upper = torch.triu(sy) + torch.diag_embed((~valid).to(grad.dtype))
        gamma = self.gamma[:, None, None]
        g = grad[..., None]  # (restarts, n_vars, 1)
        u = torch.linalg.solve_triangular(upper, pairs_s @ g, upper=True)
        inner = sy.diagonal(dim1=1, dim2=2)[..., None] * u
        inner = inner + gamma * (pairs_y @ (pairs_y.transpose(1, 2) @ u) - pairs_y @ g)
        top = torch.linalg.solve_triangular(upper.transpose(1, 2), inner, upper=False)
        hg = gamma * g + pairs_s.transpose(1, 2) @ top - gamma * (pairs_y.transpose(1, 2) @ u)
        return -hg[..., 0]

    def _forget(self, rows: torch.Tensor) -> None:
        self.rho[:, rows] = 0
        self.gamma[rows] = 1
        self.last_length[rows] = self.lr

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

    def _try(self, objective, rows, factors, x, t, direction, loss, grad, slack):
        """Evaluate step lengths ``t * factor`` for `rows` in one batch; keep the longest that
        passes Armijo's test. Returns (found (rows,), and x, loss, grad of the found ones)."""
        start, toward = x[rows], direction[rows]  # (P, n_vars)
        scale = torch.tensor(factors, dtype=x.dtype, device=x.device)
        lengths = scale[:, None] * t[rows][None, :]  # (K, P)
        trial = self.project(start[None] + lengths[..., None] * toward[None])  # (K, P, n_vars)
        k, p, n = trial.shape
        trial_loss, trial_grad = _loss_grad_at(objective, trial.reshape(k * p, n))
        trial_loss, trial_grad = trial_loss.view(k, p), trial_grad.view(k, p, n)
        decrease = self.c1 * _rowdot(grad[rows][None], trial - start[None])  # (K, P)
        ok = torch.isfinite(trial_loss) & (
            trial_loss <= loss[rows][None] + decrease + slack[rows][None]
        )
        found = ok.any(0)
        best = ok.to(torch.int8).argmax(0)[found]  # first passing = longest step
        cols = found.nonzero().flatten()
        chosen = (trial[best, cols], trial_loss[best, cols], trial_grad[best, cols])
        return found, lengths[best, cols], *chosen

    def step(self, objective: Objective, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = params.detach().clone()  # (restarts, n_vars)
        if self.loss is None or self.grad is None:
            self.loss, self.grad = _loss_grad_at(objective, x)
        loss, grad = self.loss, self.grad
        # Variables held at a bound by the gradient (a step along -grad is clamped straight back)
        # leave the search: without this the quasi-Newton direction keeps pushing into the bound
        # and the projected steps shrink to nothing before the free variables converge.
        blocked = (self.project(x - grad) == x) & (grad != 0)
        free_grad = torch.where(blocked, 0.0, grad)
        direction = torch.where(blocked, 0.0, self._direction(free_grad))
        uphill = ~(_rowdot(free_grad, direction) < 0)
        if uphill.any():  # lost curvature information: restart those rows from steepest descent
            self._forget(uphill)
            direction[uphill] = -free_grad[uphill]
        fresh = (self.rho != 0).sum(0) == 0
        first = self.lr * torch.clamp(1.0 / grad.abs().sum(1).clamp_min(1e-300), max=1.0)
        # A restart that had to backtrack (a ReLU kink ahead, a curvature estimate too low) tries
        # a few times its last accepted length first instead of the full step: fewer failed trials.
        resume = torch.clamp(self.last_length * _GROWTH, max=self.lr)
        t = torch.where(fresh, first, resume)
        # Rounding: near a minimum the true decrease is below float resolution; without slack
        # Armijo's test would fail there forever and halve the step to nothing.
        slack = 8 * torch.finfo(loss.dtype).eps * loss.abs().nan_to_num(0.0)
        new_x, new_loss, new_grad = x.clone(), loss.clone(), grad.clone()
        accepted = torch.zeros_like(fresh)
        # Only the rows still searching are evaluated, so one stubborn restart does not cost a
        # full batch evaluation per halving; and after the first (natural) step length, each
        # evaluation tries several shorter lengths at once, as one batch.
        pending = self.active.nonzero().flatten()
        factors = [1.0]
        for _ in range(1 + self.max_backtracks // _LENGTHS_PER_CALL):
            if pending.numel() == 0:
                break
            found, length, trial, trial_loss, trial_grad = self._try(
                objective, pending, factors, x, t, direction, loss, grad, slack
            )
            rows = pending[found]
            new_x[rows], new_loss[rows], new_grad[rows] = trial, trial_loss, trial_grad
            accepted[rows] = True
            self.last_length[rows] = length
            pending = pending[~found]
            t[pending] = t[pending] * factors[-1]
            factors = [0.5**k for k in range(1, _LENGTHS_PER_CALL + 1)]
        self._remember(new_x - x, new_grad - grad, accepted)
        if not bool(accepted.all()):
            self._forget(~accepted)
        gain = torch.where(accepted, loss - new_loss, 0.0)
        small = ~(gain > self.tol * new_loss.abs().clamp_min(1.0))
        self.stalled = torch.where(small, self.stalled + 1, 0)
        with torch.no_grad():
            params.copy_(new_x)
        self.loss, self.grad = new_loss, new_grad
        return loss, x
