"""Sliders for a, b and c with the loss in the title: the notebook's ``@interact`` in matplotlib.

The notebook lets a student drag a, b, c and watch the curve and the loss move, to feel what
"finding better parameters" means before gradient descent does it for them. `slider_figure` builds
that figure (testable with any backend); `show_sliders` checks for a display and shows it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from xl_lesson3.errors import BadInputError
from xl_lesson3.lesson.data import START_PARAMS, XYData, quadratic
from xl_lesson3.lesson.quadratic import loss_of

SLIDER_RANGE = (-5.0, 5.0)  # each of a, b, c


@dataclass
class SliderFigure:
    """The figure, its three sliders (a, b, c) and the axes the curve is drawn on."""

    figure: object
    axes: object
    sliders: dict[str, object]

    def title(self) -> str:
        return self.axes.get_title()


def _title(loss: str, value: float) -> str:
    return f"{loss.upper()}: {value:.4f}"


def slider_figure(data: XYData, loss: str = "mse", plt=None) -> SliderFigure:
    """Build the slider figure on `plt` (matplotlib.pyplot; imported when not given)."""
    if plt is None:
        import matplotlib.pyplot as plt
    from matplotlib.widgets import Slider

    figure, axes = plt.subplots(figsize=(7, 6))
    figure.subplots_adjust(bottom=0.3)
    fine_x = np.linspace(data.x.min(), data.x.max(), 200)
    axes.scatter(data.x, data.y, color="tab:blue")
    (curve,) = axes.plot(fine_x, quadratic(*START_PARAMS, fine_x), color="tab:red")
    axes.set_ylim(min(data.y.min(), 0) - 1, data.y.max() + 2)
    axes.set_title(_title(loss, loss_of(data, START_PARAMS, loss)))
    sliders = {}
    for row, (name, start) in enumerate(zip("abc", START_PARAMS)):
        slot = figure.add_axes([0.15, 0.17 - 0.06 * row, 0.7, 0.04])
        sliders[name] = Slider(slot, name, *SLIDER_RANGE, valinit=start)

    def redraw(_value: float) -> None:
        params = tuple(sliders[name].val for name in "abc")
        curve.set_ydata(quadratic(*params, fine_x))
        axes.set_title(_title(loss, loss_of(data, params, loss)))
        figure.canvas.draw_idle()

    for slider in sliders.values():
        slider.on_changed(redraw)
    return SliderFigure(figure, axes, sliders)


def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True  # Windows and macOS always have a window system


def _interactive_backend(plt) -> bool:
    from matplotlib.backends import BackendFilter, backend_registry

    non_interactive = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    return plt.get_backend().lower() not in {name.lower() for name in non_interactive}


def show_sliders(data: XYData, loss: str = "mse") -> None:
    """Open the slider window and block until it is closed.

    Raises BadInputError (exit 2) when there is no display or no interactive backend.
    """
    if not _has_display():
        raise BadInputError(
            "--interactive: no display (DISPLAY/WAYLAND_DISPLAY is not set); sliders need a "
            "window — use --plot PATH to save a PNG instead"
        )
    import matplotlib.pyplot as plt

    if not _interactive_backend(plt):
        raise BadInputError(
            f"--interactive: matplotlib's backend {plt.get_backend()!r} cannot open windows; "
            "install a GUI toolkit (e.g. tkinter) or use --plot PATH"
        )
    slider_figure(data, loss, plt)
    plt.show()
