"""Pictures of data and results: image grids (show-batch, top losses) and the confusion matrix.

Plain matplotlib with the Agg backend (no display needed), written as PNG. Titles are kept short
and wrapped at spaces, never inside a file name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot's first import
    import matplotlib.pyplot as plt

    return plt


def plot_image_grid(
    images: Sequence[Any], titles: Sequence[str], out: Path, heading: str, *, cell: float = 2.2
) -> Path:
    """A grid of images (paths, PIL images or HWC float arrays in [0, 1]) with a title each."""
    from xl_lesson3.pets.images import load_rgb

    plt = _pyplot()
    n = max(1, len(images))
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cell * cols, cell * rows + 0.6), squeeze=False)
    try:
        for ax in axes.flat:
            ax.axis("off")
        for ax, image, title in zip(axes.flat, images, titles):
            shown = load_rgb(image) if isinstance(image, (str, Path)) else image
            ax.imshow(shown)
            ax.set_title(title, fontsize=8)
        fig.suptitle(heading, fontsize=10)
        fig.tight_layout()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return Path(out)


def plot_confusion(
    categories: Sequence[str], confusion: Sequence[Sequence[int]], out: Path
) -> Path:
    """The confusion matrix as a heat map with counts (rows actual, columns predicted)."""
    import numpy as np

    plt = _pyplot()
    matrix = np.asarray(confusion)
    n = len(categories)
    side = max(4.0, min(24.0, 0.45 * n + 2))
    fig, ax = plt.subplots(figsize=(side, side), dpi=100)
    try:
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(n), categories, rotation=90, fontsize=8)
        ax.set_yticks(range(n), categories, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title("Confusion matrix")
        if n <= 40:
            threshold = matrix.max() / 2 if matrix.size else 0
            for (a, p), count in np.ndenumerate(matrix):
                colour = "white" if count > threshold else "black"
                ax.text(p, a, str(count), ha="center", va="center", fontsize=7, color=colour)
        fig.tight_layout()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return Path(out)


def denormalise(image: Any, mean: Sequence[float], std: Sequence[float]) -> Any:
    """A normalised (3, H, W) tensor back to an (H, W, 3) array in [0, 1] for display."""
    import torch

    mean_t = torch.tensor(mean).view(3, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1)
    return (image * std_t + mean_t).clamp(0, 1).permute(1, 2, 0).numpy()
