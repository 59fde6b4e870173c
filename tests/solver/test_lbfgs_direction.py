"""The batched L-BFGS direction equals the BFGS inverse-Hessian update applied pair by pair.

The reference builds H densely, ``H ← (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ`` from ``H = γI``,
for each restart with its own pairs, skipped pairs left out: the textbook definition the
compact form must reproduce.
"""

from __future__ import annotations

import pytest
import torch

from xl_lesson3.solver.lbfgs import LBFGS


def _dense_direction(pairs, gamma: float, grad: torch.Tensor) -> torch.Tensor:
    n = grad.shape[0]
    h = gamma * torch.eye(n, dtype=grad.dtype)
    eye = torch.eye(n, dtype=grad.dtype)
    for s, y in pairs:
        rho = 1.0 / float(s @ y)
        h = (eye - rho * torch.outer(s, y)) @ h @ (eye - rho * torch.outer(y, s))
        h = h + rho * torch.outer(s, s)
    return -(h @ grad)


@pytest.mark.parametrize(
    ("restarts", "n_vars", "n_pairs", "history"),
    [(1, 3, 0, 5), (1, 4, 2, 5), (3, 5, 5, 5), (4, 6, 9, 4), (2, 20, 12, 10)],
    ids=["no-pairs", "one-row", "full", "ring-wrapped", "nnet-size"],
)
def test_direction_matches_dense_bfgs(restarts, n_vars, n_pairs, history):
    generator = torch.Generator().manual_seed(restarts * 100 + n_pairs)
    method = LBFGS(history=history)
    params = torch.zeros(restarts, n_vars, dtype=torch.float64)
    method.setup(params)
    offered = []  # (steps, grad changes, ok): every pair offered, oldest first
    # A fixed positive-definite Hessian gives pairs with positive curvature y = A s.
    a = torch.randn(n_vars, n_vars, generator=generator, dtype=torch.float64)
    hessian = a @ a.T + n_vars * torch.eye(n_vars, dtype=torch.float64)
    for _ in range(n_pairs):
        step = torch.randn(restarts, n_vars, generator=generator, dtype=torch.float64)
        ok = torch.rand(restarts, generator=generator) > 0.25  # some rows skip this pair
        method._remember(step, step @ hessian, ok)
        offered.append((step, step @ hessian, ok))
    grad = torch.randn(restarts, n_vars, generator=generator, dtype=torch.float64)
    found = method._direction(grad)
    for row in range(restarts):
        # The ring holds the last `history` pairs offered; a row uses those it accepted.
        pairs = [(s[row], y[row]) for s, y, ok in offered[-history:] if ok[row]]
        expected = _dense_direction(pairs, float(method.gamma[row]), grad[row])
        assert torch.allclose(found[row], expected, rtol=1e-9, atol=1e-12), row
