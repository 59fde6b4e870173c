"""Sums of ReLUs fitted to sin(2x): the model, the fits as units are added, and the CLI."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from PIL import Image

from xl_lesson3.cli import main
from xl_lesson3.lesson.data import relu_target
from xl_lesson3.lesson.relu import (
    ReluParams,
    fit_relus,
    grow_relu_fits,
    initial_relu_params,
    relu_sum,
    unit_schedule,
)


def _model(params: ReluParams, x: np.ndarray) -> np.ndarray:
    """The model written out unit by unit, as the sheet does."""
    total = np.full_like(x, params.c)
    for m, b, w in zip(params.m, params.b, params.w):
        total += w * np.maximum(0.0, m * x + b)
    return total


def test_target_is_a_sine_on_a_grid():
    data = relu_target()
    np.testing.assert_allclose(data.x, np.linspace(-3, 3, 61))
    np.testing.assert_allclose(data.y, np.sin(2 * data.x))


def test_torch_model_equals_numpy_model():
    rng = np.random.default_rng(0)
    params = ReluParams(rng.normal(size=5), rng.normal(size=5), rng.normal(size=5), 0.3)
    x = np.linspace(-3, 3, 61)
    torch_values = relu_sum(torch.tensor(params.vector()), torch.tensor(x)).numpy()
    np.testing.assert_allclose(torch_values, _model(params, x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(params.predict(x), _model(params, x), rtol=1e-12, atol=1e-12)
    assert ReluParams.from_vector(params.vector()).vector().tolist() == params.vector().tolist()


def test_start_has_least_squares_output_weights():
    data = relu_target()
    start = initial_relu_params(data, 6)
    hidden = np.maximum(0.0, np.outer(data.x, start.m) + start.b)
    design = np.column_stack([hidden, np.ones_like(data.x)])
    best = np.linalg.lstsq(design, data.y, rcond=None)[0]
    np.testing.assert_allclose(np.append(start.w, start.c), best, atol=1e-10)
    knots = np.sort(-start.b / start.m)
    np.testing.assert_allclose(knots, np.linspace(-3, 3, 8)[1:-1])


def test_fit_never_ends_worse_than_it_starts():
    data = relu_target()
    start = initial_relu_params(data, 4)
    fit = fit_relus(data, start, steps=100, lr=0.01)
    assert fit.initial_loss == pytest.approx(np.mean((_model(start, data.x) - data.y) ** 2))
    assert fit.final_loss < fit.initial_loss
    assert fit.final_loss == pytest.approx(np.mean((_model(fit.params, data.x) - data.y) ** 2))


def test_fit_error_decreases_as_units_grow():
    data = relu_target()
    fits = grow_relu_fits(data, [1, 2, 4, 8], steps=300, lr=0.01)
    errors = [np.mean((_model(fit.params, data.x) - data.y) ** 2) for fit in fits]
    assert [fit.params.units for fit in fits] == [1, 2, 4, 8]
    assert all(later < earlier for earlier, later in pairwise(errors))
    # A straight line already has MSE ~0.49 on sin(2x); eight kinks follow it closely.
    assert errors[-1] < 0.02


@pytest.mark.parametrize(
    "units, counts",
    [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]), (8, [1, 2, 4, 8]), (12, [1, 2, 4, 8, 12])],
    ids=["1", "2", "3", "8", "12"],
)
def test_unit_schedule(units, counts):
    assert unit_schedule(units) == counts


def test_cli_plots_one_panel_per_model(tmp_path, capsys):
    png = tmp_path / "relu.png"
    assert main(["relu", "--units", "4", "--steps", "50", "--plot", str(png)]) == 0
    assert capsys.readouterr().out.count("MSE") == 3  # 1, 2 and 4 units
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (1200, 300)  # three 4 × 3 inch panels in a row, 100 dpi


def test_cli_plot_grid_wraps_after_three_panels(tmp_path):
    png = tmp_path / "relu.png"
    assert main(["relu", "--units", "8", "--steps", "5", "--plot", str(png)]) == 0
    with Image.open(png) as image:
        assert image.size == (1200, 600)  # 1, 2, 4, 8 units: two rows of three


@pytest.mark.parametrize(
    "argv", [["--units", "0"], ["--units", "2", "--lr", "0"]], ids=["no-units", "zero-lr"]
)
def test_cli_rejects_bad_options(argv, capsys):
    assert main(["relu", *argv]) == 2
    assert capsys.readouterr().err.startswith("xl-lesson3: error: --")
