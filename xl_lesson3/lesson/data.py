"""The lesson's small data sets, shared by the Python exercises and the ``lesson3.xlsx`` sheets.

Quadratic data: fast.ai's notebook "How does a neural net really work?" draws 20 points of
``f(x) = 3x² + 2x + 1`` on ``x = linspace(-2, 2, 20)`` and adds noise::

    np.random.seed(42)
    def noise(x, scale): return np.random.normal(scale=scale, size=x.shape)
    def add_noise(x, mult, add): return x * (1 + noise(x, mult)) + noise(x, add)
    y = add_noise(f(x), 0.15, 1.5)

We draw the same numbers from an explicit generator instead of numpy's global state:
``np.random.RandomState(seed)`` is the legacy Mersenne-Twister stream that ``np.random.seed``
seeds, so with seed 42 the data equals the notebook's (the notebook computes x in float32, so its
y differs from ours by about 1e-6). The multiplicative noise is drawn first, then the additive
noise, in the order Python evaluates ``add_noise``'s expression.

ReLU target: a "wiggly" function the sum-of-ReLUs exercise fits: ``sin(2x)`` on 61 evenly spaced
points of [-3, 3] (almost two periods, so it takes several ReLUs to follow). It has no noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUADRATIC_SEED = 42
QUADRATIC_COEFFS = (3.0, 2.0, 1.0)  # the true a, b, c of f(x) = a x² + b x + c
QUADRATIC_POINTS = 20
QUADRATIC_RANGE = (-2.0, 2.0)
NOISE_MULT = 0.15  # scale of the multiplicative noise: y = f(x) * (1 + N(0, 0.15²)) + ...
NOISE_ADD = 1.5  # scale of the additive noise: ... + N(0, 1.5²)
START_PARAMS = (1.5, 1.5, 1.5)  # the starting guess for a, b, c (the notebook's sliders)

RELU_POINTS = 61
RELU_RANGE = (-3.0, 3.0)
RELU_FREQUENCY = 2.0  # target(x) = sin(2x)


@dataclass(frozen=True)
class XYData:
    """Points (x, y) as float64 arrays of shape (n,), x increasing."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        self.x.setflags(write=False)
        self.y.setflags(write=False)

    def __len__(self) -> int:
        return len(self.x)


def quadratic(a: float, b: float, c: float, x: np.ndarray) -> np.ndarray:
    """``a x² + b x + c`` elementwise (works on numpy arrays and torch tensors alike)."""
    return a * x**2 + b * x + c


def quadratic_data(seed: int = QUADRATIC_SEED) -> XYData:
    """The notebook's 20 noisy points of ``3x² + 2x + 1`` (see the module docstring)."""
    x = np.linspace(*QUADRATIC_RANGE, QUADRATIC_POINTS)
    rng = np.random.RandomState(seed)
    clean = quadratic(*QUADRATIC_COEFFS, x)
    mult_noise = rng.normal(scale=NOISE_MULT, size=x.shape)  # drawn first, as in add_noise
    add_noise = rng.normal(scale=NOISE_ADD, size=x.shape)
    return XYData(x, clean * (1 + mult_noise) + add_noise)


def relu_target() -> XYData:
    """The wiggly target the sum of ReLUs is fitted to: ``sin(2x)`` on a grid of [-3, 3]."""
    x = np.linspace(*RELU_RANGE, RELU_POINTS)
    return XYData(x, np.sin(RELU_FREQUENCY * x))
