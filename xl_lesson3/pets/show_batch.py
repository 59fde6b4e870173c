"""`pets show-batch`: what the model will see, as fast.ai's ``dls.show_batch`` shows it.

The layout found, the images per category, the files skipped (by name), and a grid of augmented
training images with their labels, drawn from the same seeded split and transforms `pets train`
uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xl_lesson3.pets.data import ImageConfig, dataset_split
from xl_lesson3.pets.layouts import ImageSet, scan_images


@dataclass(frozen=True)
class BatchView:
    """What show-batch found: the images, the split sizes and the grid written."""

    images: ImageSet
    n_train: int
    n_valid: int
    shown: tuple[tuple[Path, str], ...]  # (image, label) in the grid
    out: Path | None


def show_batch(
    data: Path,
    *,
    arch: str,
    size: int | None,
    label: str = "breed",
    valid_pct: float = 0.2,
    seed: int = 42,
    n: int = 16,
    out: Path | None = None,
) -> BatchView:
    """Find and split the images; draw `n` augmented training images into `out` (PNG)."""
    from xl_lesson3.pets.images import load_rgb
    from xl_lesson3.pets.learner import seed_everything
    from xl_lesson3.pets.model import WeightsSource, build_for_size
    from xl_lesson3.pets.views import denormalise, plot_image_grid

    model, _, size, _ = build_for_size(arch, size, WeightsSource("none"))
    image_config = ImageConfig.for_model(model, size)
    images = scan_images(Path(data), label=label)
    train_idx, valid_idx = dataset_split(images, valid_pct, seed)
    seed_everything(seed)  # the augmentation below is timm's, driven by the global RNGs
    chosen = random.Random(seed).sample(train_idx, min(n, len(train_idx)))
    shown = tuple((images.paths[i], images.categories[images.labels[i]]) for i in chosen)
    if out is not None:
        transform = image_config.train_transform()
        pictures: list[Any] = [
            denormalise(transform(load_rgb(path)), image_config.mean, image_config.std)
            for path, _ in shown
        ]
        plot_image_grid(
            pictures,
            [name for _, name in shown],
            Path(out),
            f"{arch} at {size} px: augmented training images",
        )
    return BatchView(images, len(train_idx), len(valid_idx), shown, out)
