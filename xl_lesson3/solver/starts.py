"""Where the restarts of a multi-start run begin.

Restart 0 is always the workbook's own point: a solve never ends worse than the file it read.
The others do not depend on the magnitudes stored in the workbook, because a user's workbook is
usually already trained, and a box scaled by its largest weight (the old ``(-max|x|, max|x|)``)
starts the restarts in the same poor region its large weights came from. Measured on the lesson's
Titanic ``nnet`` sheet after Excel's Solver had trained it (largest |w| about 2.8, loss 0.143):
256 restarts drawn in the scaled box stopped at 0.132-0.139, drawn in ``(-0.5, 0.5)`` they reached
the 0.129 basin. So, with ``K`` restarts:

- three quarters of restarts ``1..K-1`` are uniform in the lesson's box, ``RAND()-0.5``, i.e.
  ``(-0.5, 0.5)`` per changing cell, intersected with that cell's bounds; where the bounds leave
  nothing of that box (``x >= 10``), the box is the bounds themselves, or one unit inside a
  one-sided bound;
- the last quarter are perturbations of the stored point, ``x0 + uniform(-0.5, 0.5) * (0.1 +
  |x0|) / 2``, clipped to the bounds: they refine a solution that is nearly right.
"""

from __future__ import annotations

import torch

BOX = 0.5  # the lesson's RAND()-0.5
PERTURBED_FRACTION = 0.25


def start_box(lower: torch.Tensor, upper: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-variable (low, high) of the random box: (-0.5, 0.5) within the bounds."""
    low = torch.maximum(lower, torch.full_like(lower, -BOX))
    high = torch.minimum(upper, torch.full_like(upper, BOX))
    empty = low >= high
    both = torch.isfinite(lower) & torch.isfinite(upper)
    # Bounds that exclude the whole box: use the bounds, or one unit inside a one-sided bound.
    low = torch.where(empty, torch.where(torch.isfinite(lower), lower, upper - 1.0), low)
    high = torch.where(empty, torch.where(both | torch.isfinite(upper), upper, lower + 1.0), high)
    return low, high


def initial_points(
    initial: torch.Tensor, restarts: int, lower: torch.Tensor, upper: torch.Tensor, seed: int
) -> torch.Tensor:
    """(restarts, n_vars): row 0 the workbook's values, the others as the module describes."""
    n_vars = initial.shape[0]
    generator = torch.Generator().manual_seed(seed)
    unit = torch.rand(restarts, n_vars, generator=generator, dtype=torch.float64)
    unit = unit.to(device=initial.device, dtype=initial.dtype)  # (restarts, n_vars)
    low, high = start_box(lower, upper)
    points = low + unit * (high - low)
    n_perturbed = int((restarts - 1) * PERTURBED_FRACTION)
    if n_perturbed:
        rows = slice(restarts - n_perturbed, restarts)
        noise = (unit[rows] - 0.5) * (0.1 + initial.abs()) / 2
        points[rows] = initial + noise
    points = torch.clamp(points, lower, upper)
    points[0] = initial
    return points
