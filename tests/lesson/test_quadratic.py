"""The quadratic exercise: the data, the hand-written gradient-descent loop, and its CLI."""

from __future__ import annotations

import re
from itertools import pairwise

import numpy as np
import pytest
import torch
from PIL import Image

from xl_lesson3.cli import main
from xl_lesson3.lesson.data import quadratic_data
from xl_lesson3.lesson.quadratic import DivergenceWatch, fit_quadratic

START = np.array([1.5, 1.5, 1.5])


def _design(x: np.ndarray) -> np.ndarray:
    return np.column_stack([x**2, x, np.ones_like(x)])


def _mse(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((_design(x) @ params - y) ** 2))


def test_data_matches_the_notebook_recipe():
    # The notebook's own code, on numpy's global generator (state restored afterwards).
    state = np.random.get_state()
    try:
        np.random.seed(42)
        x = np.linspace(-2, 2, 20)

        def noise(x, scale):
            return np.random.normal(scale=scale, size=x.shape)

        def add_noise(x, mult, add):
            return x * (1 + noise(x, mult)) + noise(x, add)

        y = add_noise(3 * x**2 + 2 * x + 1, 0.15, 1.5)
    finally:
        np.random.set_state(state)
    data = quadratic_data(42)
    np.testing.assert_array_equal(data.x, x)
    np.testing.assert_array_equal(data.y, y)
    assert not np.array_equal(quadratic_data(7).y, y)


def test_one_step_is_the_analytic_gradient_step():
    data = quadratic_data()
    lr = 0.01
    design = _design(data.x)
    gradient = 2 / len(data) * design.T @ (design @ START - data.y)  # d MSE / d (a, b, c)
    fit = fit_quadratic(data, steps=1, lr=lr)
    np.testing.assert_allclose(fit.params, START - lr * gradient, rtol=1e-12)
    assert fit.losses[0] == pytest.approx(_mse(START, data.x, data.y), rel=1e-12)


def test_loss_falls_every_step_at_lr_001():
    fit = fit_quadratic(quadratic_data(), steps=50, lr=0.01)
    assert fit.divergence is None
    assert len(fit.losses) == 51
    assert all(after < before for before, after in pairwise(fit.losses))


def test_enough_steps_reach_polyfit():
    data = quadratic_data()
    best = np.polyfit(data.x, data.y, 2)
    fit = fit_quadratic(data, steps=500, lr=0.1)
    np.testing.assert_allclose(fit.params, best, atol=1e-7)
    assert fit.final_loss == pytest.approx(_mse(best, data.x, data.y), abs=1e-12)


def test_mae_loss_falls():
    data = quadratic_data()
    fit = fit_quadratic(data, steps=200, lr=0.01, loss="mae")
    start_mae = np.mean(np.abs(_design(data.x) @ START - data.y))
    assert fit.losses[0] == pytest.approx(start_mae, rel=1e-12)
    assert fit.final_loss < 0.8 * start_mae
    assert fit.divergence is None


@pytest.mark.parametrize("lr", [0.3, 1.0, 10.0], ids=["lr0.3", "lr1", "lr10"])
def test_large_learning_rate_diverges(lr):
    fit = fit_quadratic(quadratic_data(), steps=100, lr=lr)
    assert fit.divergence is not None
    assert fit.divergence.final > fit.divergence.initial
    assert len(fit.losses) < 101  # stopped early


@pytest.mark.parametrize(
    "losses, diverges",
    [
        ([4, 3, 2, 1], False),
        ([4, 5, 6, 7], True),  # three rises in a row, above the start
        ([4, 3, 3.5, 3.6, 3.7], False),  # rising, but still below the start (MAE bouncing)
        ([4, 5, 4.5, 6, 4.8], False),  # up and down
        ([4, float("nan")], True),
        ([4, float("inf")], True),
    ],
    ids=["falling", "growing", "below-start", "bouncing", "nan", "inf"],
)
def test_divergence_watch(losses, diverges):
    watch = DivergenceWatch(losses[0])
    verdicts = [watch.update(step, loss) for step, loss in enumerate(losses[1:], start=1)]
    assert (verdicts[-1] is not None) == diverges
    assert all(v is None for v in verdicts[:-1])


def test_cli_reports_a_too_large_learning_rate(capsys):
    assert main(["quadratic", "--lr", "0.5", "--steps", "20"]) == 1
    err = capsys.readouterr().err
    assert "the learning rate is too large" in err and "try a smaller --lr" in err
    grew = re.search(r"the loss grew from (\S+) to (\S+) ", err)
    start_mse = _mse(START, quadratic_data().x, quadratic_data().y)
    assert float(grew.group(1)) == pytest.approx(start_mse, rel=1e-5)
    assert float(grew.group(2)) > 10 * start_mse


def test_cli_fits_and_plots(tmp_path, capsys):
    png = tmp_path / "fit" / "quadratic.png"
    assert main(["quadratic", "--steps", "300", "--lr", "0.1", "--plot", str(png)]) == 0
    data = quadratic_data()
    a, b, c = np.polyfit(data.x, data.y, 2)
    out = capsys.readouterr().out
    assert f"a = {a:.6f}, b = {b:.6f}, c = {c:.6f}" in out
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (700, 450)  # 7 × 4.5 inches at 100 dpi


@pytest.mark.parametrize(
    "argv",
    [["--lr", "-1"], ["--lr", "nan"], ["--steps", "-3"]],
    ids=["negative-lr", "nan-lr", "negative-steps"],
)
def test_cli_rejects_bad_options(argv, capsys):
    assert main(["quadratic", *argv]) == 2
    assert f"{argv[0]} " in capsys.readouterr().err


def test_cli_rejects_an_unknown_loss(capsys):
    assert main(["quadratic", "--loss", "huber"]) == 2
    err = capsys.readouterr().err
    assert "--loss" in err and "huber" in err and len(err.strip().splitlines()) == 1


def test_interactive_without_a_display_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["quadratic", "--interactive"]) == 2
    assert "--interactive: no display" in capsys.readouterr().err


def test_sliders_show_the_loss_of_the_chosen_parameters():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from xl_lesson3.lesson.interactive import slider_figure

    data = quadratic_data()
    figure = slider_figure(data, "mse", plt)
    try:
        assert figure.title() == f"MSE: {_mse(START, data.x, data.y):.4f}"
        figure.sliders["a"].set_val(3.0)
        figure.sliders["c"].set_val(-1.0)
        expected = _mse(np.array([3.0, 1.5, -1.0]), data.x, data.y)
        assert figure.title() == f"MSE: {expected:.4f}"
    finally:
        plt.close(figure.figure)


def test_torch_autograd_agrees_with_finite_differences():
    # The loop trusts autograd for d loss / d params; check the MAE's too (not smooth at 0).
    data = quadratic_data()
    x, y = torch.tensor(data.x), torch.tensor(data.y)

    def mae(params):
        return (params[0] * x**2 + params[1] * x + params[2] - y).abs().mean()

    params = torch.tensor([1.5, 1.5, 1.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(mae, (params,))
