"""PNG plots of the lesson's fits, drawn with matplotlib's Agg backend (no display needed).

Figures have a fixed size in inches and a fixed DPI and are saved without ``bbox_inches="tight"``,
so the pixel size of a file is known in advance: `quadratic_plot_size()` and `relu_plot_size(n)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.lesson.data import QUADRATIC_COEFFS, XYData, quadratic
from xl_lesson3.lesson.relu import ReluFit

DPI = 100
QUADRATIC_INCHES = (7.0, 4.5)
RELU_PANEL_INCHES = (4.0, 3.0)
RELU_COLUMNS = 3


def quadratic_plot_size() -> tuple[int, int]:
    """(width, height) in pixels of `plot_quadratic`'s PNG."""
    return round(QUADRATIC_INCHES[0] * DPI), round(QUADRATIC_INCHES[1] * DPI)


def relu_grid(panels: int) -> tuple[int, int]:
    """(rows, columns) of the panel grid for `panels` fits."""
    columns = min(panels, RELU_COLUMNS)
    return math.ceil(panels / columns), columns


def relu_plot_size(panels: int) -> tuple[int, int]:
    """(width, height) in pixels of `plot_relu_growth`'s PNG with `panels` panels."""
    rows, columns = relu_grid(panels)
    return round(columns * RELU_PANEL_INCHES[0] * DPI), round(rows * RELU_PANEL_INCHES[1] * DPI)


def _pyplot():
    # Agg renders to files only; choosing it here keeps a missing display from mattering.
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, format="png")
    except OSError as exc:
        raise WorkbookIOError(f"{path}: cannot write the plot ({exc.strerror or exc})") from exc
    return path


def plot_quadratic(
    data: XYData, params: tuple[float, float, float], path: Path, *, title: str = ""
) -> Path:
    """Save the data points and the curve ``a x² + b x + c`` for `params` as a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=QUADRATIC_INCHES)
    try:
        fine_x = np.linspace(data.x.min(), data.x.max(), 200)
        a, b, c = params
        ax.scatter(data.x, data.y, label="data", color="tab:blue")
        ax.plot(
            fine_x,
            quadratic(*QUADRATIC_COEFFS, fine_x),
            "--",
            color="tab:gray",
            label="without noise: 3x² + 2x + 1",
        )
        ax.plot(
            fine_x,
            quadratic(a, b, c, fine_x),
            color="tab:red",
            label=f"{a:.3f}x² + {b:.3f}x + {c:.3f}",
        )
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(title or "quadratic fit")
        ax.legend(loc="upper center")
        fig.tight_layout()
        return _save(fig, path)
    finally:
        plt.close(fig)


def plot_relu_growth(data: XYData, fits: Sequence[ReluFit], path: Path) -> Path:
    """Save one panel per fit (target and fitted sum of ReLUs, kinks marked) as a PNG."""
    plt = _pyplot()
    rows, columns = relu_grid(len(fits))
    width, height = RELU_PANEL_INCHES
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(columns * width, rows * height),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    try:
        fine_x = np.linspace(data.x.min(), data.x.max(), 400)
        for ax, fit in zip(axes.flat, fits):
            ax.plot(data.x, data.y, ".", color="tab:blue", label="target")
            ax.plot(fine_x, fit.params.predict(fine_x), color="tab:red", label="sum of ReLUs")
            knots = -fit.params.b / np.where(fit.params.m == 0, np.nan, fit.params.m)
            inside = knots[(knots >= data.x.min()) & (knots <= data.x.max())]
            ax.plot(inside, fit.params.predict(inside), "k|", markersize=12)
            units = fit.params.units
            ax.set_title(f"{units} ReLU{'s' if units > 1 else ''}: MSE {fit.final_loss:.3g}")
        for ax in list(axes.flat)[len(fits) :]:
            ax.set_visible(False)
        axes.flat[0].legend(loc="lower left", fontsize="small")
        fig.tight_layout()
        return _save(fig, path)
    finally:
        plt.close(fig)
